"""Value types for the flags of a run's Locust master and its workers (``benchctl run
--master-bind``), checked while argparse parses, like flag_values: a bad value is refused
before anything runs, ``benchctl run: error: argument --master-bind: ...``, exit 2."""

from __future__ import annotations

import argparse
import socket

BIND_HELP = "address the master listens on (0.0.0.0 for remote workers)"
ALLOWED = (
    "give an IP address of this machine (127.0.0.1, the default; 0.0.0.0 for every "
    "interface, for remote workers), localhost, * or an interface name such as eth0"
)


def master_bind(text: str) -> str:
    """``--master-bind``: where the master listens (Locust binds ``tcp://TEXT:PORT`` with
    ZeroMQ, which takes an address of this machine, a name of one, ``*`` or an interface
    name). Returns ``text`` unchanged when a TCP socket can bind it (port 0: any free
    port, closed at once) or it names an interface; ArgumentTypeError otherwise, e.g. for
    an address of another machine or a name that does not resolve."""
    if text == "*" or text in {name for _, name in socket.if_nameindex()}:
        return text
    try:
        infos = socket.getaddrinfo(text, 0, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, ValueError):
        raise argparse.ArgumentTypeError(f"{text!r}: no such address; {ALLOWED}") from None
    for family, kind, proto, _, address in infos:
        with socket.socket(family, kind, proto) as probe:
            try:
                probe.bind(address)
            except OSError:
                continue
            return text
    raise argparse.ArgumentTypeError(f"{text!r}: not an address of this machine; {ALLOWED}")
