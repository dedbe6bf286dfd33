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
    """Write the report, print its path (after a warning when its numbers were rebuilt from
    requests.parquet, ``rebuilt_summary_warning``), open it when asked; returns 0. Raises what
    ``RunDir.open`` raises for a folder that is not a run, and InputError for a run still
    in progress (its report would show nothing and go stale)."""
    from benchctl.reports.terminal.console import print_path, print_warning
    from benchctl.rundir import RUN_JSON, RunDir
    from benchctl.rundir.recorded import refuse_in_progress

    run = RunDir.open(args.run_dir)  # a run its killed owner left running is recovered
    refuse_in_progress(run.path, run.read_json(RUN_JSON), "report")
    path = write_report(args.run_dir, args.output)
    if (note := rebuilt_summary_warning(args.run_dir)) is not None:
        print_warning(console, note)
    print_path(console, "report", path)
    if args.open:
        import webbrowser

        webbrowser.open(path.resolve().as_uri())
    return 0


def rebuilt_summary_warning(run_dir: Path) -> str | None:
    """The line ``compare`` prints for the same run, when the report's numbers come from
    requests.parquet because summary.json is absent, damaged or not an object: "RUN:
    summary.json is damaged (...): its numbers were computed from requests.parquet". None
    when summary.json was read or requests.parquet holds no row to compute them from."""
    from benchctl.errors import DamagedFileError
    from benchctl.rundir import REQUESTS, SUMMARY, read_summary
    from benchctl.rundir.reader import parquet_rows

    read = read_summary(run_dir)
    if read.data is not None or not (run_dir / REQUESTS).is_file():
        return None
    try:
        if parquet_rows(run_dir / REQUESTS) == 0:
            return None
    except (DamagedFileError, OSError):
        return None
    return f"{run_dir}: {SUMMARY} {read.why_not_read()}: its numbers were computed from {REQUESTS}"
