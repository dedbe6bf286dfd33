"""``benchctl telemetry RUN`` on the terminal: the table of sampled metrics and the notes
under it (self-check, server stages, sampler errors)."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text

from benchctl.telemetry.summary import WARNING, TelemetrySummary

_STYLE = {WARNING: "yellow"}  # every other note is dim


def telemetry_view(summary: TelemetrySummary) -> Group:
    """``summary`` as a table (per metric: mean, p95, max, unit; the server's request count
    and the requests sent, when the server counted requests) and a line per note (warnings
    in yellow, details dim); a run without telemetry is the one line saying so."""
    if summary.missing is not None:
        return Group(Text(summary.missing))
    parts: list = [_metrics_table(summary)]
    parts += [Text(note.text, style=_STYLE.get(note.kind, "dim")) for note in summary.notes]
    return Group(*parts)


def _metrics_table(summary: TelemetrySummary) -> Table:
    """The table of the run: per metric, mean, p95 and max in its unit; then the server's
    request count over the run and the requests sent, when the server counted requests."""
    table = Table(
        title=f"telemetry of {summary.name} (per {summary.window_s:g} s window)",
        title_justify="left",
    )
    for column in ("metric", "mean", "p95", "max", "unit"):
        table.add_column(column, justify="left" if column in ("metric", "unit") else "right")
    for row in summary.metrics:
        table.add_row(row.label, f"{row.mean:,.1f}", f"{row.p95:,.1f}", f"{row.max:,.1f}", row.unit)
    if summary.server_requests is not None:
        total, arm = summary.server_requests, f" ({summary.scope})" if summary.scope else ""
        table.add_row(f"server-side requests finished{arm}", f"{total:,.0f}", "", "", "total")
        if summary.sent is not None:
            sent = f"requests sent by benchctl{f' to {summary.scope}' if arm else ''}"
            table.add_row(sent, f"{summary.sent:,}", "", "", "total")
    return table
