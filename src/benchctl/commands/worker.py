"""``benchctl worker``: join a Locust master as one more load process."""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING

from benchctl.errors import InputError

if TYPE_CHECKING:
    from rich.console import Console

NAME = "worker"
HELP = "join a master as a Locust worker"
EPILOG = "example:\n  benchctl worker --master 10.0.0.5:5557"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``--master HOST:PORT`` (required)."""
    parser.add_argument(
        "--master",
        required=True,
        metavar="HOST:PORT",
        help="the master of a `benchctl run --remote-workers N` (its line 'master "
        "listening on ...' says where)",
    )


def run_from_args(args: argparse.Namespace, console: Console) -> int:
    """Replace this process by a Locust worker of the engine connected to ``--master``
    (does not return). Raises InputError for a ``--master`` that is not HOST:PORT with a
    TCP port 1..65535."""
    host, _, port = args.master.rpartition(":")
    if not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise InputError(
            f"--master {args.master!r}: expected HOST:PORT with a TCP port 1..65535, "
            "e.g. 10.0.0.5:5557"
        )
    from benchctl.reports.terminal.run_progress import print_joining_master

    print_joining_master(console, host, port)
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
