"""The figures of ``benchctl compare``'s page (compare.html): every run on the same axes,
one colour per run, from the runs' requests, read in batches (``LoadedRun.batches``): per
window counts and the exact percentiles each curve shows, not the runs' rows (issue 16).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
import pandas as pd

from benchctl.analysis.exact_ranks import RankCounter
from benchctl.analysis.gate import LoadedRun
from benchctl.reports import figures
from benchctl.reports.compare_results import RunColumn
from benchctl.reports.views import FigureView, as_dict
from benchctl.rundir.requests import WARMUP

Windows = Callable[[LoadedRun, str, float], pd.DataFrame]
Wins = Sequence[pd.DataFrame | None]  # per run: its windows, None without requests
Columns = Sequence[RunColumn]


def compare_figures(
    loaded: Sequence[LoadedRun], columns: Columns, windows_of: Windows
) -> list[FigureView]:
    """The comparison page's figures, one colour per run (``columns``): latency over time,
    latency percentiles, throughput over time; [] when no run has requests. ``windows_of``:
    a run's per-window frame (summary.windows' columns) from the run, its path and width (s)."""
    if all(run.empty for run in loaded):
        return []
    duration = max(_duration(run) for run in loaded)
    width = figures.window_width(duration)
    wins = [
        None if run.empty else windows_of(run, column.path, width)
        for run, column in zip(loaded, columns, strict=True)
    ]  # each run's windows, read once for both figures over time
    return [
        FigureView(
            "Latency over time",
            _latency_over_time(wins, columns, width, duration),
            "p99 (solid) and p50 (dashed) of successful requests per window of intended "
            "send time, one colour per run.",
        ),
        FigureView(
            "Latency percentiles",
            _percentile_curves(loaded, columns),
            "Latency at each percentile after warm-up, up to the highest percentile each run "
            "has enough requests for; the further right, the rarer.",
        ),
        FigureView(
            "Throughput over time",
            _throughput_over_time(wins, columns, width, duration),
            "Successful responses per second, per window of completion time.",
        ),
    ]


def _latency_over_time(wins: Wins, columns: Columns, width: float, duration: float) -> str:
    """p99 (solid) and p50 (dashed) per window, one colour per run."""
    fig, ax = figures._figure()
    plotted = []
    for win, run in zip(wins, columns, strict=True):
        if win is None:
            continue
        mid = win["t"] + width / 2
        ax.plot(mid, win["p99"], color=run.color, lw=1.4, label=f"{run.label} p99")
        ax.plot(mid, win["p50"], color=run.color, lw=1.0, ls="--", label=f"{run.label} p50")
        plotted += [win["p50"], win["p99"]]
    _latency_axis(ax, plotted)
    title = f"Latency per {width:g} s window: p99 (solid), p50 (dashed)"
    figures._finish(fig, ax, title, duration)
    return figures._svg(fig, "cmp-latency", title)


def _percentile_curves(loaded: Sequence[LoadedRun], columns: Sequence[RunColumn]) -> str:
    """Latency against percentile on a 'nines' axis: x = -log10(1 - q)."""
    fig, ax = figures._figure()
    plotted = []
    for loaded_run, run in zip(loaded, columns, strict=True):
        counter = RankCounter(_CURVE_BITS)
        for latency in _measured_latency(loaded_run):
            counter.add(latency)
        if counter.n < 2:
            continue
        top = min(1 - 1 / counter.n, 0.9999)
        quantiles = 1 - np.logspace(np.log10(0.5), np.log10(1 - top), 120)
        picker = counter.picker(inverted_cdf_ranks(counter.n, quantiles).tolist())
        for latency in _measured_latency(loaded_run):
            picker.add(latency)
        plotted.append(picker.values())  # = np.quantile(..., method="inverted_cdf")
        x = -np.log10(1 - quantiles)
        ax.plot(x, plotted[-1], color=run.color, lw=1.5, label=f"{run.label} {run.target}")
    ticks = [0.5, 0.9, 0.99, 0.999, 0.9999]
    ax.set_xticks([-np.log10(1 - q) for q in ticks], [f"p{q * 100:g}" for q in ticks])
    _latency_axis(ax, plotted)
    title = "Latency percentiles after warm-up (successful requests)"
    figures._finish(fig, ax, title, 0.0)
    ax.set_xlabel("percentile")
    return figures._svg(fig, "cmp-percentiles", title)


def _throughput_over_time(wins: Wins, columns: Columns, width: float, duration: float) -> str:
    """Successful responses per second per window, one colour per run."""
    fig, ax = figures._figure()
    for win, run in zip(wins, columns, strict=True):
        if win is not None:
            ax.plot(
                win["t"] + width / 2, win["achieved_rps"], color=run.color, lw=1.3, label=run.label
            )
    ax.set_ylabel("requests / s")
    ax.set_ylim(bottom=0)
    title = "Throughput (successful responses per second)"
    figures._finish(fig, ax, title, duration)
    return figures._svg(fig, "cmp-throughput", title)


def _latency_axis(ax: Any, series: Sequence[Any]) -> None:
    values = np.concatenate([np.asarray(s, dtype=float) for s in series] or [np.array([])])
    figures.latency_axis(ax, values)


_CURVE_BITS = 20  # buckets 0.4% wide: the 120 ranks' buckets hold a few % of the latencies


def inverted_cdf_ranks(n: int, quantiles: np.ndarray) -> np.ndarray:
    """The 0-based ranks ``np.quantile(values, quantiles, method="inverted_cdf")`` takes
    among ``n`` sorted values (numpy's ``_inverted_cdf``: ``n q - 1``, rounded up unless
    whole, at least 0): the nearest-rank quantiles."""
    index = n * np.asarray(quantiles, dtype=float) - 1
    previous = np.floor(index)
    ranks = np.where(index - previous == 0, previous, previous + 1).astype(np.intp)
    ranks[ranks < 0] = 0
    return ranks


def _measured_latency(run: LoadedRun) -> Iterator[np.ndarray]:
    """The run's successful latencies (ms) after warm-up, batch by batch."""
    for batch in run.batches(["latency_ms", "ok"], equals={"phase": WARMUP}):
        yield batch["latency_ms"][batch["ok"] & ~batch[f"phase=={WARMUP}"]]


def _duration(run: LoadedRun) -> float:
    planned = as_dict(run.info.get("plan")).get("duration")
    if isinstance(planned, int | float) and planned > 0:
        return float(planned)
    return run.t_max if not run.empty else 0.0
