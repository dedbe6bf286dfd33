"""Request tensors: generated from a model's v2 metadata, or read from a user's file."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from benchctl.config import PayloadSpec
from benchctl.errors import InputError
from benchctl.specs.payload_file import npy_problem

# v2 datatype -> numpy dtype the tensor is held in, and the gRPC InferTensorContents field
# that carries it ("" = none: FP16 and BF16 travel only as raw bytes). BF16 has no numpy
# dtype: it is held as float32 and sent as each value's upper 16 bits (targets/v2_codec.py).
# BYTES elements are Python ``bytes`` in an object array.
DATATYPES: dict[str, tuple[str, str]] = {
    "BOOL": ("bool", "bool_contents"),
    "INT8": ("int8", "int_contents"),
    "INT16": ("int16", "int_contents"),
    "INT32": ("int32", "int_contents"),
    "INT64": ("int64", "int64_contents"),
    "UINT8": ("uint8", "uint_contents"),
    "UINT16": ("uint16", "uint_contents"),
    "UINT32": ("uint32", "uint_contents"),
    "UINT64": ("uint64", "uint64_contents"),
    "FP16": ("float16", ""),
    "BF16": ("float32", ""),
    "FP32": ("float32", "fp32_contents"),
    "FP64": ("float64", "fp64_contents"),
    "BYTES": ("object", "bytes_contents"),
}
_DTYPE_TO_V2 = {
    np.dtype(dtype): name
    for name, (dtype, _) in DATATYPES.items()
    if name not in ("BF16", "BYTES")  # float32 arrays are FP32; object arrays are refused
}


@dataclass(frozen=True)
class Tensor:
    """One named input tensor: a v2 ``datatype`` and its values (rows along axis 0; BF16
    held as float32, BYTES as an object array of bytes)."""

    name: str
    datatype: str
    data: np.ndarray

    @property
    def shape(self) -> list[int]:
        """The tensor's dimensions, the batch (rows) first."""
        return list(self.data.shape)


def tensors_from_metadata(inputs: list[dict[str, Any]], spec: PayloadSpec) -> list[Tensor]:
    """One tensor per metadata input; the batch dim and other -1 dims filled from ``spec``."""
    rng = np.random.default_rng(spec.seed)
    tensors = []
    for meta in inputs:
        name, datatype = meta["name"], meta["datatype"]
        if datatype not in DATATYPES:
            raise InputError(
                f"input {name!r} has datatype {datatype}, which generated payloads do not "
                f"support ({', '.join(DATATYPES)}): give payload.source: file"
            )
        shape = [int(d) for d in meta["shape"]]
        fill = list(spec.dims.get(name, []))
        if shape and shape[0] == -1:
            shape[0] = spec.batch_size
        for i, dim in enumerate(shape):
            if dim == -1:
                if not fill:
                    raise InputError(
                        f"input {name!r} has shape {meta['shape']} with dynamic dims: give "
                        f"payload.dims: {{{name}: [sizes]}} in the target profile"
                    )
                shape[i] = fill.pop(0)
        tensors.append(Tensor(name, datatype, _fill(shape, DATATYPES[datatype][0], spec, rng)))
    return tensors


def tensors_from_file(spec: PayloadSpec, input_name: str = "input-0") -> list[Tensor] | dict:
    """A .npy file gives one tensor (batch repeated to batch_size); .json a raw request body."""
    path = spec.file
    assert path is not None
    try:
        if path.suffix == ".npy":
            if problem := npy_problem(path):  # numpy's own words advise allow_pickle
                raise InputError(f"{path}: {problem}")
            array = np.load(path, allow_pickle=False)
        elif path.suffix == ".json":
            return _json_body(path)
        else:
            raise InputError(f"{path}: payload files must be .json (a request body) or .npy")
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: cannot read payload: {exc}") from None
    if array.ndim == 0:
        raise InputError(
            f"{path}: holds a single value (shape ()); save an array with a batch dimension, "
            "e.g. np.save(path, x.reshape(1, -1))"
        )
    if array.dtype.kind in "SU":  # fixed-width strings: BYTES
        array = np.array([_as_bytes(v) for v in array.ravel()], dtype=object).reshape(array.shape)
        datatype = "BYTES"
    elif array.dtype in _DTYPE_TO_V2:
        datatype = _DTYPE_TO_V2[array.dtype]
    else:
        raise InputError(f"{path}: dtype {array.dtype} is not a v2 datatype")
    if spec.batch_size > 1 and array.shape[0] == 1:
        array = np.repeat(array, spec.batch_size, axis=0)
    return [Tensor(input_name, datatype, array)]


def _json_body(path: Path) -> dict:
    """A .json payload is one request body: a JSON object; InputError otherwise."""
    body = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(body, dict):
        raise InputError(
            f"{path}: a .json payload must be a JSON object (the whole request body, e.g. "
            f'{{"inputs": [...]}}), got a {type(body).__name__}'
        )
    return body


def _as_bytes(value: Any) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode("utf-8")


def _fill(shape: list[int], dtype: str, spec: PayloadSpec, rng: np.random.Generator) -> np.ndarray:
    if dtype == "object":  # BYTES: decimal digits, e.g. b"42" (zeros/ones: b"0"/b"1")
        numbers = _fill(shape, "int64", spec, rng)
        return np.array([str(n).encode() for n in numbers.ravel()], dtype=object).reshape(shape)
    if spec.fill == "zeros":
        return np.zeros(shape, dtype=dtype)
    if spec.fill == "ones":
        return np.ones(shape, dtype=dtype)
    if dtype == "bool":
        return rng.random(shape) < 0.5
    if np.issubdtype(np.dtype(dtype), np.integer):
        return rng.integers(0, 100, size=shape).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)
