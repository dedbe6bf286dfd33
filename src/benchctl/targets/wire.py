"""What goes on the wire for each protocol, and whether a response is a valid answer.

A ``WireRequest`` is built once before the run (body pre-encoded) and shipped to every
load process; ``check_response`` runs per request and returns an error kind or "".
Protocols: ``rest-v2`` and ``grpc-v2`` (Open Inference Protocol: KServe, Triton, MLServer)
and ``rest-v1`` (KServe v1 = TF-Serving's REST ``:predict`` with ``instances``).
"""

from __future__ import annotations

import base64
import json
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from google.protobuf.message import DecodeError

from benchctl.config import TargetSpec
from benchctl.targets import v2_proto
from benchctl.targets.payload import DATATYPES, Tensor

BAD_RESPONSE = "bad_response"


@dataclass(frozen=True)
class WireRequest:
    protocol: str
    address: str  # http(s)://host:port, or host:port for gRPC
    path: str  # HTTP path, or gRPC method
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)  # ${VAR} templates, unresolved
    expect_rows: int = 1  # rows (batch) every valid response must carry

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["body"] = base64.b64encode(self.body).decode()
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> WireRequest:
        return cls(**{**data, "body": base64.b64decode(data["body"])})


def model_path(target: TargetSpec, api: int) -> str:
    """``/v1/models/<m>[/versions/<v>]`` or the v2 equivalent."""
    version = f"/versions/{target.model_version}" if target.model_version else ""
    return f"/v{api}/models/{target.model}{version}"


def build_request(target: TargetSpec, payload: list[Tensor] | dict) -> WireRequest:
    """Encode the payload once for the target's protocol."""
    rows = _rows(payload)
    headers = dict(target.headers)
    if target.protocol == "grpc-v2":
        message = v2_proto.ModelInferRequest(
            model_name=target.model, model_version=target.model_version
        )
        for tensor in _as_tensors(payload):
            item = message.inputs.add(name=tensor.name, datatype=tensor.datatype)
            item.shape.extend(tensor.shape)
            contents = getattr(item.contents, DATATYPES[tensor.datatype][1])
            contents.extend(tensor.data.ravel().tolist())
        body = message.SerializeToString()
        return WireRequest(
            "grpc-v2", target.grpc_address, v2_proto.method("ModelInfer"), body, headers, rows
        )
    headers.setdefault("Content-Type", "application/json")
    if target.protocol == "rest-v1":
        path = model_path(target, 1) + ":predict"
        body_obj = (
            payload
            if isinstance(payload, dict)
            else {"instances": _as_tensors(payload)[0].data.tolist()}
        )
    else:
        path = model_path(target, 2) + "/infer"
        body_obj = (
            payload
            if isinstance(payload, dict)
            else {
                "inputs": [
                    {
                        "name": t.name,
                        "shape": t.shape,
                        "datatype": t.datatype,
                        "data": t.data.ravel().tolist(),
                    }
                    for t in payload
                ]
            }
        )
    body = json.dumps(body_obj, separators=(",", ":")).encode()
    return WireRequest(target.protocol, target.url.rstrip("/"), path, body, headers, rows)


def check_response(protocol: str, body: bytes, expect_rows: int) -> str:
    """ "" for a valid inference answer, else ``bad_response`` (200 with a wrong body)."""
    try:
        if protocol == "grpc-v2":
            response = v2_proto.ModelInferResponse.FromString(body)
            outputs = response.outputs
            if not outputs:
                return BAD_RESPONSE
            first = outputs[0]
            return "" if first.shape and first.shape[0] == expect_rows else BAD_RESPONSE
        data = json.loads(body)
        if protocol == "rest-v1":
            rows = data.get("predictions", data.get("outputs"))
            return "" if isinstance(rows, list) and len(rows) == expect_rows else BAD_RESPONSE
        outputs = data.get("outputs")
        if not isinstance(outputs, list) or not outputs:
            return BAD_RESPONSE
        first = outputs[0]
        shape, values = first.get("shape") or [], first.get("data")
        if not shape or shape[0] != expect_rows or not isinstance(values, list):
            return BAD_RESPONSE
        return "" if len(values) == int(np.prod(shape)) else BAD_RESPONSE
    except (ValueError, AttributeError, TypeError, KeyError, DecodeError):
        return BAD_RESPONSE


def _as_tensors(payload: list[Tensor] | dict) -> list[Tensor]:
    if isinstance(payload, dict):
        raise TypeError("a raw JSON body cannot be re-encoded for another protocol")
    return payload


def _rows(payload: list[Tensor] | dict) -> int:
    if isinstance(payload, dict):
        if isinstance(payload.get("instances"), list):
            return len(payload["instances"])
        inputs = payload.get("inputs") or [{}]
        shape = inputs[0].get("shape") if isinstance(inputs, list) else None
        return int(shape[0]) if shape else 1
    return payload[0].shape[0] if payload and payload[0].shape else 1
