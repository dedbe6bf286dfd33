"""The v1 REST protocol: TF-Serving's ``:predict`` (``instances`` -> ``predictions``),
also served by KServe's v1 endpoint."""

from __future__ import annotations

import json
from typing import Any

from benchctl.config import TargetSpec
from benchctl.errors import InputError
from benchctl.targets.adapter import Payload
from benchctl.targets.remote import http_get
from benchctl.targets.v2 import model_path, require_tensors, rest_model_inputs
from benchctl.targets.wire import BAD_RESPONSE, WireRequest, payload_rows


class RestV1:
    protocol = "rest-v1"
    transport = "http"

    def check_ready(self, target: TargetSpec, name: str) -> None:
        path = model_path(target, 1)
        status, body = http_get(target, path, name)
        if status == 404:
            raise InputError(
                f"{name}: model {target.model!r} not found at {target.url}{path} "
                "(HTTP 404): check `model:` in the target profile"
            )
        if status != 200:
            raise InputError(
                f"{name}: model {target.model!r} not ready at {target.url}{path} "
                f"(HTTP {status}: {body[:120]!r})"
            )

    def model_inputs(self, target: TargetSpec, name: str) -> list[dict[str, Any]]:
        return rest_model_inputs(target, name)

    def build_request(self, target: TargetSpec, payload: Payload) -> WireRequest:
        body = (
            payload
            if isinstance(payload, dict)
            else {"instances": require_tensors(payload, self.protocol)[0].data.tolist()}
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
            rows = data.get("predictions", data.get("outputs"))
        except (ValueError, AttributeError):
            return BAD_RESPONSE
        return "" if isinstance(rows, list) and len(rows) == expect_rows else BAD_RESPONSE
