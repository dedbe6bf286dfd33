"""``benchctl runs``: the run directories in a folder and their key numbers."""

from __future__ import annotations

import argparse

from rich.console import Console

from benchctl.commands.options import add_runs_dir
from benchctl.rundir import list_runs

NAME = "runs"
HELP = "list runs and their key numbers"
EPILOG = None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``--runs-dir DIR`` (default runs/)."""
    add_runs_dir(parser, "folder of run directories (default: runs/ here)")


def run_from_args(args: argparse.Namespace, console: Console) -> int:
    """Print one row per run (status, requests, throughput, p50/p99, errors, flags) and one
    line per damaged run; a hint to start when there is none. Returns 0."""
    runs = list_runs(args.runs_dir)
    if not runs:
        console.print(
            f"no runs in {args.runs_dir}/ yet: try `benchctl run spike --target "
            "kserve --launch --time-scale 0.1`"
        )
        return 0
    from benchctl.display import runs_table

    rows = [(run_dir.name, info, run_dir.overall()) for run_dir, info in runs]
    table, damaged = runs_table(rows, title=f"runs in {args.runs_dir}/")
    console.print(table)
    for line in damaged:
        console.print(f"[red]damaged:[/] {line}", highlight=False, soft_wrap=True)
    return 0
