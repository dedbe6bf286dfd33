"""``benchctl telemetry``: a run's telemetry summarized (host, server, GPU, server metrics)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from benchctl.commands.options import RUN_HELP

if TYPE_CHECKING:
    from rich.console import Console

NAME = "telemetry"
HELP = "summarize a run's telemetry (host, server, GPU, server metrics)"
EPILOG = """\
example:
  benchctl telemetry runs/<id>    # host, server processes, GPU, server metrics; per arm
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """One run directory."""
    parser.add_argument("run_dir", type=Path, metavar="RUN", help=RUN_HELP)


def run_from_args(args: argparse.Namespace, console: Console) -> int:
    """Print the run's telemetry summary; returns 0. Raises what ``RunDir.open`` and the
    telemetry reader raise for a folder that is not a run or a damaged telemetry file."""
    from benchctl.reports.terminal.telemetry import telemetry_view
    from benchctl.rundir import RunDir
    from benchctl.telemetry.summary import telemetry_summary

    console.print(telemetry_view(telemetry_summary(RunDir.open(args.run_dir))))
    return 0
