"""``benchctl worker``: join a Locust master as one more load process."""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING

from benchctl.commands import flag_values

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
        type=flag_values.master,
        metavar="HOST:PORT",
        help="the master of a `benchctl run --remote-workers N` (its line 'master "
        "listening on ...' says where)",
    )


def run_from_args(args: argparse.Namespace, console: Console) -> int:
    """Replace this process by a Locust worker of the engine connected to ``--master``
    (HOST:PORT, checked while parsing: ``flag_values.master``); does not return."""
    host, _, port = args.master.rpartition(":")
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
