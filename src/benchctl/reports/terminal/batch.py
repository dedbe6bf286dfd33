"""A batch sweep on the terminal: the heading of each setting's run, one row per (batch size,
concurrency) setting, the best setting and where the sweep was written."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from benchctl.amounts import amount_text
from benchctl.durations import format_duration


def print_sweep_plan(
    console: Console, name: str, description: str, scenario: Any, time_scale: float
) -> None:
    """``run batch --dry-run`` for a sweep: every (batch size, concurrency) setting in
    order, one run each, the requests each sends (ceil(inputs / batch size)) and the
    longest the sweep may take (max_duration x time scale per setting)."""
    settings = scenario.settings()
    each = scenario.max_duration * time_scale
    console.print(f"[bold]{name}[/]: {description}".rstrip(": "))
    console.print(
        f"a sweep of {len(settings)} settings, one run each, in this order: "
        + ", ".join(f"b={size} c={concurrency}" for size, concurrency in settings)
        + f"; each sends the set of {scenario.inputs:,} inputs ("
        + ", ".join(
            f"{scenario.requests_for(size):,} requests at b={size}"
            for size in dict.fromkeys(size for size, _ in settings)
        )
        + f") and stops when it is sent or after {format_duration(each)}: at most "
        + f"{format_duration(each * len(settings))} in all",
        highlight=False,
    )


def print_batch_setting(console: Console, size: int, concurrency: int) -> None:
    """The heading of one setting of a batch sweep, before its run."""
    console.print(f"[bold]batch setting: batch size {size}, concurrency {concurrency}[/]")


def print_sweep(
    console: Console, rows: list[dict[str, Any]], best: dict[str, Any] | None, path: Path
) -> None:
    """The sweep's table of ``rows`` (summary.json ``batch`` per setting), the ``best``
    setting (most inferences per second among those that finished the set; None when none
    did) and the sweep file's ``path``."""
    console.print(sweep_table(rows))
    if best is not None:
        console.print(
            f"best setting: batch size {best['batch_size']}, concurrency {best['concurrency']}"
            f": {best['inferences_per_s']:,.0f} inferences/s, the set in "
            f"{best['time_to_finish_s']:.2f} s",
            highlight=False,
        )
    console.print(f"sweep: {path}", highlight=False)


def sweep_table(rows: list[dict[str, Any]]) -> Table:
    """Batch size x concurrency: inferences/s, time to finish the set, cost, server batch."""
    table = Table(title="batch sweep")
    for name in ("batch", "conc.", "inferences/s", "set in s", "$/M inferences", "server batch"):
        table.add_column(name, justify="right")
    for r in rows:
        rate, seconds = r.get("inferences_per_s"), r.get("time_to_finish_s")
        cost, mean = r.get("cost_per_million_inferences"), r.get("server_mean_batch")
        table.add_row(
            str(r.get("batch_size")),
            str(r.get("concurrency")),
            f"{rate:,.0f}" if rate else "—",
            f"{seconds:.2f}" if seconds else "—",
            amount_text(cost) if cost else "—",
            f"{mean:.1f}" if mean else "—",
        )
    return table
