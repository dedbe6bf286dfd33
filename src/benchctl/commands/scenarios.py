"""``benchctl scenarios``: the scenarios there are (built-in and ``--config-dir``)."""

from __future__ import annotations

import argparse

from rich.console import Console

from benchctl import arguments
from benchctl.commands.options import source_label
from benchctl.config import available, load_scenario
from benchctl.durations import format_duration
from benchctl.errors import BenchctlError

NAME = "scenarios"
HELP = "list scenarios"
EPILOG = None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``--config-dir``: a folder whose scenarios/ override the built-ins."""
    parser.add_argument("--config-dir", type=arguments.existing_dir)


def run_from_args(args: argparse.Namespace, console: Console) -> int:
    """Print one row per scenario (name, kind, duration, first sentence, source); a
    scenario that does not load is a row marked invalid with its error. Returns 0."""
    from benchctl.display import scenarios_table
    from benchctl.load.shapes import plan_scenario

    rows = []
    for name, path in sorted(available("scenarios", args.config_dir).items()):
        try:
            scenario, _ = load_scenario(str(path))
            duration = format_duration(plan_scenario(scenario).duration)
            summary = scenario.description.split(". ")[0].rstrip(".")
            rows.append((name, scenario.kind, duration, summary, source_label(path)))
        except BenchctlError as exc:
            rows.append((name, None, "", str(exc), str(path)))
    console.print(scenarios_table(rows))
    return 0
