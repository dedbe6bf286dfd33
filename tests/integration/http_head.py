"""Reading one HTTP/1.1 request head off a socket's reader, for the small gevent servers
the transport tests stand up on 127.0.0.1."""

from __future__ import annotations

from typing import BinaryIO


def read_head(reader: BinaryIO) -> tuple[bytes, int] | None:
    """(the request head through its blank line, its Content-Length), or None when the
    client closed the connection first. The body is left to read."""
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        line = reader.readline()
        if not line:
            return None
        head += line
    length = next(
        (
            int(line.split(b":")[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length")
        ),
        0,
    )
    return head, length
