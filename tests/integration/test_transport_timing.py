"""A request's service time runs from its first byte written (``sent_at``) to its answer's last
byte read (``answered_at``), before the client parses and checks the body, and every outcome
carries both: the load process's HTTP transport against a small gevent HTTP server on
127.0.0.1 (in this process, so both sides read one clock) that answers after a known delay
and notes when it had read the request and when it wrote the answer.
"""

import json
import socket
from time import perf_counter

import gevent
from gevent.server import StreamServer

from benchctl.load.clients import make_transport
from benchctl.targets.wire import WireRequest
from tests.integration.http_head import read_head

DELAY_S = 0.03
SERVER: dict[str, float] = {}  # "read": request fully read, "written": last answer byte written
GOOD = json.dumps({"outputs": [{"name": "y", "shape": [1, 2], "datatype": "FP32", "data": [1, 2]}]})
BAD = json.dumps({"outputs": [{"name": "y", "shape": [3, 2], "datatype": "FP32", "data": []}]})


def _answer(body: str):
    def handle(sock: socket.socket, _address: object) -> None:
        reader = sock.makefile("rb")
        while (request := read_head(reader)) is not None:
            reader.read(request[1])
            SERVER["read"] = perf_counter()
            gevent.sleep(DELAY_S)
            data = body.encode()
            sock.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                + f"Content-Length: {len(data)}\r\n\r\n".encode()
            )
            gevent.sleep(DELAY_S)  # the body comes later: the answer is in when it is read
            sock.sendall(data)
            SERVER["written"] = perf_counter()

    return handle


def _send(port: int) -> tuple[float, tuple[int, str, int, float, float], float]:
    request = WireRequest("rest-v2", f"http://127.0.0.1:{port}", "/v2/models/m/infer", b"{}")
    transport = make_transport(request, concurrency=1, timeout=5.0, connect_timeout=1.0)
    try:
        start = perf_counter()
        outcome = transport.send()
        return start, outcome, perf_counter()
    finally:
        transport.close()


def _serving(body: str) -> StreamServer:
    server = StreamServer(("127.0.0.1", 0), _answer(body))
    server.start()
    return server


def test_a_good_answer_is_timed_from_its_write_to_its_last_read():
    """The server writes the answer's head 30 ms after reading the request and its body 30 ms
    later: sent_at lies between the send's start and the server having read the request,
    answered_at after the body was written (the head alone is not the answer) and before
    send returned (after the body check), so the service time is at least 60 ms."""
    server = _serving(GOOD)
    try:
        start, (status, error, received, sent_at, answered_at), returned = _send(server.server_port)
    finally:
        server.stop()
    assert (status, error, received) == (200, "", len(GOOD))
    assert start <= sent_at <= SERVER["read"]
    assert SERVER["written"] <= answered_at <= returned
    assert answered_at - sent_at >= 2 * DELAY_S


def test_a_bad_answer_and_a_refused_connection_carry_their_times_too():
    """A 200 whose first output has 3 rows for a 1-row request is ``bad_response``, timed
    like a good one; a refused connection is ``connection``, timed when it was known."""
    server = _serving(BAD)
    try:
        start, (status, error, _, sent_at, answered_at), returned = _send(server.server_port)
    finally:
        server.stop()
    assert (status, error) == (200, "bad_response")
    assert start <= sent_at <= SERVER["read"]
    assert SERVER["written"] <= answered_at <= returned

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    start, (status, error, received, sent_at, failed_at), returned = _send(port)
    assert (status, error, received) == (0, "connection", 0)
    assert start <= sent_at <= failed_at <= returned
