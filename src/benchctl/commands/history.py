"""``benchctl history``: the trend of key numbers over a folder of runs, and change points."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchctl import arguments

if TYPE_CHECKING:
    from rich.console import Console

NAME = "history"
HELP = "trend of key numbers over runs"
EPILOG = """\
examples:
  benchctl history nightly-runs/                        # table, change points, history.html
  benchctl history runs/ --scenario step --target kserve
  benchctl history nightly-runs/ --json history.json -o reports/history.html
"""
RUNS_DIR = "a folder of run directories, e.g. runs"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The folder, output files, filters and the change points' significance."""
    parser.add_argument("runs_dir", type=arguments.existing_dir, metavar="DIR", help=RUNS_DIR)
    parser.add_argument(
        "-o", "--output", type=arguments.output_file, help="default: DIR/history.html"
    )
    parser.add_argument("--scenario", help="only runs of this scenario")
    parser.add_argument("--target", help="only runs on this target")
    parser.add_argument(
        "--max-pvalue",
        type=arguments.p_value,
        default=0.001,
        metavar="P",
        help="change points: significance, 0 < P < 1 (default 0.001, as Apache Otava)",
    )
    parser.add_argument(
        "--json", type=arguments.output_file, metavar="JSON", help="runs and change points"
    )


def run_from_args(args: argparse.Namespace, console: Console) -> int:
    """Write history.html (and ``--json``), then print the runs' table and change points
    (a reader leaving stdout early, ``| head -1``, cannot cost the files). Returns 0.
    No run in DIR, or none of ``--scenario``/``--target``, is an empty answer as in
    ``benchctl runs`` (a line naming the series there, nothing written, exit 0), not an
    error: the selection is valid, it just holds no run yet."""
    from benchctl.reports import history as h
    from benchctl.reports.terminal.console import print_path, print_written, reader_may_leave
    from benchctl.reports.terminal.history import print_history
    from benchctl.rundir import list_runs

    runs = list_runs(args.runs_dir)
    rows = h.history_rows(runs, scenario=args.scenario, target=args.target)
    if not rows:
        console.print(no_runs_line(args.runs_dir, args.scenario, args.target, runs), markup=False)
        return 0
    shifts = h.history_shifts(rows, max_pvalue=args.max_pvalue)
    output = args.output or args.runs_dir / "history.html"
    page = h.write_history(rows, output=output, shifts=shifts)  # files first: `| head`
    written = [h.write_history_json(rows, shifts, output=args.json)] if args.json else []
    with reader_may_leave():
        print_history(console, rows, shifts, args.max_pvalue)
        print_path(console, "history", page)
        print_written(console, written)
    return 0


def no_runs_line(
    runs_dir: Path, scenario: str | None, target: str | None, runs: list[tuple[Any, dict]]
) -> str:
    """The answer when no run matches: which selection, where, the series that are there
    (``<scenario> on <target>``, from ``runs``: list_runs's pairs) and that nothing was
    written."""
    from benchctl.reports.history import run_names

    wanted = " and ".join(
        f"{k} {v!r}" for k, v in (("scenario", scenario), ("target", target)) if v
    )
    series = sorted({" on ".join(run_names(info)) for _, info in runs})
    there = f"; its runs: {', '.join(series)}" if series else " yet"
    return f"no runs{' of ' + wanted if wanted else ''} in {runs_dir}/{there}; nothing written"
