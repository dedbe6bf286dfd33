"""The listing screens: ``benchctl runs``, ``benchctl scenarios`` and ``benchctl targets``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from benchctl.reports.terminal.cells import number

if TYPE_CHECKING:
    from benchctl.analysis.listed_capacity import ListedCapacity

_INVALID = "[red]invalid[/]"
_RUN_MIN = 16  # the run column's width before the table goes compact on a terminal


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
    one_line = bool(getattr(console, "unwrapped_lines", False))  # off a terminal
    title = f"runs in {runs_dir}/"
    table, damaged = runs_table(rows, title=title, capacities=capacities, one_line=one_line)
    if one_line:
        print_unwrapped(console, table)
    else:
        if _natural_width(console, table, run_width=_RUN_MIN) > console.width:
            # a narrow terminal: one space between columns instead of two, so the run name
            # (the only column that wraps) keeps room and the flags stay whole at 80 columns
            table, damaged = runs_table(rows, title=title, capacities=capacities, compact=True)
            if _natural_width(console, table, run_width=8) > console.width:
                table, damaged = runs_table(
                    rows, title=title, capacities=capacities, compact=True, capacity_column=False
                )
        console.print(table)
    _print_under_table(console, rows, capacities, damaged)


def _print_under_table(
    console: Console,
    rows: list[tuple[str, dict[str, Any], dict[str, Any]]],
    capacities: Mapping[str, ListedCapacity] | None,
    damaged: list[str],
) -> None:
    """The capacity line of each run that has one, and a red line per damaged run."""
    for name, _, _ in rows:  # a line each: a sentence does not fit a cell at 80 columns
        if (listed := (capacities or {}).get(name)) is not None:
            console.print(escape(f"{name}: {listed.text}"), highlight=False)
    for line in damaged:
        console.print(f"[red]damaged:[/] {line}", highlight=False, soft_wrap=True)


def _natural_width(console: Console, table: Table, run_width: int | None = None) -> int:
    """Columns ``table`` takes unwrapped (its first column at most ``run_width`` wide)."""
    first = table.columns[0]
    saved, first.max_width = first.max_width, run_width
    try:
        return Measurement.get(console, console.options.update_width(1_000_000), table).maximum
    finally:
        first.max_width = saved


def print_unwrapped(console: Console, table: Table) -> None:
    """Print ``table`` at its natural width however narrow ``console`` is: off a terminal
    (a pipe, a CI log) a row stays one line, so ``grep`` finds a run's whole row."""
    natural = _natural_width(console, table)
    width = console.width
    console.width = max(width, natural)
    try:
        console.print(table)
    finally:
        console.width = width


def runs_table(
    rows: list[tuple[str, dict[str, Any], dict[str, Any]]],
    *,
    title: str,
    capacities: Mapping[str, ListedCapacity] | None = None,
    one_line: bool = False,
    compact: bool = False,
    capacity_column: bool = True,
) -> tuple[Table, list[str]]:
    """The ``benchctl runs`` table, readable at 80 columns (long run names wrap; the status,
    the numbers and the flags are never cut or hidden: each flag is a line of its cell),
    and one line per damaged run saying what is wrong. ``one_line`` (off a terminal): no
    cell wraps and the flags are one line, ", "-separated (print it with
    ``print_unwrapped``); ``compact``: one space between columns (a narrow terminal).

    ``rows``: (run name, run.json content, summary.json's ``overall``) per run; a damaged
    run has ``{"status": "damaged", "damage": "<one line>"}`` as run.json content.
    ``capacities``: run name -> its listed capacity (``analysis.listed_capacity``; the
    figure is printed under the table, ``print_runs``): a capacity search is flagged
    ``search`` and its p50/p99 cells are "—" (pooled over every level it tried, they mean
    nothing). Requests the generator dropped (summary ``dropped``) have their own column
    and a flag with their share of the requests. ``capacity_column``: a "capacity" column
    (req/s: capacity.json's figure, "≥" a lower bound, "<" an upper one, else "—") when any
    run has a figure; ``print_runs`` leaves it out where the table would not fit (the line
    under the table still says each capacity)."""
    figures = capacity_column and any(
        listed.cell != "—" for listed in (capacities or {}).values()
    )  # a capacity column only when some run was analyzed (capacity.json's figure)
    table = _runs_columns(title, one_line=one_line, compact=compact, figures=figures)
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
            *([listed.cell if listed is not None else "—"] if figures else []),
            (", " if one_line else "\n").join(_flags(info, overall, listed)),
        )
    return table, damaged


def _runs_columns(title: str, *, one_line: bool, compact: bool, figures: bool) -> Table:
    """The ``benchctl runs`` table's empty columns (see ``runs_table``); ``figures``: with
    the capacity column."""
    table = Table(
        title=title,
        title_justify="left",
        box=box.SIMPLE_HEAD,
        padding=(0, 0) if compact else (0, 1),
        collapse_padding=True,
    )
    narrowest = 8 if compact else _RUN_MIN  # compact: the name gives way, never the flags
    table.add_column("run", overflow="fold", ratio=1, min_width=narrowest, no_wrap=one_line)
    table.add_column("status", no_wrap=True)
    for column in ("reqs", "rps", "p50 ms", "p99 ms", "err", "drop", "capacity")[
        : None if figures else -1
    ]:
        table.add_column(column, justify="right", no_wrap=True)
    # no_wrap: only the run name shrinks; a flag is never folded mid-word nor cut
    table.add_column("flags", no_wrap=True)
    return table


def _flags(
    info: dict[str, Any], overall: dict[str, Any], listed: ListedCapacity | None
) -> list[str]:
    """A run's flags: a capacity search (its capacity is under the table), the shares of
    requests dropped and failed (errors), a saturated generator."""
    generator = info.get("generator") if isinstance(info.get("generator"), dict) else {}
    flags = ["search"] if listed is not None and listed.search else []
    flags += _split_flag(info)
    dropped, requests = _number(overall.get("dropped")), _number(overall.get("requests"))
    if dropped and requests:
        flags.append(f"{dropped / requests:.1%} dropped")
    errors = _number(overall.get("errors"))
    if errors and requests:
        flags.append(f"{errors / requests:.1%} errors")
    if generator.get("saturated"):
        flags.append("saturated")
    return flags


def _split_flag(info: dict[str, Any]) -> list[str]:
    """A split run (run.json ``arms``, not ``--shadow``): its row's numbers pool every
    arm's requests, so it is flagged "split: both arms pooled" (or "all N arms pooled")."""
    from benchctl.reports.split_labels import pooled_label, split_arm_names

    arms = split_arm_names(info)
    return [f"split: {pooled_label(len(arms))}"] if arms else []


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
