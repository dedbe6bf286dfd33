"""``benchctl gate``: pass/fail a candidate run against a baseline (exit 1 on a regression)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from benchctl import arguments
from benchctl.commands import flag_values

if TYPE_CHECKING:
    from rich.console import Console

NAME = "gate"
HELP = "pass/fail a candidate run against a baseline (exit 1 on a regression)"
EPILOG = (
    "examples:\n  benchctl gate --baseline nightly-runs/ --candidate runs/<id> "
    "--rules examples/gate.yaml --junit gate.xml --markdown gate.md\n"
    "  benchctl gate --baseline runs/<id>@stable --candidate runs/<id>@canary "
    "--rules gate.yaml\n\n"
    "RUN@ARM is one arm of a split run (`benchctl run --split`): its requests only."
)


def gate_example_path() -> Path | None:
    """The example gate rules as an absolute path that exists: the installed package's data
    (``benchctl/_data/examples/gate.yaml``), else the source checkout's
    ``examples/gate.yaml``; None when neither is there."""
    here = Path(__file__).resolve().parents[1]
    for path in (
        here / "_data" / "examples" / "gate.yaml",
        here.parents[1] / "examples" / "gate.yaml",
    ):
        if path.is_file():
            return path
    return None


def gate_example() -> str:
    """Where the example gate rules are (``gate_example_path``), or a sentence when they
    are nowhere on this machine."""
    path = gate_example_path()
    return str(path) if path else "examples/gate.yaml in the benchctl source"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Baseline, candidate(s), rules, and the files to write (JUnit, Markdown, JSON)."""
    parser.add_argument(
        "--baseline",
        required=True,
        type=flag_values.run_or_folder,
        metavar="RUN_OR_DIR",
        help="a run directory (or RUN@ARM), or a folder of past runs (same scenario and "
        "target are used)",
    )
    parser.add_argument(
        "--candidate",
        required=True,
        type=flag_values.run_or_folder,
        action="append",
        metavar="RUN",
        help="run to judge (or RUN@ARM), or a folder of runs; repeat for several runs of "
        "the candidate",
    )
    parser.add_argument(
        "--rules",
        required=True,
        type=flag_values.existing_file,
        metavar="YAML",
        help=f"the gate's rules; an annotated example: {gate_example()}",
    )
    for flag, metavar, text in (
        ("--junit", "XML", "JUnit XML, one test per rule"),
        ("--markdown", "MD", "summary for a CI job page"),
        ("--json", "JSON", "every number, as JSON"),
    ):
        parser.add_argument(flag, type=arguments.output_file, metavar=metavar, help=text)
    parser.add_argument(
        "--last",
        type=arguments.positive_count,
        metavar="K",
        help="with a folder as --baseline: pool its last K usable runs (default: the rules "
        "file's baseline.last, 5 unless set)",
    )


def run_from_args(args: argparse.Namespace, console: Console) -> int:
    """Judge the candidate against the baseline by the rules, write the files asked for,
    then print the table and warnings. Returns 0 when every rule passed, 1 on a regression
    (the verdict: also when stdout's reader left early, ``| head -1``, since the files are
    written first and the printing is ``reader_may_leave``); raises InputError (exit 2)
    for bad rules or runs that cannot be compared."""
    from benchctl.analysis.gate import gate
    from benchctl.analysis.gate_report import write_gate_outputs
    from benchctl.reports.terminal.console import print_written, reader_may_leave
    from benchctl.reports.terminal.gate import print_gate

    result = gate(
        baseline=args.baseline, candidate=args.candidate, rules=args.rules, last=args.last
    )
    outputs = write_gate_outputs(
        result, junit=args.junit, markdown=args.markdown, json_path=args.json
    )
    with reader_may_leave():
        print_gate(console, result)
        print_written(console, outputs)
    return 0 if result.passed else 1
