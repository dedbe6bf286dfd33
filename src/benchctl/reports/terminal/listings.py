"""The listing screens: ``benchctl runs``, ``benchctl scenarios`` and ``benchctl targets``."""

from __future__ import annotations

from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from benchctl.reports.terminal.cells import number

_INVALID = "[red]invalid[/]"


def print_runs(
    console: Console, rows: list[tuple[str, dict[str, Any], dict[str, Any]]], runs_dir: Any
) -> None:
    """``benchctl runs``: the table of ``rows`` (see :func:`runs_table`) and one red line
    per damaged run; with no rows, a hint to start one in ``runs_dir``."""
    if not rows:
        console.print(
            f"no runs in {runs_dir}/ yet: try `benchctl run spike --target "
            "kserve --launch --time-scale 0.1`"
        )
        return
    table, damaged = runs_table(rows, title=f"runs in {runs_dir}/")
    console.print(table)
    for line in damaged:
        console.print(f"[red]damaged:[/] {line}", highlight=False, soft_wrap=True)


def runs_table(
    rows: list[tuple[str, dict[str, Any], dict[str, Any]]], *, title: str
) -> tuple[Table, list[str]]:
    """The ``benchctl runs`` table, readable at 80 columns (long run names wrap), and one
    line per damaged run saying what is wrong.

    ``rows``: (run name, run.json content, summary.json's ``overall``) per run; a damaged
    run has ``{"status": "damaged", "damage": "<one line>"}`` as run.json content."""
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, padding=(0, 1))
    table.add_column("run", overflow="fold", ratio=1, min_width=16)
    table.add_column("status", no_wrap=True)
    for column in ("reqs", "rps", "p50 ms", "p99 ms", "err"):
        table.add_column(column, justify="right", no_wrap=True)
    table.add_column("flags", overflow="fold")
    damaged = []
    for name, info, overall in rows:
        latency = overall.get("latency_ms") if isinstance(overall.get("latency_ms"), dict) else {}
        generator = info.get("generator") if isinstance(info.get("generator"), dict) else {}
        status = str(info.get("status") or "?")
        if status == "damaged":
            damaged.append(f"{name}: {info.get('damage', 'run.json unreadable')}")
        style = {"completed": "green", "interrupted": "yellow"}.get(status, "red")
        table.add_row(
            name,
            Text(status, style=style if status != "running" else ""),
            number(_number(overall.get("requests")), 0),
            number(_number(overall.get("throughput_rps"))),
            number(_number(latency.get("p50"))),
            number(_number(latency.get("p99"))),
            number(_number(overall.get("errors")), 0),
            "saturated" if generator.get("saturated") else "",
        )
    return table, damaged


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def scenarios_table(rows: list[tuple[str, str | None, str, str, str]]) -> Table:
    """The ``benchctl scenarios`` table. ``rows``: (name, kind, duration, description,
    source) per scenario; kind None marks a scenario that does not load (its error in the
    description column)."""
    table = Table(title="scenarios (run with: benchctl run NAME --target T)", title_justify="left")
    for column in ("name", "kind", "duration", "description", "source"):
        table.add_column(column)
    for name, kind, *rest in rows:
        table.add_row(name, _INVALID if kind is None else kind, *rest)
    return table


def targets_table(rows: list[tuple[str, str | None, str, str, str, str]]) -> Table:
    """The ``benchctl targets`` table, readable at 80 columns (long cells wrap, nothing is
    cut). ``rows``: (name, kind, protocol, address, model, source) per profile; kind None
    marks a profile that does not load (its error in the model column)."""
    table = Table(
        title="targets (use with: benchctl run SCENARIO --target NAME)",
        title_justify="left",
        box=box.SIMPLE_HEAD,
    )
    for column in ("name", "kind", "protocol", "address", "model", "source"):
        table.add_column(column, overflow="fold")
    for name, kind, *rest in rows:
        table.add_row(name, _INVALID if kind is None else kind, *rest)
    return table
