"""``benchctl compare``: runs side by side in one HTML page."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console

from benchctl import arguments
from benchctl.commands.options import RUN_HELP

NAME = "compare"
HELP = "compare runs side by side (HTML)"
EPILOG = None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Runs, ``--slo`` and ``-o/--output``."""
    parser.add_argument("run_dirs", type=Path, nargs="+", metavar="RUN", help=RUN_HELP)
    parser.add_argument("--slo", help='latency objective, quoted: e.g. --slo "p99<=200ms"')
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
    from rich.markup import escape

    from benchctl.reports.compare import compare_table, ranking_lines, write_compare

    comparison = write_compare(args.run_dirs, slo=args.slo, output=args.output)
    console.print(compare_table(comparison))
    for line in ranking_lines(comparison):
        console.print(line, highlight=False)
    for text in [*comparison.notes, *(f"not comparable: {d}" for d in comparison.differences)]:
        console.print(f"[yellow]warning:[/] {escape(text)}", highlight=False)
    console.print(f"comparison: [bold]{comparison.output}[/]")
    return 0
