"""A batch sweep on the terminal: the heading of each setting's run, one row per (batch size,
concurrency) setting, the best setting and where the sweep was written."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table


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
            f"{cost:.4f}" if cost else "—",
            f"{mean:.1f}" if mean else "—",
        )
    return table
