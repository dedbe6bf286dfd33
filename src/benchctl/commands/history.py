"""``benchctl history``: the trend of key numbers over a folder of runs, and change points."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

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


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The folder, output files, filters and the change points' significance."""
    parser.add_argument(
        "runs_dir", type=Path, metavar="DIR", help="a folder of run directories, e.g. runs"
    )
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
    """Print the runs' table and change points, write history.html (and ``--json``).
    Returns 0; raises InputError for a folder without runs or a bad ``--max-pvalue``."""
    from benchctl.reports import history as h
    from benchctl.reports.terminal.console import print_path, print_written
    from benchctl.reports.terminal.history import print_history

    rows = h.load_history(args.runs_dir, scenario=args.scenario, target=args.target)
    shifts = h.history_shifts(rows, max_pvalue=args.max_pvalue)
    print_history(console, rows, shifts, args.max_pvalue)
    output = args.output or args.runs_dir / "history.html"
    print_path(console, "history", h.write_history(rows, output=output, shifts=shifts))
    if args.json:
        print_written(console, [h.write_history_json(rows, shifts, output=args.json)])
    return 0
