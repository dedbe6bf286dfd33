"""TLS for targets: one client context for HTTPS, one set of credentials for gRPC.

Only file paths travel to load workers (in the engine spec), never key material: each
process reads the files on its own machine.
"""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

from benchctl.errors import InputError


def client_context(tls: dict[str, Any] | None) -> ssl.SSLContext:
    """Verify the server against ``ca_file`` (or the system CAs); present a client
    certificate when given; ``insecure`` verifies nothing (testing only)."""
    tls = tls or {}
    context = ssl.create_default_context(cafile=_path(tls.get("ca_file")))
    if tls.get("cert_file"):
        context.load_cert_chain(_path(tls["cert_file"]), _path(tls.get("key_file")))
    if tls.get("insecure"):
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def grpc_credentials(tls: dict[str, Any]) -> Any:
    """Channel credentials for a TLS gRPC target (gRPC has no 'skip verification')."""
    import grpc

    if tls.get("insecure"):
        raise InputError("tls.insecure is not supported over gRPC: give tls.ca_file instead")
    return grpc.ssl_channel_credentials(
        root_certificates=_read(tls.get("ca_file")),
        private_key=_read(tls.get("key_file")),
        certificate_chain=_read(tls.get("cert_file")),
    )


def _path(value: str | Path | None) -> str | None:
    return None if value is None else str(value)


def _read(value: str | Path | None) -> bytes | None:
    return None if value is None else Path(value).read_bytes()
