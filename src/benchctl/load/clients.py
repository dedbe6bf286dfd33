"""Transports used inside the engine's gevent loop: one request in, (status, error, bytes) out.

Imported only by the engine process (it needs gevent's monkey-patching first). Errors are
classified per request: ``timeout``, ``connection``, ``http_4xx``, ``http_5xx``,
``grpc_<CODE>``, ``bad_response`` (a success status with a wrong body) or ``client_error``.

A request's service time runs from the moment its first byte is handed to the kernel
(``sent_at``) to the moment the last bytes of its answer are taken from it (``answered_at``).
The client's own Python around the wire is left out at both ends: building the request
(pool checkout, headers) before the write, and parsing the headers and checking the body
after the last read. Measured against a launched Triton at 200 req/s (2026-11-30, one
request every 5 ms, so the interpreter runs on cold caches): 0.05 ms before the write and
0.03 ms after the read, against a 0.7 ms round trip (README, Benchmarks: the comparison
with perf_analyzer, whose span holds its own client's work). Open-loop latency still
counts from the intended send time, so it keeps the client's time (send lag and request
building) and leaves out only the parsing after the answer was in.
"""

from __future__ import annotations

from time import perf_counter
from typing import Any, Protocol
from urllib.parse import urlsplit

import gevent
from geventhttpclient import HTTPClient
from geventhttpclient.response import HTTPParseError

from benchctl.load.choice import Choice
from benchctl.load.http_post import PrebuiltPost
from benchctl.targets.adapter import adapter_for
from benchctl.targets.remote import grpc_metadata
from benchctl.targets.secrets import resolve_headers
from benchctl.targets.tls import client_context, grpc_credentials
from benchctl.targets.wire import WireRequest

# status, error kind ("" when ok), bytes received, sent_at (time.perf_counter seconds when the
# request's first byte went to the kernel; the time the send began when it never got there),
# answered_at (when the answer's last bytes were read, or the failure was known)
Outcome = tuple[int, str, int, float, float]


class Transport(Protocol):
    """One protocol client shared by a load process's request greenlets."""

    def send(self, choice: Choice | None = None) -> Outcome:
        """Send the request (``choice``'s body, or the spec's when None) and wait for its
        answer: (status, error kind or "", bytes received, sent_at, answered_at in perf_counter
        seconds). Never raises for a failed request: timeouts, refused connections and bad
        answers are error kinds."""
        ...

    def close(self) -> None:
        """Close every connection; the transport is not used afterwards."""
        ...


class StampedSocket:
    """A pooled connection that notes when bytes cross the kernel boundary.

    ``sent_at``: ``time.perf_counter`` seconds just before the last ``sendall`` began (a
    request is written by one ``sendall`` of head and body); ``read_at``: just after the last
    ``recv`` returned. Everything else goes to the wrapped socket (gevent's, or its TLS
    wrapper), so geventhttpclient's pool and parser use it unchanged."""

    __slots__ = ("_sock", "read_at", "sent_at")

    def __init__(self, sock: Any) -> None:
        self._sock = sock
        self.sent_at = self.read_at = perf_counter()

    def sendall(self, data: bytes, *flags: int) -> None:
        """Write all of ``data`` (see socket.sendall), noting when the write began."""
        self.sent_at = perf_counter()
        self._sock.sendall(data, *flags)

    def recv(self, size: int, *flags: int) -> bytes:
        """Read up to ``size`` bytes (see socket.recv), noting when they were in."""
        data = self._sock.recv(size, *flags)
        self.read_at = perf_counter()
        return data

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


class HttpTransport:
    """Keep-alive HTTP/1.1 through geventhttpclient (the client behind FastHttpUser)."""

    def __init__(
        self, request: WireRequest, *, concurrency: int, timeout: float, connect_timeout: float
    ) -> None:
        parts = urlsplit(request.address)
        secure = parts.scheme == "https"
        tls = request.tls or {}
        self._client = HTTPClient(
            parts.hostname or "127.0.0.1",
            parts.port,
            concurrency=concurrency,
            network_timeout=timeout,
            connection_timeout=connect_timeout,
            ssl=secure,
            ssl_context_factory=(lambda **_: client_context(tls)) if secure else None,
            insecure=bool(tls.get("insecure")),
        )
        self._request = request
        self._timeout = timeout
        self._headers = resolve_headers(request.headers)
        self._check = adapter_for(request.protocol).check_response
        # The socket each greenlet holds, so that a deadline hit while sending frees it.
        self._pool = self._client._connection_pool
        self._held: dict[Any, Any] = {}
        self._get_socket = self._pool.get_socket
        self._pool.get_socket = self._tracked_get_socket
        self._post = PrebuiltPost(self._client).post  # heads built once (load/http_post.py)
        self._merged: dict[int, dict[str, str]] = {}

    def _tracked_get_socket(self) -> Any:
        sock = self._get_socket()
        if not isinstance(sock, StampedSocket):  # a new connection: pooled stamped from now on
            sock = StampedSocket(sock)
        self._held[gevent.getcurrent()] = sock
        return sock

    def _headers_for(self, choice: Choice) -> dict[str, str]:
        """The request's headers with the choice's body headers (merged once per model)."""
        if not choice.headers:
            return self._headers
        merged = self._merged.get(id(choice.headers))
        if merged is None:
            merged = self._merged[id(choice.headers)] = {**self._headers, **choice.headers}
        return merged

    def send(self, choice: Choice | None = None) -> Outcome:
        """One request (``choice``'s body and path, else the base request's) under a
        whole-request deadline of ``timeout`` seconds.

        The deadline covers waiting for a pooled connection, connecting, sending, waiting
        for the headers and reading the whole body: a body that trickles in byte by byte
        past the deadline is a ``timeout`` at the deadline, not a slow success (geventhttpclient's
        ``network_timeout`` alone bounds each socket read; locustio/locust#1307).
        """
        request = self._request
        if choice is None:
            path, body_out, headers, rows = (
                request.path, request.body, self._headers, request.expect_rows
            )  # fmt: skip
        else:
            path, body_out, rows = choice.path, choice.body, choice.expect_rows
            headers = self._headers_for(choice)
        deadline = gevent.Timeout(self._timeout)
        response = None
        began = sent_at = perf_counter()
        deadline.start()
        try:
            response = self._post(path, body_out, headers)
            sock = self._held[gevent.getcurrent()]
            sent_at = sock.sent_at
            try:
                body = response.read()
                answered_at = sock.read_at
            finally:
                response.release()
        except gevent.Timeout as exc:
            if exc is not deadline:
                raise
            if response is None:  # stopped while sending: the pool does not get it back
                self._drop_held()
            return 0, "timeout", 0, began, perf_counter()
        except TimeoutError:
            return 0, "timeout", 0, began, perf_counter()
        except (OSError, HTTPParseError):
            return 0, "connection", 0, began, perf_counter()
        finally:
            deadline.cancel()
            self._held.pop(gevent.getcurrent(), None)
        status = response.status_code
        if status >= 300:
            return status, f"http_{status // 100}xx", len(body), sent_at, answered_at
        return status, self._check(body, rows), len(body), sent_at, answered_at

    def _drop_held(self) -> None:
        """Close this greenlet's socket unless the response already released it."""
        sock = self._held.pop(gevent.getcurrent(), None)
        if sock is not None and sock.fileno() != -1:
            self._pool.release_socket(sock)

    def close(self) -> None:
        """Close the pooled connections."""
        self._client.close()


class GrpcTransport:
    """Unary gRPC with pre-serialized bytes (no per-request protobuf encoding)."""

    def __init__(self, request: WireRequest, *, timeout: float, **_: object) -> None:
        import grpc
        import grpc.experimental.gevent as grpc_gevent

        grpc_gevent.init_gevent()
        self._grpc = grpc
        options = list(request.grpc_options.items())  # message size limits (default: none)
        self._channel = (
            grpc.secure_channel(request.address, grpc_credentials(request.tls), options=options)
            if request.tls is not None
            else grpc.insecure_channel(request.address, options=options)
        )
        self._call = self._channel.unary_unary(request.path)
        self._request = request
        self._check = adapter_for(request.protocol).check_response
        self._timeout = timeout
        headers = resolve_headers(request.headers)
        self._metadata = grpc_metadata(headers)

    def send(self, choice: Choice | None = None) -> Outcome:
        """One unary call (see ``Transport.send``); the status is the gRPC code, 0 if OK."""
        request = self._request
        body_out = request.body if choice is None else choice.body
        rows = request.expect_rows if choice is None else choice.expect_rows
        sent_at = perf_counter()  # gRPC's core sends and reads in C: no socket to stamp
        try:
            body = self._call(body_out, timeout=self._timeout, metadata=self._metadata)
        except self._grpc.RpcError as exc:
            code, failed_at = exc.code(), perf_counter()
            if code == self._grpc.StatusCode.DEADLINE_EXCEEDED:
                return code.value[0], "timeout", 0, sent_at, failed_at
            if code == self._grpc.StatusCode.UNAVAILABLE:
                return code.value[0], "connection", 0, sent_at, failed_at
            return code.value[0], f"grpc_{code.name}", 0, sent_at, failed_at
        answered_at = perf_counter()
        return 0, self._check(body, rows), len(body), sent_at, answered_at

    def close(self) -> None:
        """Close the channel."""
        self._channel.close()


def make_transport(
    request: WireRequest, *, concurrency: int, timeout: float, connect_timeout: float
) -> Transport:
    """The transport for ``request``'s protocol (HTTP or gRPC) with at most ``concurrency``
    connections and ``timeout`` / ``connect_timeout`` in seconds. Raises InputError for a
    protocol no adapter serves (targets/registry.py)."""
    grpc = adapter_for(request.protocol).transport == "grpc"
    kind = GrpcTransport if grpc else HttpTransport
    return kind(request, concurrency=concurrency, timeout=timeout, connect_timeout=connect_timeout)
