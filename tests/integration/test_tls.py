"""TLS towards targets: HTTPS (CA, mutual TLS, insecure) and gRPC over TLS, against TLS
stand-ins that forward to a real KServe (KServe itself has no TLS option)."""

import http.server
import io
import ssl
import subprocess
import sys
import threading
import urllib.request
from concurrent import futures
from pathlib import Path

import grpc
import pytest
from rich.console import Console

from benchctl.run import RunOptions, run

from .conftest import target_overrides

QUIET = Console(file=io.StringIO(), width=120)


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> Path:
    """A CA, a server certificate for 127.0.0.1 and a client certificate, all real."""
    folder = tmp_path_factory.mktemp("pki")
    openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=test-ca",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        cwd=folder,
    )
    for name, extension in (
        ("server", "subjectAltName=IP:127.0.0.1"),
        ("client", "extendedKeyUsage=clientAuth"),
    ):
        openssl(
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            f"/CN={name}",
            "-keyout",
            f"{name}.key",
            "-out",
            f"{name}.csr",
            cwd=folder,
        )
        (folder / f"{name}.ext").write_text(extension + "\n")
        openssl(
            "x509",
            "-req",
            "-in",
            f"{name}.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            f"{name}.ext",
            "-out",
            f"{name}.pem",
            cwd=folder,
        )
    return folder


def https_proxy(pki: Path, upstream: str, *, require_client_cert: bool):
    """An HTTPS front (HTTP/1.1 keep-alive) forwarding every request to ``upstream``."""

    class Forward(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _forward(self, method: str) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            request = urllib.request.Request(
                upstream + self.path, data=body or None, method=method, headers=dict(self.headers)
            )
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    status, payload = response.status, response.read()
            except urllib.error.HTTPError as exc:
                status, payload = exc.code, exc.read()
            self.send_response(status)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def do_GET(self) -> None:
            self._forward("GET")

        def do_POST(self) -> None:
            self._forward("POST")

        def log_message(self, *args) -> None:
            pass

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(pki / "server.pem", pki / "server.key")
    if require_client_cert:
        context.load_verify_locations(pki / "ca.pem")
        context.verify_mode = ssl.CERT_REQUIRED
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Forward)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"https://127.0.0.1:{server.server_address[1]}"


def steady(tmp_path: Path, kserve, *overrides: str, target: str = "kserve"):
    return run(
        RunOptions(
            scenario="steady",
            target=target,
            rate=30,
            duration="3s",
            overrides=("warmup=0",),
            runs_dir=tmp_path / "runs",
            target_overrides=(*target_overrides(kserve), *overrides),
        ),
        console=QUIET,
    )


@pytest.mark.parametrize("mutual", [False, True])
def test_https_with_a_ca_file_and_mutual_tls(tmp_path, kserve, pki, mutual):
    server, url = https_proxy(pki, kserve.http_url, require_client_cert=mutual)
    try:
        client = (f"tls.cert_file={pki / 'client.pem'}", f"tls.key_file={pki / 'client.key'}")
        result = steady(
            tmp_path,
            kserve,
            f"url={url}",
            f"tls.ca_file={pki / 'ca.pem'}",
            *(client if mutual else ()),
        )
    finally:
        server.shutdown()
    assert result.status == "completed", result.reason
    assert result.summary["overall"]["ok"] == result.summary["overall"]["requests"] > 50
    spec = (result.run_dir / "engine-spec.json").read_text()
    assert "BEGIN" not in spec  # only paths travel to workers, never key material


def test_https_without_trust_fails_at_preflight_in_one_line(tmp_path, kserve, pki):
    server, url = https_proxy(pki, kserve.http_url, require_client_cert=False)
    try:
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "benchctl",
                "run",
                "steady",
                "--runs-dir",
                str(tmp_path),
                "--target-set",
                f"url={url}",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        insecure = steady(tmp_path, kserve, f"url={url}", "tls.insecure=true")
    finally:
        server.shutdown()
    assert result.returncode == 2
    assert "certificate verify failed" in result.stderr and "tls.ca_file" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert insecure.status == "completed" and insecure.summary["overall"]["errors"] == 0


def test_grpc_over_tls(tmp_path, kserve, pki):
    upstream = grpc.insecure_channel(kserve.grpc_address)

    class PassThrough(grpc.GenericRpcHandler):
        def service(self, details):
            call = upstream.unary_unary(details.method)
            return grpc.unary_unary_rpc_method_handler(lambda request, _: call(request))

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8), handlers=[PassThrough()])
    credentials = grpc.ssl_server_credentials(
        [((pki / "server.key").read_bytes(), (pki / "server.pem").read_bytes())]
    )
    port = server.add_secure_port("127.0.0.1:0", credentials)
    server.start()
    try:
        result = steady(
            tmp_path,
            kserve,
            f"grpc_address=127.0.0.1:{port}",
            f"tls.ca_file={pki / 'ca.pem'}",
            target="kserve-grpc",
        )
    finally:
        server.stop(grace=None)
        upstream.close()
    assert result.status == "completed", result.reason
    assert result.summary["overall"]["ok"] == result.summary["overall"]["requests"] > 50
