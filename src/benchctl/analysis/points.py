"""The measured points a capacity fit is made from: per load level, from one run.

A step or sweep run gives one point per level (phase): many requests each, so even p99 is
stable. Other runs give one point per window that holds enough successes for the
percentile to mean something (at least 2 / (1 - q): 200 for p99, 2,000 for p99.9).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchctl.analysis.percentiles import percentile, rank
from benchctl.analysis.phase_completions import (
    Completions,
    done_times,
    file_completions,
    phase_spans,
)
from benchctl.analysis.phase_intervals import measured_end
from benchctl.analysis.request_pass import levels_and_windows
from benchctl.analysis.summary import phase_seconds
from benchctl.analysis.summary_file import phase_latencies
from benchctl.analysis.windows import run_windows, with_telemetry
from benchctl.rundir.names import REQUESTS
from benchctl.rundir.requests import WARMUP

MIN_LEVELS = 3


@dataclass(frozen=True)
class Points:
    """Measured (throughput, SLO-percentile latency) points, per load level or per window."""

    source: str  # "levels" or "windows"
    throughput: np.ndarray  # successful responses per second
    latency_ms: np.ndarray  # the SLO's percentile
    concurrency: np.ndarray | None  # closed loop only: requests in flight per level
    labels: list[str]

    def __len__(self) -> int:
        return len(self.throughput)


def level_points(
    frame: pd.DataFrame, phases: list[dict[str, Any]], quantile: float, end: float | None = None
) -> Points:
    """One point per load phase of ``frame`` (requests) with at least ``min_samples``
    successes: achieved rps = the successes that completed within the phase's interval
    (intended send + latency; ``phase_completions``) / its measured seconds, and the
    ``quantile`` latency (ms, nearest rank) of the successes it sent.

    ``frame``: requests.parquet's rows (columns phase, ok, latency_ms in ms); ``phases``: the
    planned phases (``{"name", "start", "end"}``, s); ``quantile`` in (0, 1); ``end``: where an
    interrupted run stopped (s; ``phase_intervals.measured_end``), None for a whole run.
    Returns Points (x: requests/s, y: ms, one label per phase name). KeyError for a missing
    column.
    """
    completions = Completions(phase_spans(phases, end))
    intended, latency = (frame[c].to_numpy(dtype=float) for c in ("t_intended", "latency_ms"))
    ok = frame["ok"].to_numpy(dtype=bool)
    completions.add(done_times(intended, latency, ok), (frame["phase"] == WARMUP).to_numpy()[ok])
    latencies = {
        str(name): [group.loc[group["ok"], "latency_ms"].to_numpy(dtype=float)]
        for name, group in frame.groupby("phase", observed=True)
    }
    return _points_of(latencies, phase_seconds(phases, end), quantile, completions.by_name())


def file_level_points(
    path: Path, phases: list[dict[str, Any]], quantile: float, end: float | None = None
) -> Points:
    """``level_points`` of requests.parquet read in batches: the same points, holding only
    the successes' latencies per phase (8 bytes each), not the run's frame (issue 16).

    ``path``: requests.parquet; ``phases``: the planned phases (s); ``quantile`` in (0, 1);
    ``end`` as in ``level_points``. Returns Points (x: requests/s, y: ms). Raises
    DamagedFileError when the file is missing or unreadable.
    """
    latencies = {name: [values] for name, values in phase_latencies(path).items()}
    completed = file_completions(path, phase_spans(phases, end))
    return _points_of(latencies, phase_seconds(phases, end), quantile, completed)


def _points_of(
    latencies: dict[str, list[np.ndarray]],
    seconds: dict[str, float],
    quantile: float,
    completed: dict[str, int],
) -> Points:
    """Level points: per phase with at least ``min_samples`` successes (``latencies``: their
    latencies as pieces, ``phase_latencies``'s array of a phase being their concatenation),
    x = its ``completed`` successes (completions within its interval) / its measured
    ``seconds``, y = its successes' ``quantile`` latency."""
    rows = []
    for name, pieces in latencies.items():
        count = sum(len(piece) for piece in pieces)
        if name != WARMUP and count >= min_samples(quantile) and seconds.get(name):
            rate = completed.get(name, 0) / seconds[name]
            rows.append((name, rate, percentile_of(pieces, quantile * 100)))
    return _level_points(rows)


def percentile_of(pieces: list[np.ndarray], percent: float) -> float:
    """``percentile(np.concatenate(pieces), percent)`` (nearest rank, the value's unit),
    without joining the pieces when it can: a band of values around the rank is taken from a
    sample (every 64th value; the band is about 8 standard deviations of the sample's rank
    wide), the values below it counted, and the rank selected among the band's values
    (``np.partition``). When the rank is not inside the band (or lies among NaN), the pieces
    are joined as before. ValueError when there is no value."""
    total = sum(len(piece) for piece in pieces)
    if total < _BAND_MIN:
        return percentile(np.concatenate(pieces), percent)
    at = rank(percent / 100.0, total)
    sample = np.concatenate([piece[::_SAMPLE_STEP] for piece in pieces])
    size = len(sample)
    share = at / total
    margin = 4.0 * math.sqrt(size * share * (1.0 - share)) + 8.0
    low_i = int(max(0, share * size - margin))
    high_i = int(min(size - 1, share * size + margin))
    found = np.partition(sample, [low_i, high_i])
    low, high = found[low_i], found[high_i]
    below, band = 0, []
    for piece in pieces:
        below += int(np.count_nonzero(piece < low))
        band.append(piece[(piece >= low) & (piece <= high)])
    joined = np.concatenate(band)
    k = at - below
    if 0 <= k < len(joined):  # sorted, the values are: below | the band | above and NaN
        return float(np.partition(joined, k)[k])
    return percentile(np.concatenate(pieces), percent)


_BAND_MIN = 1 << 16  # fewer values are joined and selected at once
_SAMPLE_STEP = 64


def _level_points(rows: list[tuple[str, float, float]]) -> Points:
    """Points of (phase name, achieved req/s, latency quantile ms) rows, by achieved rate; the
    concurrency of each level when every phase is named ``c=N`` (a closed-loop sweep)."""
    rows.sort(key=lambda row: row[1])
    names = [r[0] for r in rows]
    found = [re.fullmatch(r"c=(\d+)", name) for name in names]
    concurrency = np.array([int(m.group(1)) for m in found]) if found and all(found) else None
    return Points(
        "levels", np.array([r[1] for r in rows]), np.array([r[2] for r in rows]), concurrency, names
    )


def window_points(
    run_dir: Path, quantile: float, width: float, span: tuple[float, float] | None = None
) -> tuple[Points, pd.DataFrame]:
    """One latency-vs-throughput point per ``width``-second window of the run at ``run_dir`` with at
    least ``min_samples(quantile)`` successes, and the whole window table.

    ``quantile``: the SLO's quantile in (0, 1) (0.99 = p99); ``width``: window length (s). Returns
    (Points with achieved throughput in requests/s and the window's quantile latency in ms, one
    label ``t=<start>s`` each; the windows DataFrame from ``run_windows``, empty when the run has no
    requests). ``span``: the measured requests' span when an earlier pass found it (see
    ``windows.requests_file_windows``). Raises DamagedFileError when requests.parquet is
    missing or unreadable.
    """
    return _window_points_of(run_windows(run_dir, width, (0.5, quantile), span), quantile, width)


def _window_points_of(
    table: pd.DataFrame, quantile: float, width: float
) -> tuple[Points, pd.DataFrame]:
    """``window_points`` of a window table already made (``run_windows``)."""
    column = f"p{quantile * 100:g}"
    if table.empty:
        return Points("windows", np.array([]), np.array([]), None, []), table
    successes = table["throughput_rps"] * table.get("seconds", width)  # windows.measured_widths
    enough = successes.round() >= min_samples(quantile)
    chosen = table[enough & table[column].notna()]
    return Points(
        "windows",
        chosen["throughput_rps"].to_numpy(),
        chosen[column].to_numpy(),
        None,
        [f"t={t:g}s" for t in chosen["t"]],
    ), table


def one_offered_rate(info: dict[str, Any]) -> bool:
    """Did the run offer one rate all along after its warm-up (run.json ``plan.curve``:
    [[t s, rate req/s], ...] and ``plan.phases``)? Its windows then differ only by the
    arrivals' noise, so they are no levels of load: a model's answer comes from the whole
    run (its one level). False when the curve is absent or the rate changes by over 1%.

    ``info``: run.json's object. A malformed curve gives False (AttributeError only for phases
    that are not objects).
    """
    plan = info.get("plan") or {}
    curve, phases = plan.get("curve") or [], plan.get("phases") or []
    warm_end = max((p.get("end", 0.0) for p in phases if p.get("name") == WARMUP), default=0.0)
    try:
        rates = [float(rate) for t, rate in curve if float(t) >= float(warm_end)]
    except (TypeError, ValueError):
        return False
    return bool(rates) and max(rates) <= 1.01 * min(rates)


def measured_points(
    run_dir: Path, info: dict[str, Any], quantile: float, width: float
) -> tuple[Points, pd.DataFrame]:
    """Level points when the run has at least three load levels, or one offered rate all
    along (its windows would differ only by arrival noise: the run's level is its one point),
    else window points.

    ``run_dir``: the run directory; ``info``: its run.json object; ``quantile`` in (0, 1);
    ``width``: the window length (s). Returns (Points: x in requests/s, y in ms; the window table).
    Raises DamagedFileError when requests.parquet is missing or unreadable.
    """
    # over the seconds measured: an interrupted run's phases are cut at its stop (trial 7)
    phases, end = (info.get("plan") or {}).get("phases") or [], measured_end(run_dir, info)
    completions = Completions(phase_spans(phases, end))
    # one pass for all three when the file's statistics allow (request_pass), else more
    latencies, table = levels_and_windows(run_dir / REQUESTS, width, (0.5, quantile), completions)
    completed = completions.by_name()
    levels = _points_of(latencies, phase_seconds(phases, end), quantile, completed)
    del latencies
    table = with_telemetry(run_dir, table, width)
    points, table = _window_points_of(table, quantile, width)
    if len(levels) >= MIN_LEVELS and len(np.unique(np.round(levels.throughput))) >= MIN_LEVELS:
        return levels, table
    if len(levels) and one_offered_rate(info):
        return levels, table
    return points, table


def min_samples(quantile: float) -> int:
    # rounded first: 99.9 / 100 is 0.9990000000000001, whose 2 / (1 - q) is 2000.0000000002
    """Successful requests a point needs for the ``quantile`` (0..1): ceil(2 / (1 - q)), so the
    percentile rests on at least two samples beyond it (p99: 200, p99.9: 2,000).

    Raises ZeroDivisionError for quantile = 1.
    """
    return int(np.ceil(round(2 / (1 - quantile), 6)))
