"""``benchctl worker``: join a Locust master as one more load process."""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING

from benchctl import arguments
from benchctl.errors import BenchctlError, InputError

if TYPE_CHECKING:
    from rich.console import Console

NAME = "worker"
HELP = "join a master as a Locust worker"
EPILOG = "example:\n  benchctl worker --master 10.0.0.5:5557"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``--master HOST:PORT`` (required) and ``--wait DURATION`` for it to listen."""
    parser.add_argument(
        "--master",
        required=True,
        metavar="HOST:PORT",
        help="the master of a `benchctl run --remote-workers N` (its line 'master "
        "listening on ...' says where)",
    )
    parser.add_argument(
        "--wait",
        type=arguments.length,
        default="60s",
        metavar="DURATION",
        help="how long to wait for the master to listen (default 60s); then exit 1",
    )


def run_from_args(args: argparse.Namespace, console: Console) -> int:
    """Replace this process by a Locust worker of the engine connected to ``--master``
    (does not return). Raises InputError for a ``--master`` that is not HOST:PORT with a
    TCP port 1..65535, BenchctlError (exit 1) when nothing listens there within ``--wait``."""
    host, _, port = args.master.rpartition(":")
    if not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise InputError(
            f"--master {args.master!r}: expected HOST:PORT with a TCP port 1..65535, "
            "e.g. 10.0.0.5:5557"
        )
    from benchctl.durations import parse_duration
    from benchctl.reports.terminal.run_progress import print_joining_master

    print_joining_master(console, host, port)
    wait_for_master(console, host, int(port), parse_duration(args.wait))
    command = [
        sys.executable,
        "-m",
        "benchctl.load.engine",
        "--role",
        "worker",
        "--master-host",
        host,
        "--port",
        port,
    ]
    os.execv(sys.executable, command)
    return 0  # not reached


def wait_for_master(console: Console, host: str, port: int, wait_s: float) -> None:
    """Return once a TCP connection to ``host:port`` opens (the master listens); one line
    while it does not yet, then BenchctlError (exit 1) after ``wait_s`` s naming the address
    and the last error (ZeroMQ alone would wait silently for ever)."""
    import socket
    import time

    from benchctl.reports.terminal.run_progress import print_waiting_for_master

    deadline, said = time.monotonic() + wait_s, False
    while True:
        try:
            with socket.create_connection((host, port), timeout=2.0):
                return
        except OSError as exc:
            problem = exc.strerror or type(exc).__name__
        if time.monotonic() >= deadline:
            raise BenchctlError(
                f"no master at {host}:{port} within {wait_s:g} s ({problem}): start `benchctl "
                "run ... --remote-workers N` first and give the address its line 'master "
                "listening on ...' prints, or wait longer with --wait"
            )
        if not said:
            print_waiting_for_master(console, host, port, problem, wait_s)
            said = True
        time.sleep(min(1.0, max(deadline - time.monotonic(), 0.0)))
