"""``benchctl runs``: the run directories in a folder and their key numbers."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from benchctl.commands.options import add_runs_dir

if TYPE_CHECKING:
    from rich.console import Console

NAME = "runs"
HELP = "list runs and their key numbers"
EPILOG = None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``--runs-dir DIR`` (default runs/)."""
    add_runs_dir(parser, "folder of run directories (default: runs/ here)")


def run_from_args(args: argparse.Namespace, console: Console) -> int:
    """Print one row per run (status, requests, throughput, p50/p99, errors, flags) and one
    line per damaged run; a hint to start when there is none. Returns 0."""
    from benchctl.reports.terminal.listings import print_runs
    from benchctl.rundir import list_runs

    rows = [(run_dir.name, info, run_dir.overall()) for run_dir, info in list_runs(args.runs_dir)]
    print_runs(console, rows, args.runs_dir)
    return 0
