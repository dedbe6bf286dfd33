"""A small Open Inference Protocol (v2 REST) stand-in on 127.0.0.1, for misbehaviour a real
server cannot be made to show (a body trickling in, a 307 on every POST). It %-decodes the
request path like FastAPI and Triton do, and counts what it saw.

Used in-process from tests: ``with V2Standin(...) as s: s.url``.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

INPUT = {"name": "x", "datatype": "FP32", "shape": [-1, 4]}


class V2Standin:
    """``model``: the one model served. ``trickle``: 1-based numbers of the infer requests
    whose answer body is sent one byte every ``trickle_delay`` s. ``redirect``: answer 307 to
    every POST. ``token``: 401 unless ``Authorization: Bearer <token>``."""

    def __init__(
        self,
        model: str = "mlp",
        *,
        trickle: frozenset[int] = frozenset(),
        trickle_delay: float = 0.1,
        redirect: bool = False,
        token: str | None = None,
    ) -> None:
        self.model = model
        self.trickle = trickle
        self.trickle_delay = trickle_delay
        self.redirect = redirect
        self.token = token
        self.counts: dict[str, int] = {}
        self.headers_seen: list[dict[str, str]] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> V2Standin:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def bump(self, key: str) -> int:
        with self._lock:
            self.counts[key] = self.counts.get(key, 0) + 1
            if key.startswith("infer"):
                self.counts["infer"] = self.counts.get("infer", 0) + 1
            return self.counts.get("infer", 0)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *_: Any) -> None:
                pass

            def _path(self) -> str:
                raw = self.path.encode("latin-1").decode("utf-8", "replace")
                return urllib.parse.unquote(raw)

            def _send(self, code: int, body: bytes, extra: tuple = ()) -> None:
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                for key, value in extra:
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                base = "/v2/models/" + standin.model
                path = self._path()
                standin.headers_seen.append(dict(self.headers))
                if path in (base + "/ready", "/v2/health/ready"):
                    return self._send(200, b"")
                if path == base:
                    meta = {"name": standin.model, "inputs": [INPUT], "outputs": []}
                    return self._send(200, json.dumps(meta).encode())
                standin.bump("get_404")
                return self._send(404, b'{"error": "not found"}')

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                standin.headers_seen.append(dict(self.headers))
                path = self._path()
                base = "/v2/models/" + standin.model
                if path != base + "/infer":
                    standin.bump("post_404")
                    return self._send(404, b'{"error": "unknown path"}')
                if standin.redirect:
                    standin.bump("infer_307")
                    return self._send(307, b"", (("Location", base + "/infer2"),))
                wanted = f"Bearer {standin.token}"
                if standin.token is not None and self.headers.get("Authorization") != wanted:
                    standin.bump("infer_401")
                    return self._send(401, b'{"error": "unauthorized"}')
                body = json.dumps(
                    {"outputs": [{"name": "y", "datatype": "FP32", "shape": [1, 2],
                                  "data": [0.5, 0.5]}]}
                ).encode()  # fmt: skip
                n = standin.bump("infer_seen")
                if n not in standin.trickle:
                    return self._send(200, body)
                standin.bump("trickled")
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.flush()
                for i in range(len(body)):
                    try:
                        self.wfile.write(body[i : i + 1])
                        self.wfile.flush()
                    except OSError:
                        return
                    time.sleep(standin.trickle_delay)

        return Handler


def write_target(path: Any, url: str, *lines: str, model: str = "mlp", timeout: str = "5s") -> Any:
    """A target profile for a stand-in (rest-v2, payload from its metadata)."""
    text = (
        f"kind: kserve\nurl: {url}\nprotocol: rest-v2\nmodel: {json.dumps(model)}\n"
        f"payload: {{source: metadata, batch_size: 1}}\ntimeout: {timeout}\nconnect_timeout: 2s\n"
    )
    path.write_text(text + "".join(f"{line}\n" for line in lines))
    return path
