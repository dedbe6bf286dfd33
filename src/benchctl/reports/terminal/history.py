"""``benchctl history DIR`` on the terminal: the runs, oldest first, and the change points
found in their key numbers (``benchctl.reports.history`` loads both and writes the page)."""

from __future__ import annotations

from collections.abc import Sequence

from rich import box
from rich.console import Console
from rich.table import Table

from benchctl.analysis.changepoints import MAX_PVALUE
from benchctl.reports.history import HistoryRow, SeriesShift, change_text, short_series_text
from benchctl.reports.html_format import fmt_ms, fmt_pct, fmt_rps
from benchctl.rundir import COMPLETED


def print_history(
    console: Console, rows: Sequence[HistoryRow], shifts: Sequence[SeriesShift], max_pvalue: float
) -> None:
    """``benchctl history``: the table of ``rows`` and that of the change points ``shifts``
    (found at p-values up to ``max_pvalue``)."""
    console.print(history_table(rows))
    short = short_series_text(rows)  # why a series shows none: too few runs
    if shifts or not short:  # an empty table before the reason says nothing: the reason only
        console.print(shifts_table(shifts, max_pvalue))
    if short:
        console.print(short, highlight=False, markup=False)


def shifts_table(shifts: Sequence[SeriesShift], max_pvalue: float = MAX_PVALUE) -> Table:
    """One row per change point: series, metric, first run after it, before -> after."""
    table = Table(
        title=f"change points (E-Divisive means, p <= {max_pvalue:g}): {len(shifts)}",
        title_justify="left",
        box=box.SIMPLE_HEAD,  # readable at 80 columns: cells wrap, none is cut
        padding=0,  # the box's blank column separator is the only gap needed
    )
    for head in ("series", "metric", "from run", "commit/label or start", "before", "after"):
        right = head in ("before", "after")
        wraps = head in ("from run", "commit/label or start")
        table.add_column(
            head,
            justify="right" if right else "left",
            overflow="fold",
            no_wrap=not wraps,
            min_width=12 if wraps else None,
        )
    table.add_column("change", justify="right", overflow="fold")
    table.add_column("p-value", justify="right", overflow="fold")
    table.add_column("", overflow="fold")
    for item in shifts:
        shift = item.shift
        table.add_row(
            item.series,
            shift.metric,
            shift.run,
            shift.label or shift.started,
            _metric_text(shift.metric, shift.before),
            _metric_text(shift.metric, shift.after),
            change_text(shift),
            f"{shift.pvalue:.2g}",
            "[red]worse[/]" if shift.regression else "[green]better[/]",
        )
    return table


def _metric_text(metric: str, value: float) -> str:
    if metric == "error_rate":
        return fmt_pct(value)
    return fmt_rps(value) if metric == "throughput_rps" else fmt_ms(value)


def history_table(rows: Sequence[HistoryRow]) -> Table:
    """The runs of ``benchctl history`` as a terminal table, oldest first, readable at 80
    columns: per run its id, scenario, target, status, rps, p50 and p99 (ms), error rate and
    flags; runs not completed in yellow."""
    table = Table(
        title=f"history of {len(rows)} runs (oldest first)",
        title_justify="left",
        box=box.SIMPLE_HEAD,  # readable at 80 columns: cells wrap, none is cut
        padding=0,  # the box's blank column separator is the only gap needed
    )
    for head in ("run", "scenario", "target", "status", "rps", "p50 ms", "p99 ms", "errors"):
        right = head.endswith(("ms", "rps"))
        table.add_column(
            head,
            justify="right" if right else "left",
            overflow="fold",
            no_wrap=head != "run",
            min_width=18 if head == "run" else None,
        )
    table.add_column("flags", overflow="fold", min_width=9)
    for row in rows:
        style = "" if row.status == COMPLETED else "yellow"
        table.add_row(
            row.id,
            row.scenario,
            row.target,
            f"[{style}]{row.status}[/]" if style else row.status,
            fmt_rps(row.throughput_rps),
            fmt_ms(row.p50_ms),
            fmt_ms(row.p99_ms),
            fmt_pct(row.error_rate),
            f"[red]{row.flags}[/]" if row.flags else "",
        )
    return table
