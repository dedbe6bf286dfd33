"""TensorFlow Serving: gRPC ``PredictionService/Predict`` and the pieces REST shares with it.

Tensors travel as ``tensor_content`` (raw little-endian bytes) with dtype and shape, as
``tf.make_tensor_proto`` sends them; answers may use ``tensor_content`` or the typed
``*_val`` fields. Readiness comes from ``ModelService/GetModelStatus`` (a version AVAILABLE),
inputs from the ``signature_def`` metadata. TF-Serving cannot be launched here.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from google.protobuf import json_format

from benchctl.config import TargetSpec
from benchctl.errors import InputError
from benchctl.targets import tfserving_proto as pb
from benchctl.targets.adapter import Adapter, Payload
from benchctl.targets.payload import DATATYPES, Tensor
from benchctl.targets.remote import grpc_call
from benchctl.targets.v2 import require_tensors
from benchctl.targets.wire import BAD_RESPONSE, WireRequest, grpc_request, parse_message

DEFAULT_SIGNATURE = "serving_default"
# TF DataType name -> (v2 datatype, the TensorProto field for values not in tensor_content)
TF_DTYPES: dict[str, tuple[str, str]] = {
    "DT_FLOAT": ("FP32", "float_val"),
    "DT_DOUBLE": ("FP64", "double_val"),
    "DT_HALF": ("FP16", "half_val"),
    "DT_INT8": ("INT8", "int_val"),
    "DT_INT16": ("INT16", "int_val"),
    "DT_INT32": ("INT32", "int_val"),
    "DT_INT64": ("INT64", "int64_val"),
    "DT_UINT8": ("UINT8", "int_val"),
    "DT_UINT16": ("UINT16", "int_val"),
    "DT_UINT32": ("UINT32", "uint32_val"),
    "DT_UINT64": ("UINT64", "uint64_val"),
    "DT_BOOL": ("BOOL", "bool_val"),
}
_V2_TO_TF = {v2: pb.DATA_TYPES[tf] for tf, (v2, _) in TF_DTYPES.items()}
# enum number -> (numpy little-endian dtype, value field)
_BY_NUMBER = {
    pb.DATA_TYPES[tf]: (np.dtype(DATATYPES[v2][0]).newbyteorder("<"), field)
    for tf, (v2, field) in TF_DTYPES.items()
}


# --------------------------------------------------------------------------- tensors


def make_tensor_proto(tensor: Tensor) -> Any:
    """A TensorProto with dtype, shape and raw little-endian ``tensor_content``."""
    dtype = _V2_TO_TF.get(tensor.datatype)
    if dtype is None:
        raise InputError(f"input {tensor.name!r}: datatype {tensor.datatype} has no TF dtype")
    proto = pb.TensorProto(dtype=dtype)
    proto.tensor_shape.dim.extend(pb.TensorShapeProto.Dim(size=d) for d in tensor.shape)
    proto.tensor_content = np.ascontiguousarray(tensor.data, _BY_NUMBER[dtype][0]).tobytes()
    return proto


def to_array(proto: Any) -> np.ndarray:
    """The numpy array a TensorProto holds (``tensor_content`` or the typed ``*_val`` field)."""
    if proto.dtype not in _BY_NUMBER:
        raise ValueError(f"unsupported dtype {proto.dtype}")
    dtype, field = _BY_NUMBER[proto.dtype]
    shape = [d.size for d in proto.tensor_shape.dim]
    if proto.tensor_content:
        return np.frombuffer(proto.tensor_content, dtype).reshape(shape)
    values = np.asarray(getattr(proto, field))
    if proto.dtype == pb.DATA_TYPES["DT_HALF"]:
        values = values.astype(np.uint16).view(np.float16)
    count = math.prod(shape)
    if values.size == 1 and count != 1:  # version 0: one value fills the shape
        values = np.repeat(values, count)
    return values.astype(dtype).reshape(shape)


def consistent(proto: Any) -> bool:
    """True when a TensorProto's content matches its dtype and shape."""
    shape = [d.size for d in proto.tensor_shape.dim]
    if any(size < 0 for size in shape):
        return False
    count = math.prod(shape)
    if proto.dtype not in _BY_NUMBER:
        return proto.dtype != 0
    dtype, field = _BY_NUMBER[proto.dtype]
    if proto.tensor_content:
        return len(proto.tensor_content) == count * dtype.itemsize
    return len(getattr(proto, field)) in ({count, 1} if count else {0})


# --------------------------------------------------------------------------- metadata


def signature_inputs(
    signature_map: dict[str, Any], signature: str, where: str
) -> list[dict[str, Any]]:
    """v2-style inputs from a SignatureDefMap in its JSON form (TF-Serving's REST metadata).

    ``{"signature_def": {name: {"inputs": {alias: {"dtype": "DT_FLOAT", "tensor_shape":
    {"dim": [{"size": "-1"}, ...]}}}}}}`` -> ``[{"name", "datatype", "shape"}]``, sorted by
    name; unknown dtypes keep their TF name so the payload generator can say which.
    """
    signatures = signature_map.get("signature_def") or {}
    if signature not in signatures:
        known = ", ".join(sorted(s for s in signatures if not s.startswith("__"))) or "none"
        raise InputError(
            f"{where}: signature {signature!r} not found (has: {known}): set signature_name"
        )
    inputs = []
    for name, info in sorted((signatures[signature].get("inputs") or {}).items()):
        shape = info.get("tensor_shape") or {}
        if shape.get("unknown_rank"):
            raise InputError(f"{where}: input {name!r} has unknown rank: give payload.source: file")
        dtype = str(info.get("dtype", "DT_INVALID"))
        inputs.append(
            {
                "name": name,
                "datatype": TF_DTYPES.get(dtype, (dtype, ""))[0],
                "shape": [int(d.get("size", 0)) for d in shape.get("dim") or []],
            }
        )
    return inputs


def fill_model_spec(spec: Any, target: TargetSpec) -> None:
    """Name, version (a number) or version_label (anything else), and signature."""
    spec.name = target.model
    if target.model_version.isdigit():
        spec.version.value = int(target.model_version)
    elif target.model_version:
        spec.version_label = target.model_version
    spec.signature_name = target.signature_name


# --------------------------------------------------------------------------- adapter


class TfServingGrpc(Adapter):
    """``tfserving-grpc``: ``PredictionService/Predict`` with ``tensor_content`` tensors;
    readiness from ``ModelService/GetModelStatus``, inputs from the ``signature_def``
    metadata of ``PredictionService/GetModelMetadata``."""

    protocol = "tfserving-grpc"
    transport = "grpc"

    def check_ready(self, target: TargetSpec, name: str) -> None:
        request = pb.GetModelStatusRequest()
        fill_model_spec(request.model_spec, target)
        request.model_spec.ClearField("signature_name")
        method = pb.method(pb.MODEL_SERVICE, "GetModelStatus")
        response = grpc_call(target, method, request, pb.GetModelStatusResponse, name)
        states = {s.version: s.state for s in response.model_version_status}
        if pb.AVAILABLE not in states.values():
            raise InputError(
                f"{name}: model {target.model!r} has no AVAILABLE version at "
                f"{target.grpc_address} (versions: {states or 'none'})"
            )

    def model_inputs(self, target: TargetSpec, name: str) -> list[dict[str, Any]]:
        request = pb.GetModelMetadataRequest(metadata_field=["signature_def"])
        fill_model_spec(request.model_spec, target)
        method = pb.method(pb.PREDICTION_SERVICE, "GetModelMetadata")
        response = grpc_call(target, method, request, pb.GetModelMetadataResponse, name)
        packed = response.metadata.get("signature_def")
        if packed is None or packed.type_url != pb.SIGNATURE_DEF_MAP_URL:
            raise InputError(
                f"{name}: no signature_def metadata at {target.grpc_address}: "
                "give payload.source: file"
            )
        signature_map = json_format.MessageToDict(
            pb.SignatureDefMap.FromString(packed.value), preserving_proto_field_name=True
        )
        return signature_inputs(signature_map, target.signature_name, name)

    def build_request(self, target: TargetSpec, payload: Payload) -> WireRequest:
        message = pb.PredictRequest()
        fill_model_spec(message.model_spec, target)
        for tensor in require_tensors(payload, self.protocol):
            message.inputs[tensor.name].CopyFrom(make_tensor_proto(tensor))
        method = pb.method(pb.PREDICTION_SERVICE, "Predict")
        return grpc_request(self.protocol, target, method, message, payload)

    def check_response(self, body: bytes, expect_rows: int) -> str:
        response = parse_message(pb.PredictResponse, body)
        tensors = list(response.outputs.values()) if response is not None else []
        if not tensors or not all(consistent(t) for t in tensors):
            return BAD_RESPONSE
        batched = any(
            t.tensor_shape.dim and t.tensor_shape.dim[0].size == expect_rows for t in tensors
        )
        return "" if batched else BAD_RESPONSE
