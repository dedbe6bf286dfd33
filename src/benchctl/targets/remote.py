"""Blocking calls to a target from the CLI process (preflight and metadata, not load).

Failures become one-line InputErrors that say what to do.
"""

from __future__ import annotations

import ssl
import urllib.error
import urllib.request
from typing import Any

import grpc

from benchctl.config import TargetSpec
from benchctl.errors import InputError
from benchctl.targets.secrets import resolve_headers
from benchctl.targets.tls import client_context, grpc_credentials

TIMEOUT_S = 5.0
UNREACHABLE_HINT = "start the server, fix the address in the target profile, or pass --launch"


def resolved_headers(target: TargetSpec) -> dict[str, str]:
    """``target.headers`` with ``${VAR}`` templates filled from the environment (see
    targets/secrets.py, which raises InputError for an unset variable)."""
    return resolve_headers(target.headers)


def grpc_metadata(headers: dict[str, str]) -> list[tuple[str, str]]:
    """HTTP-style headers as gRPC metadata (lower-case keys, no Content-Type)."""
    return [(k.lower(), v) for k, v in headers.items() if k.lower() != "content-type"]


def http_get(target: TargetSpec, path: str, name: str) -> tuple[int, bytes]:
    """(status, body) of GET url+path; InputError if nothing answers."""
    url = target.url.rstrip("/") + path
    request = urllib.request.Request(url, headers=resolved_headers(target))
    tls = target.tls.model_dump(mode="json") if target.tls else None
    context = client_context(tls) if url.startswith("https:") else None
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S, context=context) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        if isinstance(reason, ssl.SSLError):
            raise InputError(
                f"{name}: TLS with {target.url} failed ({reason}): check tls.ca_file"
                ", tls.cert_file and tls.key_file in the target profile"
            ) from None
        raise InputError(
            f"{name}: cannot reach {target.url} ({reason}): {UNREACHABLE_HINT}"
        ) from None


def grpc_call(target: TargetSpec, method: str, request: Any, response_type: Any, name: str) -> Any:
    """One unary call to ``method`` (full path); InputError on any failure."""
    if target.tls is not None:
        credentials = grpc_credentials(target.tls.model_dump(mode="json"))
        channel_cm = grpc.secure_channel(
            target.grpc_address, credentials, options=target.grpc.channel_options()
        )
    else:
        channel_cm = grpc.insecure_channel(
            target.grpc_address, options=target.grpc.channel_options()
        )
    with channel_cm as channel:
        call = channel.unary_unary(
            method,
            request_serializer=lambda m: m.SerializeToString(),
            response_deserializer=response_type.FromString,
        )
        try:
            return call(
                request, timeout=TIMEOUT_S, metadata=grpc_metadata(resolved_headers(target))
            )
        except grpc.RpcError as exc:
            code = exc.code()
            if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
                raise InputError(
                    f"{name}: cannot reach gRPC {target.grpc_address} "
                    f"({code.name}): {UNREACHABLE_HINT}"
                ) from None
            raise InputError(
                f"{name}: gRPC {method.rsplit('/', 1)[-1]} for model "
                f"{target.model!r} failed: {code.name} {exc.details()}"
            ) from None


def body_snippet(body: bytes | str, limit: int = 120) -> str:
    """A server's answer as a short quoted text for an error line: decoded (UTF-8, bad
    bytes replaced), HTML tags dropped, whitespace collapsed, cut to ``limit`` characters
    with "..." (e.g. ``'Error response Error code: 404 Message: File not found...'``)."""
    import re

    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
    text = re.sub(r"<!DOCTYPE[^>]*>|<[^>]+>", " ", text, flags=re.IGNORECASE)
    text = " ".join(text.split())
    return repr(text if len(text) <= limit else text[:limit].rstrip() + "...")
