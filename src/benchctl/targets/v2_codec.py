"""How each Open Inference Protocol (v2) datatype travels on each wire.

Inputs: a ``Tensor`` (numpy data; BF16 held as float32, BYTES as an object array of
``bytes``). Outputs: the JSON ``data`` list (REST JSON), raw little-endian bytes (REST binary
tensor data extension, gRPC ``raw_input_contents``), or a typed ``InferTensorContents`` field
(gRPC). Sources: the v2 protocol (kserve/open-inference-protocol, "Tensor Data" and
"Binary Tensor Data Extension"): raw BOOL is one byte per element, raw BYTES is each
element's 4-byte little-endian length then its bytes; FP16/BF16 have no typed gRPC field
and no JSON form that KServe or Triton accept ("Sending FP16 data via JSON is not
supported"; triton-inference-server/server#5960).
"""

from __future__ import annotations

import struct
from typing import Any

import numpy as np

from benchctl.errors import InputError
from benchctl.targets.payload import DATATYPES, Tensor
from benchctl.targets.registry import SERVERS

RAW_ONLY = frozenset(name for name, (_, field) in DATATYPES.items() if not field)  # FP16, BF16


def raw_bytes(tensor: Tensor) -> bytes:
    """The tensor as the v2 raw (binary) form: row-major, little-endian."""
    data = tensor.data
    if tensor.datatype == "BYTES":
        return b"".join(
            struct.pack("<I", len(v)) + v for v in (_item_bytes(x) for x in data.ravel())
        )
    if tensor.datatype == "BF16":  # upper 16 bits of each float32 (round toward zero)
        bits = np.ascontiguousarray(data, dtype="<f4").view("<u4") >> 16
        return bits.astype("<u2").tobytes()
    if tensor.datatype == "BOOL":
        return np.ascontiguousarray(data, dtype=bool).astype(np.uint8).tobytes()
    dtype = np.dtype(DATATYPES[tensor.datatype][0]).newbyteorder("<")
    return np.ascontiguousarray(data, dtype=dtype).tobytes()


# Servers that decode FP16 from JSON numbers, and servers whose REST API does not read the
# binary tensor data extension: each entry's ``v2_json_fp16`` / ``v2_binary`` in
# targets/registry.py (MLServer 1.7.1: numpy decodes FP16; it answers 500 to binary data).
FP16_JSON_KINDS = frozenset(kind for kind, s in SERVERS.items() if s.v2_json_fp16)
NO_BINARY_KINDS = frozenset(kind for kind, s in SERVERS.items() if not s.v2_binary)


def check_binary_supported(server_kind: str) -> None:
    """InputError (one line) when ``payload.binary`` is set for a server that cannot read it."""
    if server_kind in NO_BINARY_KINDS:
        raise InputError(
            f"payload.binary: {server_kind} does not read the binary tensor data extension "
            "(it answers HTTP 500): set payload.binary: false or use protocol grpc-v2"
        )


def json_data(tensor: Tensor, protocol: str, server_kind: str = "") -> list[Any]:
    """The flat ``data`` list for v2 REST JSON; InputError for a type JSON cannot carry
    (FP16 except on MLServer; BF16 everywhere)."""
    if tensor.datatype == "FP16" and server_kind in FP16_JSON_KINDS:
        return tensor.data.ravel().tolist()
    if tensor.datatype in RAW_ONLY:
        raise InputError(
            f"input {tensor.name!r} is {tensor.datatype}, which {protocol} JSON cannot carry "
            "(KServe and Triton refuse it): set payload.binary: true in the target profile "
            "(--target-set payload.binary=true) or use protocol grpc-v2"
        )
    if tensor.datatype == "BYTES":
        try:
            return [_item_bytes(x).decode("utf-8") for x in tensor.data.ravel()]
        except UnicodeDecodeError:
            raise InputError(
                f"input {tensor.name!r} is BYTES with non-UTF-8 values, which {protocol} JSON "
                "cannot carry: set payload.binary: true in the target profile"
            ) from None
    return tensor.data.ravel().tolist()


def fill_grpc_inputs(message: Any, tensors: list[Tensor]) -> None:
    """Add ``tensors`` to a v2 ``ModelInferRequest``: typed contents fields, or, when any
    tensor is FP16/BF16, ``raw_input_contents`` for all of them (the protocol does not allow
    mixing the two in one request)."""
    raw = any(t.datatype in RAW_ONLY for t in tensors)
    for tensor in tensors:
        item = message.inputs.add(name=tensor.name, datatype=tensor.datatype)
        item.shape.extend(tensor.shape)
        if raw:
            message.raw_input_contents.append(raw_bytes(tensor))
            continue
        field = DATATYPES[tensor.datatype][1]
        values = tensor.data.ravel()
        if tensor.datatype == "BYTES":
            getattr(item.contents, field).extend(_item_bytes(x) for x in values)
        else:
            getattr(item.contents, field).extend(values.tolist())


def _item_bytes(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, np.bytes_):
        return bytes(value)
    return str(value).encode("utf-8")
