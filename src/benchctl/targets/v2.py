"""Open Inference Protocol (v2) over REST and gRPC: KServe, Triton and MLServer."""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from benchctl.config import TargetSpec
from benchctl.errors import InputError
from benchctl.targets import v2_proto, wire
from benchctl.targets.adapter import Adapter, Payload
from benchctl.targets.payload import Tensor
from benchctl.targets.remote import body_snippet, grpc_call, http_get
from benchctl.targets.v2_codec import (
    check_binary_supported,
    fill_grpc_inputs,
    json_data,
    raw_bytes,
)
from benchctl.targets.wire import BAD_RESPONSE, WireRequest, payload_rows, url_segment

_JSON = json.JSONDecoder()


def model_path(target: TargetSpec, api: int) -> str:
    """``/v1/models/<m>[/versions/<v>]`` or the v2 equivalent."""
    version = f"/versions/{url_segment(target.model_version)}" if target.model_version else ""
    return f"/v{api}/models/{url_segment(target.model)}{version}"


def rest_model_inputs(target: TargetSpec, name: str) -> list[dict[str, Any]]:
    """Inputs from ``GET /v2/models/<m>`` (also used by v1 targets on a v2-capable server)."""
    path = model_path(target, 2)
    status, body = http_get(target, path, name)
    if status != 200:
        raise InputError(
            f"{name}: no v2 metadata at {target.url}{path} (HTTP {status}): "
            "give payload.source: file in the target profile"
        )
    try:
        return [
            {"name": i["name"], "datatype": i["datatype"], "shape": i["shape"]}
            for i in json.loads(body)["inputs"]
        ]
    except (ValueError, KeyError, TypeError):
        raise InputError(
            f"{name}: malformed v2 metadata at {target.url}{path}: {body_snippet(body)}"
        ) from None


def require_tensors(payload: Payload, protocol: str) -> list[Tensor]:
    """``payload`` as tensors; InputError (one line) for a JSON body, which ``protocol`` (a
    protobuf wire) cannot carry."""
    if isinstance(payload, dict):
        raise InputError(f"a JSON payload file cannot be sent over {protocol}: use a .npy file")
    return payload


def binary_body(tensors: list[Tensor], headers: dict[str, str]) -> tuple[bytes, dict[str, str]]:
    """The binary tensor data extension (Triton, KServe): a JSON header naming each input's
    byte size, then the raw little-endian tensors; outputs still come back as JSON."""
    raws = [raw_bytes(t) for t in tensors]
    header = {
        "inputs": [
            {
                "name": t.name,
                "shape": t.shape,
                "datatype": t.datatype,
                "parameters": {"binary_data_size": len(raw)},
            }
            for t, raw in zip(tensors, raws, strict=True)
        ]
    }
    head = json.dumps(header, separators=(",", ":")).encode()
    headers = {
        **headers,
        "Content-Type": "application/octet-stream",
        "Inference-Header-Content-Length": str(len(head)),
    }
    return head + b"".join(raws), headers


class RestV2(Adapter):
    """``rest-v2``: ``POST /v2/models/<m>[/versions/<v>]/infer`` with JSON tensors, or with
    the binary tensor data extension when ``payload.binary`` is set."""

    protocol = "rest-v2"
    transport = "http"

    def check_ready(self, target: TargetSpec, name: str) -> None:
        path = model_path(target, 2) + "/ready"
        status, body = http_get(target, path, name)
        if status not in (200, 404) and http_get(target, model_path(target, 2), name)[0] == 404:
            status = 404  # Triton answers 400 on /ready for a model it does not have
            raise InputError(
                f"{name}: model {target.model!r} not found at {target.url}{path} "
                "(HTTP 404): check `model:` in the target profile"
            )
        if status != 200:
            raise InputError(
                f"{name}: model {target.model!r} not ready at {target.url}{path} "
                f"(HTTP {status}: {body_snippet(body)})"
            )

    def model_inputs(self, target: TargetSpec, name: str) -> list[dict[str, Any]]:
        return rest_model_inputs(target, name)

    def build_request(self, target: TargetSpec, payload: Payload) -> WireRequest:
        headers = {"Content-Type": "application/json", **target.headers}
        if isinstance(payload, dict):
            body = json.dumps(payload, separators=(",", ":")).encode()
        elif target.payload.binary:
            check_binary_supported(target.kind)
            body, headers = binary_body(payload, headers)
        else:
            inputs = [
                {
                    "name": t.name,
                    "shape": t.shape,
                    "datatype": t.datatype,
                    "data": json_data(t, self.protocol, target.kind),
                }
                for t in payload
            ]
            body = json.dumps({"inputs": inputs}, separators=(",", ":")).encode()
        return WireRequest(
            self.protocol,
            target.url.rstrip("/"),
            model_path(target, 2) + "/infer",
            body,
            headers,
            payload_rows(payload),
        )

    def check_response(self, body: bytes, expect_rows: int) -> str:
        """JSON outputs, or a JSON header followed by binary outputs (``binary_data_size``,
        which KServe uses for FP16 outputs): the first output has ``expect_rows`` rows and
        its values (or the bytes after the header) are all there."""
        try:
            text = body.decode("latin-1")  # one char per byte: `end` is a byte offset
            header, end = _JSON.raw_decode(text, len(text) - len(text.lstrip()))
            outputs = header.get("outputs")
            first = outputs[0]
            shape = first.get("shape") or []
            if not shape or shape[0] != expect_rows:
                return BAD_RESPONSE
            sizes = [(o.get("parameters") or {}).get("binary_data_size") for o in outputs]
            if any(size is not None for size in sizes):
                return "" if sum(s or 0 for s in sizes) == len(body) - end else BAD_RESPONSE
            values = first.get("data")
            if not isinstance(values, list):
                return BAD_RESPONSE
            return "" if len(values) == int(np.prod(shape)) else BAD_RESPONSE
        except (ValueError, AttributeError, TypeError, KeyError, IndexError):
            return BAD_RESPONSE


class GrpcV2(Adapter):
    """``grpc-v2``: ``inference.GRPCInferenceService/ModelInfer`` (typed contents, or raw
    contents for FP16/BF16); readiness from ``ModelReady``, inputs from ``ModelMetadata``."""

    protocol = "grpc-v2"
    transport = "grpc"

    def check_ready(self, target: TargetSpec, name: str) -> None:
        request = v2_proto.ModelReadyRequest(name=target.model, version=target.model_version)
        response = grpc_call(
            target, v2_proto.method("ModelReady"), request, v2_proto.ModelReadyResponse, name
        )
        if not response.ready:
            raise InputError(
                f"{name}: model {target.model!r} is not ready at {target.grpc_address}"
            )

    def model_inputs(self, target: TargetSpec, name: str) -> list[dict[str, Any]]:
        request = v2_proto.ModelMetadataRequest(name=target.model, version=target.model_version)
        response = grpc_call(
            target, v2_proto.method("ModelMetadata"), request, v2_proto.ModelMetadataResponse, name
        )
        return [
            {"name": i.name, "datatype": i.datatype, "shape": list(i.shape)}
            for i in response.inputs
        ]

    def build_request(self, target: TargetSpec, payload: Payload) -> WireRequest:
        message = v2_proto.ModelInferRequest(
            model_name=target.model, model_version=target.model_version
        )
        fill_grpc_inputs(message, require_tensors(payload, self.protocol))
        return wire.grpc_request(
            self.protocol, target, v2_proto.method("ModelInfer"), message, payload
        )

    def check_response(self, body: bytes, expect_rows: int) -> str:
        response = wire.parse_message(v2_proto.ModelInferResponse, body)
        outputs = response.outputs if response is not None else None
        if not outputs or not outputs[0].shape or outputs[0].shape[0] != expect_rows:
            return BAD_RESPONSE
        return ""
