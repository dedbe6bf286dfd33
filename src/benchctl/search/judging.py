"""Capacity search, judging one level: is it stable yet, and did it meet the SLO?

A level breaks when its SLO percentile, its error rate (errors + dropped) or its
achieved-vs-offered ratio is out of bounds. It is held until it is stable:
``stable_windows`` consecutive windows whose throughput agrees within ``tolerance``
(widened to 3/√n for Poisson noise) and whose percentile agrees within
``latency_tolerance`` (or lies clearly on one side of the SLO), holding at least
``2 / (1 - q)`` successes in all; never longer than ``max_hold``. A level that is plainly
broken (the share of requests over the SLO, counting requests still waiting longer than the
SLO, is significantly above ``1 - q``) is stopped at once. A level is good only when its SLO
percentile holds over every request it measured too (the rows of its phase in summary.json),
not only over the windows that agreed: a slow first window keeps it held until the level as
a whole meets the SLO, or decides it broken at ``max_hold``.

Formulas: percentile by nearest rank (numpy's ``inverted_cdf``), as in the summary; the
binomial test uses the normal approximation p̂ − 2·√(p̂(1−p̂)/n) > 1 − q.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from benchctl.analysis.slo import Slo
from benchctl.config import CapacityScenario

FLUSH_LAG_S = 2.5  # a window is judged once its end is this far in the past


@dataclass(frozen=True)
class LevelVerdict:
    """What one level measured and whether it met the SLO (``good``)."""

    good: bool
    stable: bool
    reason: str
    achieved_rps: float
    latency_ms: float | None  # the SLO percentile of successes in the judged windows
    samples: int  # successes in the judged windows
    error_rate: float
    ratio: float  # successes / scheduled arrivals in the judged windows
    overloaded: bool
    arrived_rps: float = 0.0  # scheduled arrivals per second in the judged windows
    # the judged windows: completions from .. to (s since the level's start), each window_s
    judged_from: float = 0.0
    judged_to: float = 0.0
    window_s: float = 0.0
    # a stop signal ended the level before it was decided: no verdict about the SLO
    interrupted: bool = False
    # the SLO percentile over every request the level measured (its phase row), unanswered
    # ones counted as over the SLO; None when nothing was measured or it is unanswered
    measured_latency_ms: float | None = None


def interrupted_verdict(partial: LevelVerdict, why: str) -> LevelVerdict:
    """The level a stop signal (``why``: Ctrl-C, SIGTERM, SIGHUP, closed stdout) ended before
    it was decided: what ``partial`` (``judge(..., final=True)`` on the records so
    far) measured, kept as figures, but neither good nor broken nor overloaded -- the level was
    never decided, so the search's bracket and ``analyze`` leave it out."""
    return dataclasses.replace(
        partial,
        good=False,
        stable=False,
        overloaded=False,
        interrupted=True,
        reason=f"not judged: {why}",
    )


def window_length(rate: float, s: CapacityScenario, quantile: float = 0.99) -> float:
    """Seconds per stability window: at least ``window``, and long enough for the
    ``stable_windows`` windows together to expect ``2 / (1 - q)`` successes (and each
    ``window_samples``), but short enough for ``stable_windows`` + 1 windows to fit in
    ``max_hold``."""
    needed = max(s.window_samples, math.ceil(2 / (1 - quantile)) / s.stable_windows)
    return max(s.window, min(needed / rate, s.max_hold / (s.stable_windows + 1)))


def judge(
    frame: pd.DataFrame,
    arrivals: np.ndarray,
    rate: float,
    now: float,
    slo: Slo,
    s: CapacityScenario,
    *,
    final: bool = False,
    final_why: str = "max_hold reached",
) -> LevelVerdict | None:
    """The level's verdict from its records so far, or None while it is not yet decided.

    ``frame``: records of this level (t_intended, latency_ms, ok, error; seconds since the
    level's start). ``arrivals``: the level's scheduled intended times. ``now``: seconds
    since the level's start. ``final``: decide now from all windows; ``final_why`` says
    why (``max_hold reached``, or ``cut short by max_duration 60s``). A level is good only
    when its SLO percentile also holds over every request it measured (``_all_measured``:
    the level's phase row in summary.json), not only over the windows that agreed.
    """
    q, threshold = slo.quantile, slo.threshold_ms
    width = window_length(rate, s, q)
    horizon = now - FLUSH_LAG_S
    count = int((horizon - s.settle) // width)
    if count < 1:
        if not final or horizon <= s.settle:
            return _final_without_windows() if final else None
        width, count = horizon - s.settle, 1  # judge what there is
    measured = frame[frame["t_intended"] >= s.settle]
    windows = _windows(measured, arrivals, s.settle + width * np.arange(count + 1))
    waiting = _waiting(measured, arrivals, horizon - threshold / 1000.0, s.settle)
    end = s.settle + width * count  # the judged windows end here (completions)
    every = {"judged_from": s.settle, "judged_to": end, "window_s": width}
    whole, whole_problem = _all_measured(measured, arrivals, horizon, q, threshold, s.settle)
    broken = _plainly_broken(windows, waiting, q, threshold, s)
    if broken:
        verdict = _verdict(windows, width, q, threshold, s, good=False, stable=True, reason=broken)
        return dataclasses.replace(verdict, **every, measured_latency_ms=whole)
    verdict = _stable_verdict(windows, width, q, threshold, s, every)
    if verdict is not None:
        verdict = dataclasses.replace(verdict, measured_latency_ms=whole)
        if not verdict.good or not whole_problem:
            return verdict
        if not final:
            return None  # the windows agree, but not yet the level as a whole: hold on
        return dataclasses.replace(
            verdict, good=False, reason=f"{final_why}; windows agreed, but {whole_problem}"
        )
    if final:
        verdict = _verdict(windows, width, q, threshold, s, good=True, stable=False, reason="")
        verdict = dataclasses.replace(verdict, **every, measured_latency_ms=whole)
        problem = _problem(verdict, threshold, s) or whole_problem
        reason = f"{final_why} before the windows agreed; judged on all {len(windows)}"
        return dataclasses.replace(
            verdict, good=not problem, reason=f"{reason}: {problem or 'within every bound'}"
        )
    return None


def _stable_verdict(
    windows: list[dict[str, Any]],
    width: float,
    q: float,
    threshold: float,
    s: CapacityScenario,
    every: dict[str, float],
) -> LevelVerdict | None:
    """The verdict on the last ``stable_windows`` windows once they agree (with enough
    successes for the percentile): good, or broken when on the wrong side of a bound;
    None while they do not agree yet."""
    recent = windows[-s.stable_windows :]
    enough = _pooled(windows)[1] >= math.ceil(2 / (1 - q))  # successes for the percentile
    if len(recent) < s.stable_windows or not enough:
        return None
    stable, _ = _agree(recent, width, q, threshold, s)
    if not stable:
        return None
    verdict = _verdict(recent, width, q, threshold, s, good=True, stable=True, reason="")
    recent_span = {**every, "judged_from": every["judged_to"] - width * len(recent)}
    verdict = dataclasses.replace(verdict, **recent_span)
    problem = _problem(verdict, threshold, s)
    if problem:  # stable, but on the wrong side of a bound
        return dataclasses.replace(verdict, good=False, reason=problem)
    return dataclasses.replace(verdict, reason="stable and within every bound")


def _all_measured(
    measured: pd.DataFrame,
    arrivals: np.ndarray,
    horizon: float,
    q: float,
    threshold: float,
    settle: float,
) -> tuple[float | None, str]:
    """(SLO percentile in ms, problem or "") over every request the level measured: sent
    (intended) in [``settle``, ``horizon``) s -- the rows its phase in summary.json holds.
    A scheduled arrival there without a record yet counts as over the SLO (it is in
    flight past ``FLUSH_LAG_S``, or failed): the percentile summary.json shows over the
    successes can only be lower. Nearest rank; None when nothing was measured."""
    sent = measured["t_intended"].to_numpy(dtype=float)
    inside = sent < horizon
    ok = inside & measured["ok"].to_numpy(dtype=bool)
    latency = measured["latency_ms"].to_numpy(dtype=float)[ok]
    scheduled = int(((arrivals >= settle) & (arrivals < horizon)).sum())
    unrecorded = max(scheduled - int(inside.sum()), 0)
    values = np.concatenate([np.nan_to_num(latency, nan=np.inf), np.full(unrecorded, np.inf)])
    if not values.size:
        return None, ""
    mark = float(np.percentile(values, q * 100, method="inverted_cdf"))
    if mark <= threshold:
        return mark, ""
    size = f"{values.size} measured request{'s' if values.size != 1 else ''}"
    where = f" ({unrecorded} unanswered yet)" if unrecorded else ""
    finite = math.isfinite(mark)  # +inf: the rank falls on an unanswered request
    value = f"{mark:.1f} ms" if finite else "unanswered"
    problem = f"the percentile over all its {size}{where} is {value} > {threshold:g} ms"
    return (mark if finite else None), problem


def _windows(
    measured: pd.DataFrame, arrivals: np.ndarray, edges: np.ndarray
) -> list[dict[str, Any]]:
    """Per window between consecutive ``edges`` (s): successes (``ok``, their ``latency``
    in ms), failures, by completion time; and scheduled ``arrivals``, by intended time."""
    done = measured["t_intended"].to_numpy() + np.nan_to_num(
        measured["latency_ms"].to_numpy() / 1000.0, nan=0.0
    )
    ok = measured["ok"].to_numpy()
    latency = measured["latency_ms"].to_numpy()
    windows = []
    for start, end in itertools.pairwise(edges):
        inside = (done >= start) & (done < end)
        good = latency[inside & ok]
        windows.append(
            {
                "ok": int(good.size),
                "failed": int((inside & ~ok).sum()),
                "arrivals": int(((arrivals >= start) & (arrivals < end)).sum()),
                "latency": good,
            }
        )
    return windows


def _waiting(measured: pd.DataFrame, arrivals: np.ndarray, old: float, settle: float) -> int:
    """Requests scheduled (after ``settle``) before ``old`` -- long enough ago to be past
    the SLO -- still without a record: each will miss the SLO whatever happens (a queue the
    server is not draining)."""
    recorded = np.sort(measured["t_intended"].to_numpy())
    waiting = int(((arrivals >= settle) & (arrivals < old)).sum()) - int(
        np.searchsorted(recorded, old)
    )
    return max(waiting, 0)


def _final_without_windows() -> LevelVerdict:
    return LevelVerdict(False, False, "nothing measured before max_hold", 0, None, 0, 0, 0, True)


def _pooled(windows: list[dict[str, Any]]) -> tuple[np.ndarray, int, int, int]:
    latency = np.concatenate([w["latency"] for w in windows]) if windows else np.array([])
    return (
        latency,
        sum(w["ok"] for w in windows),
        sum(w["failed"] for w in windows),
        sum(w["arrivals"] for w in windows),
    )


def _tolerance(s: CapacityScenario, expected: int) -> float:
    """Throughput tolerance, never tighter than 3 Poisson standard deviations."""
    return max(s.tolerance, 3.0 / math.sqrt(max(expected, 1)))


def _plainly_broken(
    windows: list[dict[str, Any]], waiting: int, q: float, threshold: float, s: CapacityScenario
) -> str:
    latency, ok, failed, arrivals = _pooled(windows)
    over = int((latency > threshold).sum()) + waiting
    n = ok + waiting
    if n >= 20:
        share = over / n
        if share - 2.0 * math.sqrt(share * (1 - share) / n) > 1 - q:
            return (
                f"{share:.1%} of requests over {threshold:g} ms ({waiting} still waiting "
                f"past it) where at most {1 - q:.1%} may be"
            )
    total = ok + failed
    if total >= 20:
        rate = failed / total
        if rate - 2.0 * math.sqrt(rate * (1 - rate) / total) > s.max_error_rate:
            return f"error rate {rate:.1%} > {s.max_error_rate:.1%}"
    if len(windows) >= 2 and arrivals:
        ratio = ok / arrivals
        if ratio < 1 - 2 * _tolerance(s, arrivals):
            return f"achieved only {ratio:.0%} of the offered rate: the server cannot keep up"
    return ""


def _agree(
    recent: list[dict[str, Any]], width: float, q: float, threshold: float, s: CapacityScenario
) -> tuple[bool, str]:
    _, _, _, arrivals = _pooled(recent)
    rates = np.array([w["ok"] / width for w in recent])
    per_window = max(1, arrivals // len(recent))
    if rates.mean() <= 0 or np.ptp(rates) / rates.mean() > 2 * _tolerance(s, per_window):
        return False, "throughput still moving"
    marks = [  # nearest rank, as everywhere (benchctl.analysis.percentiles)
        np.percentile(w["latency"], q * 100, method="inverted_cdf")
        for w in recent
        if w["latency"].size
    ]
    if len(marks) < len(recent):
        return False, "a window without successes"
    marks_array = np.array(marks)
    close = np.ptp(marks_array) / max(marks_array.mean(), 1e-9) <= s.latency_tolerance
    # Windows agree on the verdict when they all lie on one side of the SLO: with few
    # samples per window a percentile is noisy, but which side it falls on is what counts.
    clear = bool(np.all(marks_array <= threshold) or np.all(marks_array > threshold))
    return (close or clear), "" if (close or clear) else "percentile still moving"


def _verdict(
    windows: list[dict[str, Any]],
    width: float,
    q: float,
    threshold: float,
    s: CapacityScenario,
    *,
    good: bool,
    stable: bool,
    reason: str,
) -> LevelVerdict:
    latency, ok, failed, arrivals = _pooled(windows)
    mark = float(np.percentile(latency, q * 100, method="inverted_cdf")) if latency.size else None
    ratio = ok / arrivals if arrivals else 0.0
    total = ok + failed
    return LevelVerdict(
        good=good,
        stable=stable,
        reason=reason,
        achieved_rps=ok / (width * len(windows)),
        latency_ms=mark,
        samples=ok,
        error_rate=failed / total if total else 0.0,
        ratio=ratio,
        overloaded=ratio < 1 - _tolerance(s, arrivals),
        arrived_rps=arrivals / (width * len(windows)),
    )


def _problem(verdict: LevelVerdict, threshold: float, s: CapacityScenario) -> str:
    if verdict.latency_ms is None:
        return "no successful request"
    if verdict.latency_ms > threshold:
        return f"percentile {verdict.latency_ms:.1f} ms > {threshold:g} ms"
    if verdict.error_rate > s.max_error_rate:
        return f"error rate {verdict.error_rate:.1%} > {s.max_error_rate:.1%}"
    if verdict.overloaded:
        return f"achieved {verdict.ratio:.0%} of the offered rate"
    return ""
