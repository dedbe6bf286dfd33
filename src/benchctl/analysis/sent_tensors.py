"""The tensors a run actually sent, read back from its engine-spec.json request body.

Two runs are comparable when they sent the same tensors (shape and element kind), however
each server's protocol or target config spells them: TorchServe's ``{"instances": rows}``
with ``payload.dims {'input-0': [64]}`` and KServe's v2 ``inputs`` from metadata both send
one [1, 64] float tensor. Names are kept when the protocol carries them, but not compared
(TorchServe's JSON has none); element kinds are compared as float/int/bool/bytes because
JSON bodies carry no exact dtype.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import numpy as np

from benchctl.rundir.names import ENGINE_SPEC
from benchctl.rundir.reader import read_document

_BINARY_HEADER = "inference-header-content-length"
_KINDS = {
    "FP": "float",
    "BF": "float",
    "INT": "int",
    "UINT": "int",
    "BOOL": "bool",
    "BYTES": "bytes",
}


def sent_tensors(run_dir: Path) -> list[dict[str, Any]] | None:
    """``[{"name", "shape", "datatype", "kind"}, ...]`` of one request; None when the run has
    no engine-spec.json or its protocol's body is not decoded here (TF-Serving gRPC).

    ``run_dir``: the run directory. ``shape`` is a list of ints (the batch first); ``kind`` one of
    float/int/bool/bytes. Never raises: an unreadable engine-spec.json or body gives None.
    """
    try:
        request = read_document(run_dir / ENGINE_SPEC).get()["request"]
        body = base64.b64decode(request["body"])
        protocol = str(request["protocol"])
        headers = {str(k).lower(): str(v) for k, v in (request.get("headers") or {}).items()}
    except (OSError, ValueError, KeyError, TypeError):
        return None
    try:
        if protocol == "rest-v2":
            length = headers.get(_BINARY_HEADER)
            head = body[: int(length)] if length and length.isdigit() else body
            return _v2_inputs(json.loads(head).get("inputs") or [])
        if protocol in ("rest-v1", "torchserve-rest"):
            return _json_rows(json.loads(body))
        if protocol == "grpc-v2":
            from benchctl.targets import v2_proto

            message = v2_proto.ModelInferRequest.FromString(body)
            return _v2_inputs(
                [{"name": i.name, "shape": list(i.shape), "datatype": i.datatype}
                 for i in message.inputs]
            )  # fmt: skip
        if protocol == "torchserve-grpc":
            from benchctl.targets.torchserve import GRPC_INPUT_KEY, PredictionsRequest

            message = PredictionsRequest.FromString(body)
            return _json_rows(json.loads(message.input[GRPC_INPUT_KEY]))
    except Exception:  # a body this module cannot read: fall back to the config comparison
        return None
    return None


def same_tensors(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> bool:
    """True when ``a`` and ``b`` (lists of ``{"name", "shape", "datatype", "kind"}`` as
    ``sent_tensors`` gives) have the same number of tensors with the same shapes and element kinds,
    in order (names and datatypes may differ). KeyError for an entry without ``shape`` or ``kind``.
    """
    return [(t["shape"], t["kind"]) for t in a] == [(t["shape"], t["kind"]) for t in b]


def describe(tensors: list[dict[str, Any]]) -> str:
    """The tensors sent as ``KIND[shape], ...`` (e.g. ``float[1, 64]``; ``none`` when empty), for
    messages. KeyError for an entry without ``shape`` or ``kind``.
    """
    return ", ".join(f"{t['kind']}{t['shape']}" for t in tensors) or "none"


def _v2_inputs(inputs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found = []
    for item in inputs:
        datatype = str(item.get("datatype") or "")
        prefix = datatype.rstrip("0123456789")
        found.append(
            {
                "name": item.get("name"),
                "shape": [int(d) for d in item.get("shape") or []],
                "datatype": datatype or None,
                "kind": _KINDS.get(prefix, datatype.lower() or "unknown"),
            }
        )
    return found


def _json_rows(body: Any) -> list[dict[str, Any]] | None:
    if isinstance(body, dict) and isinstance(body.get("instances"), list):
        return [_from_values(None, body["instances"])]
    if isinstance(body, dict) and isinstance(body.get("inputs"), dict):
        return [_from_values(str(name), rows) for name, rows in body["inputs"].items()]
    if isinstance(body, dict) and isinstance(body.get("inputs"), list):
        return [_from_values(None, body["inputs"])]
    return None


def _from_values(name: str | None, values: Any) -> dict[str, Any]:
    if _has_b64(values):
        return {"name": name, "shape": [len(values)], "datatype": None, "kind": "bytes"}
    array = np.asarray(values)
    kind = {"f": "float", "i": "int", "u": "int", "b": "bool"}.get(array.dtype.kind, "bytes")
    return {"name": name, "shape": list(array.shape), "datatype": None, "kind": kind}


def _has_b64(values: Any) -> bool:
    while isinstance(values, list) and values:
        values = values[0]
    return isinstance(values, dict) and "b64" in values
