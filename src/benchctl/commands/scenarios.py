"""``benchctl scenarios``: the scenarios there are (built-in and ``--config-dir``)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from benchctl.commands.options import add_config_dir, each_file, source_label
from benchctl.durations import format_duration

if TYPE_CHECKING:
    from rich.console import Console

NAME = "scenarios"
HELP = "list scenarios"
EPILOG = None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``--config-dir``: a folder whose scenarios/ override the built-ins."""
    add_config_dir(parser)


def run_from_args(args: argparse.Namespace, console: Console) -> int:
    """Print one row per scenario (name, kind, duration, first sentence, source); a
    scenario that does not load is a row marked invalid with its error. Returns 0."""
    from benchctl.plan.shapes import plan_scenario
    from benchctl.reports.terminal.listings import scenarios_table

    def describe(scenario: Any) -> tuple[str, str, str]:
        """(kind, planned duration, first sentence of the description)."""
        duration = format_duration(plan_scenario(scenario).duration)
        return scenario.kind, duration, scenario.description.split(". ")[0].rstrip(".")

    rows = []
    for name, path, found, error in each_file("scenarios", args.config_dir, describe):
        if found is None:
            rows.append((name, None, "", error, str(path)))
        else:
            kind, duration, summary = found
            rows.append((name, kind, duration, summary, source_label(path)))
    console.print(scenarios_table(rows))
    return 0
