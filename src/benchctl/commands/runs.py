"""``benchctl runs``: the run directories in a folder and their key numbers."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

    from benchctl.rundir import RunDir

NAME = "runs"
HELP = "list runs and their key numbers"
EPILOG = None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``--runs-dir DIR`` (default runs/): a folder given must exist (a typo is refused, as
    in ``history``, not listed as an empty history); a missing runs/ is no run yet."""
    from benchctl import arguments
    from benchctl.rundir import DEFAULT_RUNS_DIR

    parser.add_argument(
        "--runs-dir",
        type=arguments.existing_dir,
        default=DEFAULT_RUNS_DIR,
        metavar="DIR",
        help="folder of run directories (default: runs/ here)",
    )


def run_from_args(args: argparse.Namespace, console: Console) -> int:
    """Print one row per run (status, requests, throughput, p50/p99, errors, drops, flags
    with the run's capacity: analyzed, or a capacity search's own bound) and one line per
    damaged run; a hint to start when there is none. Returns 0."""
    from benchctl.analysis.listed_capacity import listed_capacity
    from benchctl.reports.terminal.listings import print_runs
    from benchctl.rundir import list_runs

    runs = [
        (run_dir, _requests_checked(run_dir, info)) for run_dir, info in list_runs(args.runs_dir)
    ]
    rows = [(run_dir.name, info, run_dir.overall()) for run_dir, info in runs]
    capacities = {
        run_dir.name: found
        for run_dir, info in runs
        if info.get("status") != "damaged" and (found := listed_capacity(run_dir)) is not None
    }
    print_runs(console, rows, args.runs_dir, capacities)
    for run_dir, info in runs:
        if info.get("status") != "damaged" and (line := warmup_only_line(run_dir)) is not None:
            console.print(line, highlight=False, markup=False)
    return 0


def _requests_checked(run_dir: RunDir, info: dict[str, Any]) -> dict[str, Any]:
    """``info``, or a damaged run's entry when its requests.parquet is missing or damaged
    (``rundir.recorded``): listed ``damaged`` with the line saying which file and how many
    requests the run recorded, its row's numbers still from summary.json (trial 7, F5)."""
    from benchctl.rundir import DAMAGED
    from benchctl.rundir.recorded import requests_problem

    if info.get("status") == DAMAGED or (problem := requests_problem(run_dir.path, info)) is None:
        return info
    return {
        **info,
        "status": DAMAGED,
        "damage": f"{problem}; the row's numbers are from summary.json",
    }


def warmup_only_line(run_dir: RunDir) -> str | None:
    """A line for a run whose table row reads "reqs 0" though requests were sent: the
    columns count requests after the warm-up, and it had none (interrupted in warm-up),
    e.g. "RUN: reqs 0 counts requests after the warm-up; 79 were sent during it". None
    when it has requests after warm-up, none in warm-up, or no readable summary.json."""
    from benchctl.rundir import read_summary

    summary = read_summary(run_dir.path).data
    if not isinstance(summary, dict):
        return None
    overall, phases = summary.get("overall"), summary.get("phases")
    if not isinstance(overall, dict) or not isinstance(phases, dict) or overall.get("sent"):
        return None
    warmup = phases.get("warmup")
    sent = warmup.get("sent") if isinstance(warmup, dict) else None
    if not isinstance(sent, int) or isinstance(sent, bool) or sent <= 0:
        return None
    return (
        f"{run_dir.name}: reqs 0 counts requests after the warm-up (rates and percentiles "
        f"too); {sent:,} were sent during the warm-up"
    )
