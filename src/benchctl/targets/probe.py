"""Preflight: is the target there and is the model ready? And what are its inputs?

Runs in the CLI process before any load, with plain blocking clients, and fails fast
with one line that says what to do.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import grpc

from benchctl.config import TargetSpec, resolve_env
from benchctl.errors import InputError
from benchctl.targets import v2_proto
from benchctl.targets.wire import model_path

TIMEOUT_S = 5.0


def check_ready(target: TargetSpec, *, name: str = "target") -> None:
    """Raise InputError (one line, exit 2) unless the server answers and the model is ready."""
    if target.protocol == "grpc-v2":
        _grpc_ready(target, name)
        return
    api = 1 if target.protocol == "rest-v1" else 2
    path = model_path(target, api) + ("" if api == 1 else "/ready")
    status, body = _http_get(target, path, name)
    if status == 404:
        raise InputError(
            f"{name}: model {target.model!r} not found at {target.url}{path} (HTTP 404): "
            "check `model:` in the target profile"
        )
    if status != 200:
        raise InputError(
            f"{name}: model {target.model!r} not ready at {target.url}{path} "
            f"(HTTP {status}: {body[:120]!r})"
        )


def model_inputs(target: TargetSpec, *, name: str = "target") -> list[dict[str, Any]]:
    """The model's inputs (name, datatype, shape) from its v2 metadata, over the target's
    protocol (rest-v1 targets ask the same server's v2 REST endpoint)."""
    if target.protocol == "grpc-v2":
        request = v2_proto.ModelMetadataRequest(name=target.model, version=target.model_version)
        response = _grpc_call(
            target, "ModelMetadata", request, v2_proto.ModelMetadataResponse, name
        )
        return [
            {"name": i.name, "datatype": i.datatype, "shape": list(i.shape)}
            for i in response.inputs
        ]
    status, body = _http_get(target, model_path(target, 2), name)
    if status != 200:
        raise InputError(
            f"{name}: no v2 metadata at {target.url}{model_path(target, 2)} (HTTP {status}): "
            "give payload.source: file in the target profile"
        )
    try:
        inputs = json.loads(body)["inputs"]
        return [{"name": i["name"], "datatype": i["datatype"], "shape": i["shape"]} for i in inputs]
    except (ValueError, KeyError, TypeError):
        raise InputError(f"{name}: malformed v2 metadata at {target.url}: {body[:120]!r}") from None


def _headers(target: TargetSpec) -> dict[str, str]:
    return {key: resolve_env(value) for key, value in target.headers.items()}


def _http_get(target: TargetSpec, path: str, name: str) -> tuple[int, bytes]:
    url = target.url.rstrip("/") + path
    request = urllib.request.Request(url, headers=_headers(target))
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise InputError(
            f"{name}: cannot reach {target.url} ({reason}): start the server, fix `url:` in "
            "the target profile, or pass --launch to start a local one"
        ) from None


def _grpc_call(target: TargetSpec, method: str, request: Any, response_type: Any, name: str) -> Any:
    metadata = [(k.lower(), v) for k, v in _headers(target).items() if k.lower() != "content-type"]
    with grpc.insecure_channel(target.grpc_address) as channel:
        call = channel.unary_unary(
            v2_proto.method(method),
            request_serializer=lambda m: m.SerializeToString(),
            response_deserializer=response_type.FromString,
        )
        try:
            return call(request, timeout=TIMEOUT_S, metadata=metadata)
        except grpc.RpcError as exc:
            code = exc.code()
            if code == grpc.StatusCode.UNAVAILABLE or code == grpc.StatusCode.DEADLINE_EXCEEDED:
                raise InputError(
                    f"{name}: cannot reach gRPC {target.grpc_address} ({code.name}): start the "
                    "server, fix `grpc_address:` in the target profile, or pass --launch"
                ) from None
            raise InputError(
                f"{name}: gRPC {method} for model {target.model!r} failed: {code.name} "
                f"{exc.details()}"
            ) from None


def _grpc_ready(target: TargetSpec, name: str) -> None:
    request = v2_proto.ModelReadyRequest(name=target.model, version=target.model_version)
    if not _grpc_call(target, "ModelReady", request, v2_proto.ModelReadyResponse, name).ready:
        raise InputError(f"{name}: model {target.model!r} is not ready at {target.grpc_address}")
