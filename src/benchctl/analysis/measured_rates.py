"""What a run measured about rates, for judging a fitted curve against it: the finest rate
difference its points resolve, and the most it was measured to serve.

* ``resolution_rps``: one request over the shortest interval a point was measured over (a
  5 s window: 0.2 req/s; a search level judged over 20 s: 0.05 req/s). Two rates closer
  than that are one measured rate, so a fitted SLO crossing within it below a rate at which
  the SLO broke is no evidence that a lower rate met it (``bounds.crossing_above_broken``).
* ``served_rps``: the most the run served over an interval of at least ``MIN_SERVED_S``:
  the highest point (window or level) throughput, or a phase of summary.json (warm-up left
  out) as its successes over its planned seconds plus its slowest latency per occurrence
  (latency counts from the intended send, so every success of the phase completed by
  then). One replica saturates at no less than that: a fitted asymptote below it is no
  saturation figure (trial 5: "Saturates near 147.6 rps" from a fit while the 3 s burst
  phase served 574 requests, 188.8 req/s over 3.04 s).
* ``met_rps``: the most a phase of the run served *within the SLO* (its SLO percentile,
  over at least ``points.min_samples`` successes, at most the threshold), the same served
  rate as above; None without an SLO, without such a phase, or unless the points are
  windows (a step run's levels are its phases already; a capacity search's levels are
  judged on their own windows, never on summary.json's whole level). A 5 s window
  holding a 3 s burst mixes it with the base rate (trial 6, Triton: every window met
  p99<=20ms, the best at 147.6 req/s, while the burst phase served 190.0 req/s at p99
  14.7 ms): one replica was measured to sustain the phase's rate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from benchctl.analysis.phase_intervals import measured_seconds
from benchctl.analysis.points import Points, min_samples
from benchctl.analysis.slo import Slo
from benchctl.rundir import read_summary
from benchctl.rundir.requests import WARMUP

MIN_SERVED_S = 1.0  # shortest phase whose served rate counts (a few answers are no rate)


@dataclass(frozen=True)
class MeasuredRates:
    """``resolution_rps`` (req/s): the finest rate difference the points resolve;
    ``served_rps`` (req/s) and ``served_where`` (e.g. "its burst phase"): the most the run
    was measured to serve, or None."""

    resolution_rps: float
    served_rps: float | None = None
    served_where: str | None = None
    met_rps: float | None = None  # the most a phase served within the SLO (req/s)
    met_where: str | None = None


def measured_rates(
    run_dir: Path,
    info: dict[str, Any],
    points: Points,
    search: dict[str, Any] | None,
    window_s: float,
    slo: Slo | None = None,
    own_windows: pd.DataFrame | None = None,
) -> MeasuredRates:
    """The rate resolution, the most served and the most a phase served within ``slo`` of
    the run in ``run_dir`` (the run whose points these are).

    ``info``: its run.json (``plan.phases`` in s); ``points``: the capacity's points
    (``source`` "search", "levels" or "windows"); ``search``: search.json or None;
    ``window_s``: the analysis window (s). A search level's interval is its judged windows
    (``judged_to - judged_from``), a step level's its measured phase seconds, a window's
    ``window_s``; anything unknown falls back to ``window_s``. A summary.json that is
    missing or unreadable gives no phase rates. ``own_windows``: the analyzed run's own
    window table (``throughput_rps``: completions per window, req/s; ``t`` s), whose windows
    count as served too when the points come from elsewhere (a linked capacity search:
    trial 7's spike run served 81.6 req/s in a 5 s window while "the most the run served"
    said the search's 70.2). Raises nothing.
    """
    seconds = _point_seconds(run_dir, info, points, search)
    shortest = min(seconds) if seconds else window_s
    resolution = 1.0 / shortest if shortest > 0 else 0.0
    served = [(float(x), f"the {label} {_kind(points)}") for label, x in _labelled(points)]
    phases = _phase_rates(run_dir, info)
    served += [(rate, where) for rate, where, _ in phases] + _window_rates(own_windows)
    if not served:
        return MeasuredRates(resolution)
    rate, where = max(served, key=lambda item: item[0])
    met = _met(phases, slo) if points.source == "windows" else None  # levels are phases
    return MeasuredRates(resolution, rate, where, *(met or (None, None)))


def _met(
    phases: list[tuple[float, str, dict[str, Any]]], slo: Slo | None
) -> tuple[float, str] | None:
    """(rate, where) of the phase that served most with its ``slo`` percentile (summary.json
    ``latency_ms``) at most the threshold over at least ``min_samples`` successes; None."""
    if slo is None:
        return None
    met = [
        (rate, where)
        for rate, where, phase in phases
        if _number(mark := (phase.get("latency_ms") or {}).get(slo.column))
        and mark <= slo.threshold_ms
        and phase["ok"] >= min_samples(slo.quantile)
    ]
    return max(met, key=lambda item: item[0]) if met else None


def _point_seconds(
    run_dir: Path, info: dict[str, Any], points: Points, search: dict[str, Any] | None
) -> list[float]:
    """The interval (s) each point was measured over, where known and positive (a level's:
    its phase's measured seconds, cut at an interrupted run's stop)."""
    if points.source == "search":
        found = []
        for level in (search or {}).get("levels", []):
            begin, end = level.get("judged_from"), level.get("judged_to")
            if level.get("name") in points.labels and _number(begin) and _number(end):
                found.append(float(end) - float(begin))
        return [s for s in found if s > 0]
    if points.source == "levels":
        measured = measured_seconds(run_dir, info)
        return [measured[label] for label in points.labels if measured.get(label, 0) > 0]
    return []


def _phase_rates(run_dir: Path, info: dict[str, Any]) -> list[tuple[float, str, dict[str, Any]]]:
    """(successes / (planned seconds + slowest latency x occurrences), "its NAME phase", the
    phase's summary) per phase of ``run_dir``'s summary.json of at least ``MIN_SERVED_S``
    planned seconds."""
    phases = read_summary(run_dir).get().get("phases")  # {} when absent or damaged
    if not isinstance(phases, dict):
        return []
    plan = (info.get("plan") or {}).get("phases") or []
    rates = []
    for name, phase in phases.items():
        if name == WARMUP or not isinstance(phase, dict):
            continue
        ok, seconds = phase.get("ok"), phase.get("seconds")
        slowest = (phase.get("latency_ms") or {}).get("max")
        if not (_number(ok) and _number(seconds) and _number(slowest)):
            continue
        if seconds < MIN_SERVED_S or ok <= 0:
            continue
        times = max(1, sum(1 for p in plan if isinstance(p, dict) and p.get("name") == name))
        rates.append((ok / (seconds + times * slowest / 1000.0), f"its {name} phase", phase))
    return rates


def _window_rates(table: pd.DataFrame | None) -> list[tuple[float, str]]:
    """(throughput req/s, "this run's window at t=Ns") per window of ``table`` with a finite
    throughput measured over at least ``MIN_SERVED_S`` (its ``seconds``, the part of the
    window the run measured: ``windows.measured_widths``; a table without that column counts
    every window); [] without a table or those columns."""
    if table is None or not {"t", "throughput_rps"} <= set(table.columns):
        return []
    seconds = table["seconds"] if "seconds" in table.columns else [MIN_SERVED_S] * len(table)
    return [
        (float(rate), f"this run's window at t={float(t):g}s")
        for t, rate, span in zip(table["t"], table["throughput_rps"], seconds, strict=True)
        if _number(float(rate)) and rate > 0 and span >= MIN_SERVED_S
    ]


def _labelled(points: Points) -> list[tuple[str, float]]:
    return [
        (label, float(x))
        for label, x in zip(points.labels, points.throughput, strict=True)
        if math.isfinite(float(x))
    ]


def _kind(points: Points) -> str:
    return "window" if points.source == "windows" else "level"


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
