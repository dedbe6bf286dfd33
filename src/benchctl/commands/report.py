"""``benchctl report``: one self-contained HTML report of a run."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from benchctl import arguments
from benchctl.commands.options import RUN_HELP, write_report

if TYPE_CHECKING:
    from rich.console import Console

NAME = "report"
HELP = "write a self-contained HTML report"
EPILOG = """\
examples:
  benchctl report runs/<id>                       # writes runs/<id>/report.html
  benchctl report runs/<id> -o reports/run.html   # elsewhere (reports/ must exist)
  benchctl report runs/<id> --open                # and open it in a browser
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The run, ``-o/--output`` and ``--open``."""
    parser.add_argument("run_dir", type=Path, metavar="RUN", help=RUN_HELP)
    parser.add_argument(
        "-o", "--output", type=arguments.output_file, help="default: RUN/report.html"
    )
    parser.add_argument("--open", action="store_true", help="open it in a browser")


def run_from_args(args: argparse.Namespace, console: Console) -> int:
    """Write the report, print its path, open it when asked; returns 0. Raises what
    ``RunDir.open`` raises for a folder that is not a run, and InputError for a run still
    in progress (its report would show nothing and go stale)."""
    from benchctl.reports.terminal.console import print_path
    from benchctl.rundir import RUN_JSON, RunDir
    from benchctl.rundir.recorded import refuse_in_progress

    run = RunDir.open(args.run_dir)  # a run its killed owner left running is recovered
    refuse_in_progress(run.path, run.read_json(RUN_JSON), "report")
    path = write_report(args.run_dir, args.output)
    print_path(console, "report", path)
    if args.open:
        import webbrowser

        webbrowser.open(path.resolve().as_uri())
    return 0
