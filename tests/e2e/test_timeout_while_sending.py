"""A deadline that passes while the request body is still being sent (the server does not
read it) frees the connection: with one connection allowed (max_in_flight 1), the requests
after the timed-out one still get a connection and succeed. A real server cannot be made
to stop reading mid-body, so a small TCP stand-in does: it never reads its first
connection, and answers every later request normally."""

from __future__ import annotations

import socket
import socketserver
import threading
import time

import numpy as np

from .helpers import benchctl

BODY_VALUES = 4 * 1024 * 1024  # 16 MB of FP32: more than loopback socket buffers hold
ANSWER = b'{"outputs":[{"name":"y","datatype":"FP32","shape":[1,2],"data":[1.0,2.0]}]}'


class Handler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        server = self.server
        with server.lock:
            server.connections += 1
            first = server.connections == 1
        if first:
            time.sleep(4.0)  # never read: the client's send blocks until its deadline
            return
        conn, buffer = self.request, b""
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        while True:
            while b"\r\n\r\n" not in buffer:
                chunk = conn.recv(1 << 20)
                if not chunk:
                    return
                buffer += chunk
            head, buffer = buffer.split(b"\r\n\r\n", 1)
            length = next(
                int(line.split(b":", 1)[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            )
            while len(buffer) < length:
                chunk = conn.recv(1 << 20)
                if not chunk:
                    return
                buffer += chunk
            buffer = buffer[length:]
            with server.lock:
                server.answered += 1
            conn.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                + f"Content-Length: {len(ANSWER)}\r\n\r\n".encode()
                + ANSWER
            )


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.lock = threading.Lock()
        self.connections = 0
        self.answered = 0


def test_a_request_timed_out_mid_send_gives_its_connection_back(tmp_path):
    np.save(tmp_path / "big.npy", np.ones((1, BODY_VALUES), dtype=np.float32))
    server = Server()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        target = tmp_path / "t.yaml"
        target.write_text(
            f"kind: kserve\nurl: http://127.0.0.1:{server.server_address[1]}\n"
            "protocol: rest-v2\nmodel: m\ntimeout: 1s\n"
            f"payload: {{source: file, file: {tmp_path / 'big.npy'}, binary: true}}\n"
        )
        done = benchctl(
            "run", "steady", "--target", str(target), "--no-preflight", "--rate", "2",
            "--duration", "4s", "--set", "warmup=0s", "--set", "arrivals=constant",
            "--set", "max_in_flight=1", "--no-telemetry", cwd=tmp_path,
        )  # fmt: skip
    finally:
        server.shutdown()
        server.server_close()
    rows = done.requests()
    first = rows.sort_values("t_intended").iloc[0]
    assert first["error"] == "timeout", done.output()
    later = rows[(rows["t_intended"] > first["t_intended"]) & (rows["error"] != "dropped")]
    # 2 req/s for 4 s: ~7 more requests; each must have found a connection and succeeded.
    assert len(later) >= 3, rows[["t_intended", "error"]].to_string()
    assert bool(later["ok"].all()), later["error"].value_counts().to_dict()
