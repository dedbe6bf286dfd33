"""``benchctl history DIR``: the trend of key numbers over the runs in a folder, by start time.

p50/p99, throughput, error rate and the generator-saturated flag of every run (from its
summary.json), as a terminal table and a self-contained HTML page with one line per
scenario and target.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from rich.table import Table

from benchctl.analysis.gate import run_key, started
from benchctl.errors import InputError
from benchctl.reports import figures
from benchctl.reports.compare import COLORS, write_page
from benchctl.reports.html import Banner, FigureView, _environment, fmt_ms, fmt_pct, fmt_rps
from benchctl.store import COMPLETED, SUMMARY, list_runs

HISTORY_TEMPLATE = "history.html.j2"
SATURATED = "generator_saturated"


@dataclass(frozen=True)
class HistoryRow:
    """One run's key numbers (None where its summary.json has none)."""

    id: str
    started: str
    scenario: str
    target: str
    status: str
    requests: int | None
    throughput_rps: float | None
    p50_ms: float | None
    p99_ms: float | None
    error_rate: float | None
    saturated: bool

    @property
    def series(self) -> str:
        return f"{self.scenario} on {self.target}"

    @property
    def flags(self) -> str:
        return SATURATED if self.saturated else ""


def load_history(
    runs_dir: Path, *, scenario: str | None = None, target: str | None = None
) -> list[HistoryRow]:
    """The runs in ``runs_dir`` (optionally one scenario and/or target), oldest first."""
    runs_dir = Path(runs_dir)
    if not runs_dir.is_dir():
        raise InputError(f"{runs_dir}: no such folder of runs")
    rows = []
    for run_dir, info in list_runs(runs_dir):
        name, server = run_key(info)
        if (scenario and name != scenario) or (target and server != target):
            continue
        rows.append(_row(run_dir.path, info))
    if not rows:
        wanted = " ".join(
            f"{k} {v!r}" for k, v in (("scenario", scenario), ("target", target)) if v
        )
        raise InputError(f"{runs_dir}: no runs{' of ' + wanted if wanted else ''}")
    return sorted(rows, key=lambda row: row.started)


def _row(path: Path, info: dict[str, Any]) -> HistoryRow:
    try:
        summary = json.loads((path / SUMMARY).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        summary = {}
    overall = summary.get("overall") if isinstance(summary, dict) else None
    overall = overall if isinstance(overall, dict) else {}
    latency = overall.get("latency_ms") if isinstance(overall.get("latency_ms"), dict) else {}
    generator = info.get("generator") if isinstance(info.get("generator"), dict) else {}
    scenario, target = run_key(info)
    return HistoryRow(
        id=str(info.get("id") or path.name),
        started=started(info, path),
        scenario=scenario,
        target=target,
        status=str(info.get("status") or "unknown"),
        requests=overall.get("requests"),
        throughput_rps=overall.get("throughput_rps"),
        p50_ms=latency.get("p50"),
        p99_ms=latency.get("p99"),
        error_rate=overall.get("error_rate"),
        saturated=bool(generator.get("saturated") or info.get(SATURATED)),
    )


def history_table(rows: Sequence[HistoryRow]) -> Table:
    table = Table(title=f"history of {len(rows)} runs (oldest first)", title_justify="left")
    for head in ("run", "scenario", "target", "status", "rps", "p50 ms", "p99 ms", "errors"):
        table.add_column(head, justify="right" if head.endswith(("ms", "rps")) else "left")
    table.add_column("flags")
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


def write_history(rows: Sequence[HistoryRow], *, output: Path) -> Path:
    """Render the trend page to ``output`` (atomically)."""
    series = sorted({row.series for row in rows})
    banners = []
    saturated = [row.id for row in rows if row.saturated]
    if saturated:
        text = (
            f" In {len(saturated)} run(s) the load generator ran out of CPU (marked ✕): their "
            f"latencies are partly the generator's: {', '.join(saturated)}."
        )
        banners.append(Banner("generator-saturated", "warn", "Generator saturated", text))
    page = (
        _environment()
        .get_template(HISTORY_TEMPLATE)
        .render(
            title=f"History of {len(rows)} runs",
            series=series,
            banners=banners,
            rows=rows,
            figures=_figures(rows, series),
        )
    )
    write_page(Path(output), page)
    return Path(output)


# --------------------------------------------------------------------------- figures


def _figures(rows: Sequence[HistoryRow], series: Sequence[str]) -> list[FigureView]:
    panels = [
        ("Latency", "history-latency", ("p99_ms", "p50_ms"), "latency (ms)"),
        ("Throughput", "history-rps", ("throughput_rps",), "successful requests / s"),
        ("Error rate", "history-errors", ("error_rate",), "error rate (%)"),
    ]
    caption = (
        "One point per run, oldest to newest; one colour per scenario and target. "
        "✕: generator saturated; hollow: run not completed."
    )
    return [
        FigureView(title, _trend(rows, series, fields, label, prefix, title), caption)
        for title, prefix, fields, label in panels
    ]


def _trend(
    rows: Sequence[HistoryRow],
    series: Sequence[str],
    fields: Sequence[str],
    label: str,
    prefix: str,
    title: str,
) -> str:
    fig, ax = figures._figure()
    for index, name in enumerate(series):
        color = COLORS[index % len(COLORS)]
        members = [(i, row) for i, row in enumerate(rows) if row.series == name]
        for field, style in zip(fields, ("-", "--"), strict=False):
            x = np.array([i for i, _ in members], dtype=float)
            y = np.array([_number(getattr(row, field)) for _, row in members], dtype=float)
            if field == "error_rate":
                y = y * 100
            tag = field.removesuffix("_ms") if len(fields) > 1 else ""
            ax.plot(x, y, color=color, ls=style, lw=1.3, label=f"{name} {tag}".strip())
            _marks(ax, x, y, [row for _, row in members], color)
    ax.set_ylim(0, max(ax.get_ylim()[1] * 1.1, 1e-9))  # headroom above a flat series
    ax.set_ylabel(label)
    figures._finish(fig, ax, title, 0.0)
    _run_axis(ax, rows)
    return figures._svg(fig, prefix, title)


def _marks(ax: Axes, x: np.ndarray, y: np.ndarray, rows: Sequence[HistoryRow], color: str) -> None:
    """Filled dots for completed runs, hollow for the others, a red ✕ where saturated."""
    done = np.array([row.status == COMPLETED for row in rows], dtype=bool)
    hot = np.array([row.saturated for row in rows], dtype=bool)
    ax.plot(x[done], y[done], "o", color=color, ms=4, label="_nolegend_")
    ax.plot(x[~done], y[~done], "o", mfc="white", mec=color, ms=5, label="_nolegend_")
    ax.plot(x[hot], y[hot], "x", color="#d62728", ms=9, mew=2, label="_nolegend_")


def _run_axis(ax: Axes, rows: Sequence[HistoryRow]) -> None:
    """At most 12 ticks, labelled with the run's start (MM-DD HH:MM) or its id."""
    step = max(1, int(np.ceil(len(rows) / 12)))
    ticks = list(range(0, len(rows), step))
    ax.set_xticks(ticks, [_short(rows[i].started) for i in ticks], rotation=30, ha="right")
    ax.set_xlim(-0.5, len(rows) - 0.5)
    ax.set_xlabel("run start (oldest to newest)")


def _short(stamp: str) -> str:
    """``2026-11-22T03:54:03+00:00`` -> ``11-22 03:54``; anything else cut to 16 chars."""
    if len(stamp) >= 16 and stamp[4] == "-" and stamp[10] == "T":
        return f"{stamp[5:10]} {stamp[11:16]}"
    return stamp[:16]


def _number(value: Any) -> float:
    return float(value) if isinstance(value, int | float) else np.nan
