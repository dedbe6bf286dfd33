"""The listing screens: ``benchctl runs``, ``benchctl scenarios`` and ``benchctl targets``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from benchctl.reports.terminal.cells import number

if TYPE_CHECKING:
    from benchctl.analysis.listed_capacity import ListedCapacity

_INVALID = "[red]invalid[/]"


def print_runs(
    console: Console,
    rows: list[tuple[str, dict[str, Any], dict[str, Any]]],
    runs_dir: Any,
    capacities: Mapping[str, ListedCapacity] | None = None,
) -> None:
    """``benchctl runs``: the table of ``rows`` and ``capacities`` (see :func:`runs_table`)
    and one red line per damaged run; with no rows, a hint to start one in ``runs_dir``."""
    if not rows:
        console.print(
            f"no runs in {runs_dir}/ yet: try `benchctl run spike --target "
            "kserve --launch --time-scale 0.1`"
        )
        return
    table, damaged = runs_table(rows, title=f"runs in {runs_dir}/", capacities=capacities)
    console.print(table)
    for name, _, _ in rows:  # a line each: a sentence does not fit a cell at 80 columns
        if (listed := (capacities or {}).get(name)) is not None:
            console.print(escape(f"{name}: {listed.text}"), highlight=False)
    for line in damaged:
        console.print(f"[red]damaged:[/] {line}", highlight=False, soft_wrap=True)


def runs_table(
    rows: list[tuple[str, dict[str, Any], dict[str, Any]]],
    *,
    title: str,
    capacities: Mapping[str, ListedCapacity] | None = None,
) -> tuple[Table, list[str]]:
    """The ``benchctl runs`` table, readable at 80 columns (long run names wrap), and one
    line per damaged run saying what is wrong.

    ``rows``: (run name, run.json content, summary.json's ``overall``) per run; a damaged
    run has ``{"status": "damaged", "damage": "<one line>"}`` as run.json content.
    ``capacities``: run name -> its listed capacity (``analysis.listed_capacity``; the
    figure is printed under the table, ``print_runs``): a capacity search is flagged
    ``search`` and its p50/p99 cells are "—" (pooled over every level it tried, they mean
    nothing). Requests the generator dropped (summary ``dropped``) have their own column
    and a flag with their share of the requests."""
    table = Table(
        title=title,
        title_justify="left",
        box=box.SIMPLE_HEAD,
        padding=(0, 1),
        collapse_padding=True,
    )
    table.add_column("run", overflow="fold", ratio=1, min_width=16)
    table.add_column("status", no_wrap=True)
    for column in ("reqs", "rps", "p50 ms", "p99 ms", "err", "drop"):
        table.add_column(column, justify="right", no_wrap=True)
    table.add_column("flags", overflow="fold", min_width=7)
    damaged = []
    for name, info, overall in rows:
        latency = overall.get("latency_ms") if isinstance(overall.get("latency_ms"), dict) else {}
        status = str(info.get("status") or "?")
        if status == "damaged":
            damaged.append(f"{name}: {info.get('damage', 'run.json unreadable')}")
        style = {"completed": "green", "interrupted": "yellow"}.get(status, "red")
        listed = (capacities or {}).get(name)
        pooled = listed is not None and listed.search  # a search: no pooled percentile
        table.add_row(
            name,
            Text(status, style=style if status != "running" else ""),
            number(_number(overall.get("requests")), 0),
            number(_number(overall.get("throughput_rps"))),
            "—" if pooled else number(_number(latency.get("p50"))),
            "—" if pooled else number(_number(latency.get("p99"))),
            number(_number(overall.get("errors")), 0),
            number(_number(overall.get("dropped")), 0),
            ", ".join(_flags(info, overall, listed)),
        )
    return table, damaged


def _flags(
    info: dict[str, Any], overall: dict[str, Any], listed: ListedCapacity | None
) -> list[str]:
    """A run's flags: a capacity search (its capacity is under the table), the share of
    requests dropped, a saturated generator."""
    generator = info.get("generator") if isinstance(info.get("generator"), dict) else {}
    flags = ["search"] if listed is not None and listed.search else []
    dropped, requests = _number(overall.get("dropped")), _number(overall.get("requests"))
    if dropped and requests:
        flags.append(f"{dropped / requests:.1%} dropped")
    if generator.get("saturated"):
        flags.append("saturated")
    return flags


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
