"""TorchServe's own inference APIs: REST ``/predictions/<m>`` and gRPC ``InferenceAPIsService``.

TorchServe publishes no tensor metadata. A generated payload takes each row's sizes from
``payload.dims`` (one input, FP32), e.g. ``{input-0: [64]}``; or give ``payload.source: file``
with a .json request body. Every request carries one JSON body ``{"instances": [[...], ...]}``
(KServe v1's shape, so payload files are portable): as the REST body, or as the gRPC input
``data``. A valid answer is ``{"predictions": rows}`` (or a bare list of rows): one row of
numbers per instance, all rows the same width.

Readiness: ``/ping`` (or gRPC ``Ping``) says Healthy before any worker is up, so the model's
workers are checked on the management API (``management_url``) too, when it is given.
The gRPC messages are built at import by ``targets/proto_builder.py`` (package, names and
field numbers as TorchServe's ``inference.proto``, which ships only inside its frontend jar;
no package on PyPI carries Python stubs for it).
"""

from __future__ import annotations

import json
from typing import Any

from google.protobuf import empty_pb2

from benchctl.config import TargetSpec
from benchctl.errors import InputError
from benchctl.targets import wire
from benchctl.targets.adapter import Adapter, Payload
from benchctl.targets.proto_builder import ProtoFile, build
from benchctl.targets.remote import body_snippet, grpc_call, http_get
from benchctl.targets.v1 import values
from benchctl.targets.v2 import require_tensors
from benchctl.targets.wire import BAD_RESPONSE, WireRequest, payload_rows, url_segment

PACKAGE = "org.pytorch.serve.grpc.inference"
SERVICE = f"{PACKAGE}.InferenceAPIsService"
GRPC_INPUT_KEY = "data"  # the key TorchServe's default handlers read
# TorchServe's inference.proto (in its frontend jar): the fields benchctl uses.
MESSAGES = build(
    ProtoFile(
        PACKAGE,
        {
            "PredictionsRequest": [
                ("model_name", 1, "string"),
                ("model_version", 2, "string"),
                ("input", 3, "map<string, bytes>"),
            ],
            "PredictionResponse": [("prediction", 1, "bytes")],
            "TorchServeHealthResponse": [("health", 1, "string")],
        },
    )
)
PredictionsRequest = MESSAGES["PredictionsRequest"]
PredictionResponse = MESSAGES["PredictionResponse"]
TorchServeHealthResponse = MESSAGES["TorchServeHealthResponse"]


def method(name: str) -> str:
    """Full gRPC method path of an ``InferenceAPIsService`` method, e.g. ``Predictions``."""
    return f"/{SERVICE}/{name}"


# --------------------------------------------------------------------------- shared helpers


def check_workers(target: TargetSpec, name: str) -> None:
    """InputError unless the management API lists the model with a READY worker."""
    if not target.management_url:
        return
    version = f"/{url_segment(target.model_version)}" if target.model_version else ""
    path = f"/models/{url_segment(target.model)}{version}"
    status, body = http_get(target.model_copy(update={"url": target.management_url}), path, name)
    where = f"{target.management_url.rstrip('/')}{path}"
    if status == 404:
        raise InputError(
            f"{name}: model {target.model!r} not found at {where} (HTTP 404): "
            "check `model:` in the target profile"
        )
    if status != 200:
        raise InputError(
            f"{name}: cannot describe model at {where} (HTTP {status}: {body_snippet(body)})"
        )
    states = _worker_states(body)
    if "READY" not in states:
        raise InputError(
            f"{name}: model {target.model!r} has no READY worker at {where} "
            f"(workers: {', '.join(states) or 'none'})"
        )


def _worker_states(body: bytes) -> list[str]:
    try:
        models = json.loads(body)
        return [str(w.get("status")) for m in models for w in m.get("workers") or []]
    except (ValueError, TypeError, AttributeError):
        return []


def generated_inputs(target: TargetSpec, name: str) -> list[dict[str, Any]]:
    """v2-style input metadata from ``payload.dims`` (TorchServe has none of its own)."""
    dims = target.payload.dims
    if not dims:
        raise InputError(
            f"{name}: TorchServe publishes no input metadata: give payload.dims: "
            "{input-0: [64]} (one row's sizes, FP32) or payload.source: file with a .json body"
        )
    return [{"name": n, "datatype": "FP32", "shape": [-1] * (len(s) + 1)} for n, s in dims.items()]


def request_body(payload: Payload, protocol: str) -> bytes:
    """The JSON request body: a payload file's body as is, or one tensor as ``instances``."""
    if not isinstance(payload, dict):
        tensors = require_tensors(payload, protocol)
        if len(tensors) != 1:
            raise InputError(
                f"{protocol} sends one input per request, got {len(tensors)}: "
                "name one input in payload.dims or give a .json payload file"
            )
        payload = {"instances": values(tensors[0])}  # BYTES as {"b64": ...}, as KServe v1
    return json.dumps(payload, separators=(",", ":")).encode()


def check_rows(body: bytes, expect_rows: int) -> str:
    """Empty when ``body`` holds ``expect_rows`` equal-width rows of numbers, else bad_response."""
    try:
        data = json.loads(body)
    except ValueError:
        return BAD_RESPONSE
    rows = data.get("predictions") if isinstance(data, dict) else data
    if not isinstance(rows, list) or len(rows) != expect_rows:
        return BAD_RESPONSE
    width = len(rows[0]) if rows and isinstance(rows[0], list) else 0
    for row in rows:
        if not isinstance(row, list) or len(row) != width or width == 0:
            return BAD_RESPONSE
        if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in row):
            return BAD_RESPONSE
    return ""


# --------------------------------------------------------------------------- adapters


class _TorchServe:
    """What both TorchServe adapters share: ready when the ping answer says Healthy and the
    management API (``management_url``, when given) lists a READY worker; inputs from
    ``payload.dims``."""

    def check_ready(self, target: TargetSpec, name: str) -> None:
        """Adapter.check_ready for TorchServe: None when the ping answers Healthy and (with
        ``management_url``) the management API lists a READY worker; InputError (one line naming the
        address and the answer) otherwise.
        """
        healthy, where, detail = self._ping(target, name)
        if not healthy:
            raise InputError(f"{name}: TorchServe at {where} is not healthy ({detail})")
        check_workers(target, name)

    def model_inputs(self, target: TargetSpec, name: str) -> list[dict[str, Any]]:
        """Adapter.model_inputs for TorchServe, which publishes no metadata: the inputs given in
        ``payload.dims`` (FP32, -1 for each dimension). InputError (one line) without them.
        """
        return generated_inputs(target, name)

    def _ping(self, target: TargetSpec, name: str) -> tuple[bool, str, str]:
        """(healthy, where it was asked, what it answered); InputError when unreachable."""
        raise NotImplementedError


class TorchServeRest(_TorchServe, Adapter):
    """``torchserve-rest``: ``POST /predictions/<m>[/<version>]`` with the JSON body."""

    protocol = "torchserve-rest"
    transport = "http"

    def _ping(self, target: TargetSpec, name: str) -> tuple[bool, str, str]:
        status, body = http_get(target, "/ping", name)
        healthy = status == 200 and _health(body) == "Healthy"
        return healthy, f"{target.url}/ping", f"HTTP {status}: {body_snippet(body)}"

    def build_request(self, target: TargetSpec, payload: Payload) -> WireRequest:
        version = f"/{url_segment(target.model_version)}" if target.model_version else ""
        return WireRequest(
            self.protocol,
            target.url.rstrip("/"),
            f"/predictions/{url_segment(target.model)}{version}",
            request_body(payload, self.protocol),
            {"Content-Type": "application/json", **target.headers},
            payload_rows(payload),
        )

    def check_response(self, body: bytes, expect_rows: int) -> str:
        return check_rows(body, expect_rows)


class TorchServeGrpc(_TorchServe, Adapter):
    """``torchserve-grpc``: ``InferenceAPIsService/Predictions`` with the JSON body as the
    input ``data``; readiness from ``Ping``."""

    protocol = "torchserve-grpc"
    transport = "grpc"

    def _ping(self, target: TargetSpec, name: str) -> tuple[bool, str, str]:
        ping = grpc_call(target, method("Ping"), empty_pb2.Empty(), TorchServeHealthResponse, name)
        healthy = _health(ping.health.encode()) == "Healthy"
        return healthy, f"gRPC {target.grpc_address}", repr(ping.health[:120])

    def build_request(self, target: TargetSpec, payload: Payload) -> WireRequest:
        message = PredictionsRequest(
            model_name=target.model,
            model_version=target.model_version,
            input={GRPC_INPUT_KEY: request_body(payload, self.protocol)},
        )
        return wire.grpc_request(self.protocol, target, method("Predictions"), message, payload)

    def check_response(self, body: bytes, expect_rows: int) -> str:
        response = wire.parse_message(PredictionResponse, body)
        return BAD_RESPONSE if response is None else check_rows(response.prediction, expect_rows)


def _health(body: bytes) -> str:
    """The ``status`` of a TorchServe ping answer (``{"status": "Healthy"}``), or ""."""
    try:
        data = json.loads(body)
    except ValueError:
        return ""
    return str(data.get("status", "")) if isinstance(data, dict) else ""
