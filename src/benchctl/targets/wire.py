"""The encoded request that load processes send: built once, shipped to every worker."""

from __future__ import annotations

import base64
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import quote

from google.protobuf.message import DecodeError

BAD_RESPONSE = "bad_response"


@dataclass(frozen=True)
class WireRequest:
    """One request, encoded once before the run and sent as is by every load process.

    ``expect_rows``: rows (batch size) every valid answer carries. ``headers`` keep their
    ``${VAR}`` templates (secrets are resolved in the load process, never written down).
    """

    protocol: str
    address: str  # http(s)://host:port, or host:port for gRPC
    path: str  # HTTP path, or gRPC method
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)  # ${VAR} templates, unresolved
    expect_rows: int = 1  # rows (batch) every valid response must carry
    tls: dict[str, Any] | None = None  # file paths and flags only (see targets/tls.py)
    # gRPC channel options (grpc.max_*_message_length), from the target's ``grpc:`` section
    grpc_options: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (the body base64-encoded), as engine-spec.json holds it."""
        data = asdict(self)
        data["body"] = base64.b64encode(self.body).decode()
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> WireRequest:
        """The WireRequest `to_json` wrote. Raises TypeError (unknown or missing field) or
        binascii.Error (a body that is not base64) for anything else."""
        return cls(**{**data, "body": base64.b64decode(data["body"])})


def url_segment(value: str) -> str:
    """``value`` percent-encoded as one URL path segment (``/`` included): model names such
    as ``my model`` or ``org/model`` reach servers that %-decode the path, as FastAPI,
    Triton and TorchServe do."""
    return quote(value, safe="")


def grpc_options(target: Any) -> dict[str, int]:
    """A target's gRPC channel options as a dict (JSON-friendly for the engine spec)."""
    return dict(target.grpc.channel_options())


def payload_rows(payload: Any) -> int:
    """Rows (batch size) in a payload: tensors, or a raw v1/v2 JSON request body."""
    if isinstance(payload, dict):
        if isinstance(payload.get("instances"), list):
            return len(payload["instances"])
        inputs = payload.get("inputs") or [{}]
        if isinstance(inputs, dict):  # TF-Serving columnar: {"inputs": {name: [rows...]}}
            first = next(iter(inputs.values()), [])
            return len(first) if isinstance(first, list) else 1
        shape = inputs[0].get("shape") if isinstance(inputs, list) else None
        return int(shape[0]) if shape else 1
    return payload[0].shape[0] if payload and payload[0].shape else 1


def grpc_request(
    protocol: str, target: Any, method: str, message: Any, payload: Any
) -> WireRequest:
    """The WireRequest of a unary gRPC call: ``message`` (a protobuf message) serialized once.

    ``target``: the TargetSpec (gRPC address, headers, channel options); ``method``: the full
    method path (``/package.Service/Method``); ``payload``: what ``message`` was built from,
    for the rows every answer must carry. Raises nothing of its own.
    """
    return WireRequest(
        protocol,
        target.grpc_address,
        method,
        message.SerializeToString(),
        dict(target.headers),
        payload_rows(payload),
        grpc_options=grpc_options(target),
    )


def parse_message(message_class: Any, body: bytes) -> Any | None:
    """``body`` parsed as a ``message_class`` protobuf message, or None when it is not one."""
    try:
        return message_class.FromString(body)
    except DecodeError:
        return None
