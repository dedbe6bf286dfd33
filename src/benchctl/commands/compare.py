"""``benchctl compare``: runs side by side in one HTML page."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from benchctl import arguments
from benchctl.commands import flag_values
from benchctl.commands.options import RUN_HELP

if TYPE_CHECKING:
    from rich.console import Console

NAME = "compare"
HELP = "compare runs side by side (HTML)"
EPILOG = """\
examples:
  benchctl compare runs/<kserve run> runs/<triton run> --slo "p99<=200ms"
  benchctl compare runs/<id>@stable runs/<id>@canary   # two arms of one --split run
  benchctl compare runs/<a> runs/<b> -o reports/a_vs_b.html

RUN@ARM is one arm of a split run (`benchctl run --split`): its requests only.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Runs, ``--slo`` and ``-o/--output``."""
    parser.add_argument(
        "run_dirs",
        type=Path,
        nargs="+",
        metavar="RUN",
        help=f"{RUN_HELP}, or RUN@ARM: one arm of a split run",
    )
    parser.add_argument("--slo", type=flag_values.slo, help=flag_values.SLO_HELP)
    parser.add_argument(
        "-o",
        "--output",
        type=arguments.output_file,
        help="the page to write (default: in the last run's folder, named after the runs: "
        "RUN_B/compare-A_vs_B.html); never through a symlink",
    )


def run_from_args(args: argparse.Namespace, console: Console) -> int:
    """Write the comparison page; print the table, the ranking, each warning and the page's
    path. Returns 0; raises InputError for a folder that is not a run or a bad SLO."""
    from benchctl.reports.compare import write_compare
    from benchctl.reports.terminal.compare import print_comparison

    print_comparison(console, write_compare(args.run_dirs, slo=args.slo, output=args.output))
    return 0
