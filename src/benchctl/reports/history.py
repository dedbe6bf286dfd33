"""``benchctl history DIR``: the trend of key numbers over the runs in a folder, by start time.

p50/p99, throughput, error rate and the generator-saturated flag of every run (from its
summary.json), as a self-contained HTML page with one line per scenario and target; and
where each of those metrics shifted (change points, found with Apache Otava's E-Divisive
means over the completed, unsaturated runs of each scenario and target; see
``benchctl.analysis.changepoints``), with the run where it changed, the size of the shift
and its p-value. The terminal tables: ``benchctl.reports.terminal.history``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.axes import Axes

from benchctl.analysis.changepoints import (
    MAX_PVALUE,
    MIN_RUNS,
    Point,
    Shift,
    all_shifts,
    run_label,
)
from benchctl.analysis.gate import started
from benchctl.errors import InputError
from benchctl.reports import figures
from benchctl.reports.compare import COLORS, write_page
from benchctl.reports.html_format import environment
from benchctl.reports.views import Banner, FigureView
from benchctl.rundir import COMPLETED, RunDir, list_runs, summary_overall

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
    label: str = ""  # commit or label from run.json, "" if none

    @property
    def series(self) -> str:
        """The series this run belongs to in the history table: ``"<scenario> on <target>"``."""
        return f"{self.scenario} on {self.target}"

    @property
    def flags(self) -> str:
        """The run's flags as shown in the table: SATURATED (``"generator_saturated"``) when the
        generator was saturated, else ``""``.
        """
        return SATURATED if self.saturated else ""


def load_history(
    runs_dir: Path, *, scenario: str | None = None, target: str | None = None
) -> list[HistoryRow]:
    """The runs in ``runs_dir`` (optionally one scenario and/or target), oldest first."""
    runs_dir = Path(runs_dir)
    if not runs_dir.is_dir():
        raise InputError(f"{runs_dir}: no such folder of runs")
    rows = history_rows(list_runs(runs_dir), scenario=scenario, target=target)
    if not rows:
        wanted = " ".join(
            f"{k} {v!r}" for k, v in (("scenario", scenario), ("target", target)) if v
        )
        raise InputError(f"{runs_dir}: no runs{' of ' + wanted if wanted else ''}")
    return rows


def history_rows(
    runs: list[tuple[RunDir, dict[str, Any]]],
    *,
    scenario: str | None = None,
    target: str | None = None,
) -> list[HistoryRow]:
    """The rows of ``runs`` (``list_runs``'s run directories and run.json) of
    ``scenario`` and/or ``target`` (None: any), oldest first; [] when none matches."""
    rows = []
    for run_dir, info in runs:
        name, server = run_names(info)
        if (scenario and name != scenario) or (target and server != target):
            continue
        rows.append(_row(run_dir.path, info))
    return sorted(rows, key=lambda row: row.started)


UNKNOWN = "unknown"


def run_names(info: dict[str, Any]) -> tuple[str, str]:
    """(scenario name, target name) of a run.json; ``unknown`` where it names none (a
    damaged run.json is listed as ``{"status": "damaged"}``), never the text "None"."""
    names = []
    for key in ("scenario", "target"):
        section = info.get(key)
        name = section.get("name") if isinstance(section, dict) else None
        names.append(str(name) if name not in (None, "") else UNKNOWN)
    return names[0], names[1]


def _row(path: Path, info: dict[str, Any]) -> HistoryRow:
    overall = summary_overall(path)
    latency = overall.get("latency_ms") if isinstance(overall.get("latency_ms"), dict) else {}
    generator = info.get("generator") if isinstance(info.get("generator"), dict) else {}
    scenario, target = run_names(info)
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
        label=run_label(info),
    )


# --------------------------------------------------------------------------- change points


@dataclass(frozen=True)
class SeriesShift:
    """A change point in one series (scenario on target) of the history."""

    series: str
    shift: Shift


def history_shifts(
    rows: Sequence[HistoryRow], *, max_pvalue: float = MAX_PVALUE
) -> list[SeriesShift]:
    """Change points of p50, p99, throughput and error rate in each series, oldest first.

    Only completed runs whose generator kept up enter a series (an interrupted run's numbers
    are partial, a saturated generator's latencies are its own). InputError (exit 2) when
    ``max_pvalue`` is not between 0 and 1.
    """
    if not 0 < max_pvalue < 1:
        raise InputError(f"--max-pvalue {max_pvalue:g}: must be between 0 and 1 (e.g. 0.001)")
    found = []
    for name in sorted({row.series for row in rows}):
        members = _series_members(rows, name)
        points = [
            Point(
                row.id,
                row.started,
                row.label,
                {
                    "p50_ms": row.p50_ms,
                    "p99_ms": row.p99_ms,
                    "throughput_rps": row.throughput_rps,
                    "error_rate": row.error_rate,
                },
            )
            for row in members
        ]
        found += [SeriesShift(name, shift) for shift in all_shifts(points, max_pvalue=max_pvalue)]
    return found


def _series_members(rows: Sequence[HistoryRow], name: str) -> list[HistoryRow]:
    """The runs of series ``name`` that enter its change-point search: completed, and the
    generator kept up."""
    return [
        row for row in rows if row.series == name and row.status == COMPLETED and not row.saturated
    ]


def short_series(rows: Sequence[HistoryRow]) -> dict[str, int]:
    """Series (scenario on target) -> its runs that enter the change-point search, for each
    series with fewer than ``changepoints.MIN_RUNS`` of them: none of these can show a change
    point. Raises nothing."""
    counts = {name: len(_series_members(rows, name)) for name in sorted({r.series for r in rows})}
    return {name: count for name, count in counts.items() if count < MIN_RUNS}


def short_series_text(rows: Sequence[HistoryRow]) -> str | None:
    """Why some series show no change point: too few runs (``short_series``), said with the
    number a series needs and how many each short one has; None when every series has enough.
    E.g. "No series has enough runs to show a change point: a series (scenario on target)
    needs at least 4 completed runs whose generator kept up, and these have fewer: spike on
    triton 1, steady on kserve 1." Raises nothing."""
    short = short_series(rows)
    if not short:
        return None
    total = len({row.series for row in rows})
    counts = ", ".join(f"{name} {count}" for name, count in short.items())
    need = (
        f"a series (scenario on target) needs at least {MIN_RUNS} completed runs whose "
        "generator kept up"
    )
    if len(short) == total:
        return (
            f"No series has enough runs to show a change point: {need}, and these have "
            f"fewer: {counts}."
        )
    return (
        f"{len(short)} of {total} series have too few runs to show a change point ({need}): "
        f"{counts}."
    )


def change_text(shift: Shift) -> str:
    """``+23.5%`` or, for the error rate, ``+1.20 pp``."""
    if shift.kind == "difference":
        return f"{shift.change * 100:+.2f} pp"
    return f"{shift.change * 100:+.1f}%"


def history_json(rows: Sequence[HistoryRow], shifts: Sequence[SeriesShift]) -> str:
    """Every run's key numbers and every change point, as JSON (NaN as null)."""
    document = {
        "runs": [{**asdict(row), "series": row.series} for row in rows],
        "change_points": [
            {"series": item.series, **asdict(item.shift), "kind": item.shift.kind}
            for item in shifts
        ],
        "min_runs": MIN_RUNS,  # a series with fewer runs shows no change point
        "short_series": short_series(rows),
    }
    return json.dumps(_finite(document), indent=2, allow_nan=False) + "\n"


def write_history_json(
    rows: Sequence[HistoryRow], shifts: Sequence[SeriesShift], *, output: Path
) -> Path:
    """:func:`history_json` written to ``output`` (atomically)."""
    write_page(Path(output), history_json(rows, shifts))
    return Path(output)


def _finite(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def write_history(
    rows: Sequence[HistoryRow], *, output: Path, shifts: Sequence[SeriesShift] = ()
) -> Path:
    """Render the trend page to ``output`` (atomically), with the change points if given."""
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
        environment()
        .get_template(HISTORY_TEMPLATE)
        .render(
            title=f"History of {len(rows)} runs",
            series=series,
            banners=banners,
            rows=rows,
            figures=_figures(rows, series, shifts),
            shifts=[(item, change_text(item.shift)) for item in shifts],
            short_note=short_series_text(rows),
        )
    )
    write_page(Path(output), page)
    return Path(output)


# --------------------------------------------------------------------------- figures


def _figures(
    rows: Sequence[HistoryRow], series: Sequence[str], shifts: Sequence[SeriesShift] = ()
) -> list[FigureView]:
    panels = [
        ("Latency", "history-latency", ("p99_ms", "p50_ms"), "latency (ms)"),
        ("Throughput", "history-rps", ("throughput_rps",), "successful requests / s"),
        ("Error rate", "history-errors", ("error_rate",), "error rate (%)"),
    ]
    caption = (
        "One point per run, oldest to newest; one colour per scenario and target. "
        "✕: generator saturated; hollow: run not completed. Vertical dashed line: a change "
        "point just before that run (red: for the worse, green: for the better)."
    )
    return [
        FigureView(
            title,
            _trend(rows, series, fields, label, prefix, title, shifts),
            caption,
        )
        for title, prefix, fields, label in panels
    ]


def _trend(
    rows: Sequence[HistoryRow],
    series: Sequence[str],
    fields: Sequence[str],
    label: str,
    prefix: str,
    title: str,
    shifts: Sequence[SeriesShift] = (),
) -> str:
    fig, ax = figures._figure()
    position = {row.id: index for index, row in enumerate(rows)}
    for item in shifts:
        if item.shift.metric in fields and item.shift.run in position:
            color = "#d62728" if item.shift.regression else "#2ca02c"
            x = position[item.shift.run] - 0.5
            ax.axvline(x, color=color, ls="--", lw=1.0, label="_nolegend_")
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
