"""The load process's HTTP POST with prebuilt heads (load/http_post.py) against a small gevent
HTTP server on 127.0.0.1 that records every request's bytes: the bytes are exactly those
geventhttpclient's own ``request`` writes, keep-alive connections are reused, a connection
the server closed while idle is replaced before it is written to, the library's path still
serves ``Expect``, and an answer written before a reset while sending is still read.
"""

import json
import socket

import gevent
import pytest
from gevent.server import StreamServer
from geventhttpclient import HTTPClient

from benchctl.load.clients import make_transport
from benchctl.load.http_post import PrebuiltPost
from benchctl.targets.wire import WireRequest
from tests.integration.http_head import read_head

GOOD = json.dumps({"outputs": [{"name": "y", "shape": [1, 2], "datatype": "FP32", "data": [1, 2]}]})


class Recorder:
    """Answers every request with GOOD; ``close_after`` answers per connection (0: never)."""

    def __init__(self, close_after: int = 0, reject: bool = False) -> None:
        self.requests: list[bytes] = []
        self.connections = 0
        self.close_after = close_after
        self.reject = reject
        self.server = StreamServer(("127.0.0.1", 0), self._handle)
        self.server.start()

    @property
    def port(self) -> int:
        return self.server.server_port

    def _handle(self, sock: socket.socket, _address: object) -> None:
        self.connections += 1
        reader = sock.makefile("rb")
        answered = 0
        while (request := read_head(reader)) is not None:
            head, length = request
            if self.reject:  # answer early and close without reading the body
                sock.sendall(b"HTTP/1.1 413 Too Large\r\nContent-Length: 0\r\n\r\n")
                sock.close()
                return
            if b"expect: 100-continue" in head.lower():
                sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
            self.requests.append(head + reader.read(length))
            data = GOOD.encode()
            sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(data) + data)
            answered += 1
            if answered == self.close_after:
                sock.close()
                return


@pytest.fixture
def recorder():
    made: list[Recorder] = []

    def make(**kwargs) -> Recorder:
        made.append(Recorder(**kwargs))
        return made[-1]

    yield make
    for one in made:
        one.server.stop()


def _transport(port: int, headers: dict[str, str] | None = None):
    request = WireRequest(
        "rest-v2", f"http://127.0.0.1:{port}", "/v2/models/m/infer", b'{"x": 1}', headers or {}
    )
    return make_transport(request, concurrency=1, timeout=5.0, connect_timeout=1.0)


def test_the_bytes_written_are_the_librarys_own(recorder):
    """One request through geventhttpclient's ``request`` and one through PrebuiltPost, same
    path, headers and body: the server reads the same bytes (request line, Host,
    Content-Length, User-Agent, the caller's headers, the body)."""
    server = recorder()
    headers = {"Content-Type": "application/json", "Authorization": "Bearer t"}
    client = HTTPClient("127.0.0.1", server.port, concurrency=1)
    try:
        client.request("POST", "/v2/models/m/infer", b'{"x": 1}', headers).read()
        PrebuiltPost(client).post("/v2/models/m/infer", b'{"x": 1}', headers).read()
    finally:
        client.close()
    assert len(server.requests) == 2
    assert server.requests[0] == server.requests[1]
    assert server.requests[0].endswith(b'\r\n\r\n{"x": 1}')


def test_keep_alive_is_reused_and_a_connection_closed_while_idle_is_replaced(recorder):
    """A server that keeps connections open serves 5 requests on 1 connection; one that
    closes each connection after its answer serves 5 on 5, every one a success (the closed
    idle connection is found before the request is written, so nothing is lost)."""
    kept, closing = recorder(), recorder(close_after=1)
    for server, connections in ((kept, 1), (closing, 5)):
        transport = _transport(server.port)
        try:
            outcomes = []
            for _ in range(5):
                outcomes.append(transport.send())
                gevent.sleep(0.01)  # let the server's close reach this side
        finally:
            transport.close()
        assert [outcome[:2] for outcome in outcomes] == [(200, "")] * 5
        assert server.connections == connections


def test_expect_continue_goes_through_the_library(recorder):
    """A header set with ``Expect: 100-continue`` is left to ``HTTPClient.request`` (which
    waits for the server's interim 100 before the body); the request still succeeds with its
    headers sent."""
    server = recorder()
    transport = _transport(server.port, {"Expect": "100-continue"})
    try:
        status, error, *_ = transport.send()
    finally:
        transport.close()
    assert (status, error) == (200, "")
    assert b"expect: 100-continue" in server.requests[0].lower()


def test_an_early_answer_before_a_reset_is_read(recorder):
    """A server that answers 413 after the head and closes without reading a 4 MB body:
    the write fails with a reset or broken pipe, and the answer already written is what the
    request returns (``http_4xx``), as geventhttpclient's own path does."""
    server = recorder(reject=True)
    client = HTTPClient("127.0.0.1", server.port, concurrency=1)
    try:
        response = PrebuiltPost(client).post("/big", b"x" * (4 << 20), {})
        status = response.status_code
        response.release()
    finally:
        client.close()
    assert status == 413
