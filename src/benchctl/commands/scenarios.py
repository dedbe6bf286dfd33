"""``benchctl scenarios``: the scenarios there are (built-in and ``--config-dir``)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from benchctl.commands.listing import add_arguments as add_arguments
from benchctl.commands.listing import print_listing
from benchctl.durations import format_duration

if TYPE_CHECKING:
    from rich.console import Console

NAME = "scenarios"
HELP = "list scenarios"
EPILOG = None


def run_from_args(args: argparse.Namespace, console: Console) -> int:
    """Print one row per scenario (name, kind, duration, first sentence, source); a
    scenario that does not load is a row marked invalid with its error. Returns 0."""
    from benchctl.reports.terminal.listings import scenarios_table

    return print_listing(console, "scenarios", args.config_dir, _describe, scenarios_table, cells=3)


def _describe(scenario: Any) -> tuple[str, str, str]:
    """(kind, planned duration, first sentence of the description)."""
    from benchctl.plan.shapes import plan_scenario

    duration = format_duration(plan_scenario(scenario).duration)
    return scenario.kind, duration, scenario.description.split(". ")[0].rstrip(".")
