"""The v1 REST protocol: TF-Serving's ``:predict``, also served by KServe's v1 endpoint.

Requests are row format (``{"instances": [...]}``) or columnar (``{"inputs": ...}``), chosen
by ``payload.format``; answers carry ``predictions`` or ``outputs``. Readiness and metadata
differ between the two servers, and both are understood: TF-Serving's
``model_version_status`` (a version AVAILABLE) or KServe's ``{"name", "ready"}``; v2 metadata
(KServe) or TF-Serving's ``/metadata`` (``signature_def``).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import numpy as np

from benchctl.config import TargetSpec
from benchctl.errors import InputError
from benchctl.targets.adapter import Adapter, Payload
from benchctl.targets.payload import Tensor
from benchctl.targets.remote import body_snippet, http_get
from benchctl.targets.tfserving import DEFAULT_SIGNATURE, signature_inputs
from benchctl.targets.v2 import model_path, require_tensors
from benchctl.targets.wire import BAD_RESPONSE, WireRequest, payload_rows


def model_state(body: bytes) -> bool | None:
    """Ready (True/False) from a v1 model status body; None when the body says neither."""
    try:
        data = json.loads(body)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    if isinstance(data.get("model_version_status"), list):  # TF-Serving
        return any(s.get("state") == "AVAILABLE" for s in data["model_version_status"])
    if "ready" in data:  # KServe
        return data["ready"] is True
    return None


def v2_inputs(body: bytes) -> list[dict[str, Any]]:
    """Inputs from a v2 metadata body (``GET /v2/models/<m>``)."""
    return [
        {"name": i["name"], "datatype": i["datatype"], "shape": i["shape"]}
        for i in json.loads(body)["inputs"]
    ]


def tfserving_inputs(body: bytes, signature: str, where: str) -> list[dict[str, Any]]:
    """Inputs from TF-Serving's ``GET /v1/models/<m>/metadata`` body."""
    return signature_inputs(json.loads(body)["metadata"]["signature_def"], signature, where)


def request_body(tensors: list[Tensor], columnar: bool, signature: str) -> dict[str, Any]:
    """TF-Serving's row or columnar JSON for ``tensors`` (one unnamed input sends a bare list)."""
    if columnar:
        inputs: Any = (
            values(tensors[0]) if len(tensors) == 1 else {t.name: values(t) for t in tensors}
        )
        body: dict[str, Any] = {"inputs": inputs}
    elif len(tensors) == 1:
        body = {"instances": values(tensors[0])}
    else:
        columns = {t.name: values(t) for t in tensors}
        rows = len(tensors[0].data)
        body = {"instances": [{k: v[i] for k, v in columns.items()} for i in range(rows)]}
    if signature != DEFAULT_SIGNATURE:
        body["signature_name"] = signature
    return body


def values(tensor: Tensor) -> Any:
    """Nested lists for TF-Serving's JSON; BYTES values as ``{"b64": ...}`` (its REST API's
    form for binary strings)."""
    if tensor.datatype == "BYTES":
        to_b64 = np.frompyfunc(lambda v: {"b64": base64.b64encode(bytes(v)).decode()}, 1, 1)
        return to_b64(tensor.data).tolist()
    return tensor.data.tolist()


def response_rows_ok(data: Any, expect_rows: int) -> bool:
    """``predictions`` (a list of rows) or ``outputs`` (a list, or a dict of lists)."""
    if not isinstance(data, dict):
        return False
    rows = data["predictions"] if "predictions" in data else data.get("outputs")
    if isinstance(rows, dict):
        columns = list(rows.values())
        return bool(columns) and all(isinstance(c, list) and len(c) == expect_rows for c in columns)
    return isinstance(rows, list) and len(rows) == expect_rows


class RestV1(Adapter):
    """``rest-v1``: ``POST /v1/models/<m>[/versions/<v>]:predict`` with ``instances`` (or
    TF-Serving's columnar ``inputs``): KServe v1 and TF-Serving REST."""

    protocol = "rest-v1"
    transport = "http"

    def check_ready(self, target: TargetSpec, name: str) -> None:
        path = model_path(target, 1)
        status, body = http_get(target, path, name)
        where = f"{target.url}{path}"
        if status == 404:
            raise InputError(
                f"{name}: model {target.model!r} not found at {where} "
                "(HTTP 404): check `model:` in the target profile"
            )
        if status != 200 or model_state(body) is False:
            raise InputError(
                f"{name}: model {target.model!r} not ready at {where} "
                f"(HTTP {status}: {body_snippet(body)})"
            )

    def model_inputs(self, target: TargetSpec, name: str) -> list[dict[str, Any]]:
        v2_path = model_path(target, 2)
        status, body = http_get(target, v2_path, name)
        if status == 200:
            return _parsed(v2_inputs, body, f"{target.url}{v2_path}", name)
        tf_path = model_path(target, 1) + "/metadata"
        tf_status, tf_body = http_get(target, tf_path, name)
        if tf_status != 200:
            raise InputError(
                f"{name}: no model metadata at {target.url}{v2_path} (HTTP {status}) nor "
                f"{tf_path} (HTTP {tf_status}): give payload.source: file in the target profile"
            )
        where = f"{target.url}{tf_path}"
        return _parsed(
            lambda b: tfserving_inputs(b, target.signature_name, where), tf_body, where, name
        )

    def build_request(self, target: TargetSpec, payload: Payload) -> WireRequest:
        body = (
            payload
            if isinstance(payload, dict)
            else request_body(
                require_tensors(payload, self.protocol),
                target.payload.format == "columnar",
                target.signature_name,
            )
        )
        return WireRequest(
            self.protocol,
            target.url.rstrip("/"),
            model_path(target, 1) + ":predict",
            json.dumps(body, separators=(",", ":")).encode(),
            {"Content-Type": "application/json", **target.headers},
            payload_rows(payload),
        )

    def check_response(self, body: bytes, expect_rows: int) -> str:
        try:
            data = json.loads(body)
        except ValueError:
            return BAD_RESPONSE
        return "" if response_rows_ok(data, expect_rows) else BAD_RESPONSE


def _parsed(
    parse: Callable[[bytes], list[dict[str, Any]]], body: bytes, where: str, name: str
) -> list[dict[str, Any]]:
    try:
        return parse(body)
    except (ValueError, KeyError, TypeError, AttributeError):
        raise InputError(
            f"{name}: malformed model metadata at {where}: {body_snippet(body)}"
        ) from None
