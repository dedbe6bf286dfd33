"""Bursts in a traffic trace and what to do about them: the burst pattern, whether reactive
scaling keeps up, and KEDA cron pre-scaling (the windows and the replicas they ask for)."""

from __future__ import annotations

import math

import numpy as np

from benchctl.analysis.scaling_model import (
    EPS,
    CronWindow,
    FloatArray,
    ReplicaModel,
    SimResult,
    SpikePattern,
    Traffic,
)


def detect_spikes(traffic: Traffic, *, min_ratio: float = 1.5) -> SpikePattern | None:
    """Periodic bursts in ``traffic`` (rates in requests/s on a regular grid of seconds), or None
    without any.

    A step is in a burst when its rate exceeds halfway between the median rate (the base) and the
    peak; there are bursts only when peak > 0 and peak >= ``min_ratio`` x base (default 1.5).
    Returns a SpikePattern: the burst onsets (s), the median period between onsets (s; None for one
    burst), the median burst length (s), the first burst's rise time (s, from 10% to 90% of its
    height above the base), base and peak (requests/s). Raises ValueError for an empty trace.
    """
    rps, t = traffic.rps, traffic.t
    base, peak = float(np.median(rps)), float(rps.max())
    if peak <= 0 or peak < base * min_ratio:
        return None
    high = rps > base + 0.5 * (peak - base)
    edges = np.diff(np.concatenate(([0], high.astype(np.int8), [0])))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    step = float(t[1] - t[0]) if t.size > 1 else 1.0
    onsets = tuple(float(t[s]) for s in starts)
    period = float(np.median(np.diff(onsets))) if len(onsets) > 1 else None
    burst = float(np.median(ends - starts)) * step
    return SpikePattern(
        onsets=onsets,
        period_s=period,
        burst_s=burst,
        rise_s=_rise(rps, t, starts[0], base, step),
        base_rps=base,
        peak_rps=peak,
    )


def _rise(rps: FloatArray, t: FloatArray, start: int, base: float, step: float) -> float:
    """Seconds from the last sample near the base rate to 90% of the first burst's height."""
    end = start
    while end + 1 < rps.size and rps[end + 1] > rps[end]:
        end += 1
    top = rps[end]
    low = base + 0.1 * (top - base)
    begin = start
    while begin > 0 and rps[begin - 1] > low:
        begin -= 1
    reach = begin
    while rps[reach] < base + 0.9 * (top - base):
        reach += 1
    return float(t[reach] - t[begin]) + (step if begin > 0 else 0.0)


def prescale_windows(
    period_s: float,
    burst_s: float,
    *,
    lead_s: float,
    replicas: int,
    phase_s: float = 0.0,
    timezone: str = "Etc/UTC",
) -> list[CronWindow]:
    """KEDA cron windows that hold ``replicas`` from ``lead_s`` before each burst to its end.

    Bursts start ``phase_s`` after each period boundary (wall clock); the period must be a
    whole number of minutes dividing an hour. Empty when cron cannot express it or when the
    window would cover the whole period (then min replicas is the answer).

    ``period_s``, ``burst_s``, ``lead_s``, ``phase_s``: seconds; ``replicas``: pods held;
    ``timezone``: the IANA name KEDA's cron scaler takes. Returns at most one CronWindow (minute
    fields of KEDA's cron trigger start/end). Raises nothing of its own.
    """
    minutes = period_s / 60.0
    if abs(minutes - round(minutes)) > EPS or round(minutes) < 1 or 60 % round(minutes):
        return []
    every = round(minutes)
    if lead_s + burst_s >= period_s:
        return []
    start = math.floor((phase_s - lead_s) / 60.0 + EPS) % every
    end = math.ceil((phase_s + burst_s) / 60.0 - EPS) % every
    if start == end:
        return []
    return [CronWindow(_minute_field(start, every), _minute_field(end, every), replicas, timezone)]


def _minute_field(minute: int, every: int) -> str:
    if every == 60:
        return f"{minute} * * * *"
    field = f"*/{every}" if minute == 0 else f"{minute}-59/{every}"
    return f"{field} * * * *"


def spike_advice(
    traffic: Traffic,
    model: ReplicaModel,
    result: SimResult,
    *,
    period_s: float | None = None,
    burst_s: float | None = None,
    phase_s: float = 0.0,
    timezone: str = "Etc/UTC",
    metric_window_s: float = 0.0,
    need: int | None = None,
    need_reason: str | None = None,
    capacity_is_bound: bool = False,
) -> str:
    """Whether reactive scaling keeps up with the bursts, and the min replicas or cron it needs.

    Period and burst length come from the trace unless given; ``phase_s`` is where bursts
    start after each period boundary on the wall clock (for the cron expression);
    ``metric_window_s`` (the rate() window the HPA reads) is named in the reaction time,
    not in the cron lead (a cron trigger is read at the next sync, without that lag).
    ``need`` / ``need_reason``: the replicas to hold through a burst and why (default
    ceil(burst peak / capacity); the headline count when the caller has one).
    ``capacity_is_bound``: the model's capacity is a lower bound (the SLO never broke in
    the run), so a violation in the simulation is load beyond the measured range: the
    advice says it is an extrapolation ("may not keep up"), never a measured violation, and
    makes its min replicas or cron conditional on that capacity.

    ``traffic``: offered requests/s over time (s); ``model``: one replica; ``result``: the
    simulation of the chosen policy on that traffic; times (``period_s``, ``burst_s``, ``phase_s``,
    ``metric_window_s``) in seconds; ``timezone``: an IANA name for the cron trigger. Returns one
    paragraph of advice (a str). Raises nothing of its own.
    """
    pattern = detect_spikes(traffic)
    if pattern is None:
        return "No bursts found in the traffic: reactive autoscaling needs no pre-scaling."
    period = period_s if period_s is not None else pattern.period_s
    burst = burst_s if burst_s is not None else pattern.burst_s
    need = need or model.replicas_for(pattern.peak_rps)
    reaction = model.cold_start_s + result.control_period_s
    first = pattern.onsets[0]
    until = first + period if period else float(result.t[-1]) + result.dt
    in_first = (result.t >= first) & (result.t < until)
    missed = float(result.violated[in_first].sum() * result.dt)
    kind = result.kind.upper()
    head = _burst_sentence(pattern, model, result, period, burst, metric_window_s)
    if missed == 0:
        return f"Reactive {kind} scaling keeps up: the first burst met the SLO; {head}"
    advice = _hold_advice(pattern.peak_rps, model.capacity_rps, need, need_reason, reaction)
    bound = model.capacity_rps if capacity_is_bound else None
    text = _missed_text(kind, missed, head, advice, bound)
    window = _cron_window(period, burst, reaction, need, phase_s, timezone)
    if window is None:
        return f"{text} (no cron schedule fits this period: keep the min replicas)."
    return (
        f"{text}: KEDA cron start '{window.start}', end '{window.end}',"
        f" desiredReplicas {need} ({timezone}; bursts {phase_s:g} s after each boundary)."
    )


def _hold_advice(
    peak_rps: float, capacity_rps: float, need: int, need_reason: str | None, reaction: float
) -> str:
    """ "set min replicas to N (why), or pre-scale to N replicas R s before each burst"; the
    why is ``need_reason``, else ceil(peak / capacity) (both req/s)."""
    sizing = need_reason or (
        f"ceil(peak {peak_rps:.0f} rps / capacity {capacity_rps:g} rps per replica)"
    )
    return (
        f"set min replicas to {need} ({sizing}),"
        f" or pre-scale to {need} replicas {reaction:g} s before each burst"
    )


def _missed_text(kind: str, missed: float, head: str, advice: str, bound: float | None) -> str:
    """The sentence for a first burst that violated the SLO for ``missed`` s in the
    simulation; ``bound``: the per-replica capacity (req/s) when it is only a lower bound
    (the SLO never broke in the run): then the violation is an extrapolation, and the
    ``advice`` holds only on that assumption."""
    if bound is None:
        return (
            f"Reactive {kind} scaling cannot keep up: the first burst violated the SLO for"
            f" {missed:g} s; {head} {advice[0].upper()}{advice[1:]}"
        )
    return (
        f"Reactive {kind} scaling may not keep up, by extrapolation beyond the measured"
        f" range: the simulation assumes one replica serves at most {bound:,.1f}"
        f" rps within the SLO, but that is a lower bound (the SLO never broke in this run),"
        f" and only on that assumption would the first burst break the SLO for {missed:g} s"
        f" (not a measured violation); {head} If a replica carries no more than"
        f" {bound:,.1f} rps, {advice}"
    )


def _cron_window(
    period: float | None, burst: float, lead: float, need: int, phase_s: float, timezone: str
) -> CronWindow | None:
    """The KEDA cron window that pre-scales to ``need`` replicas ``lead`` s before each
    burst (``prescale_windows``), or None without a period or when cron cannot express it."""
    if not period:
        return None
    windows = prescale_windows(
        period, burst, lead_s=lead, replicas=need, phase_s=phase_s, timezone=timezone
    )
    return windows[0] if windows else None


def _burst_sentence(
    pattern: SpikePattern,
    model: ReplicaModel,
    result: SimResult,
    period: float,
    burst: float,
    metric_window_s: float,
) -> str:
    """The bursts (base and peak rps, period, length, rise) and how long after the load
    arrives new replicas serve: sync or tick + rate() window + cold start."""
    reaction = model.cold_start_s + result.control_period_s
    return (
        f"bursts from {pattern.base_rps:.0f} to {pattern.peak_rps:.0f} rps"
        + (f" every {period:g} s" if period else "")
        + f", {burst:g} s long, rising from 10% to 90% of the burst in {pattern.rise_s:g} s;"
        f" new replicas serve up to {reaction + metric_window_s:g} s after the load arrives"
        f" ({result.control_period_s:g} s {'sync' if result.kind == 'hpa' else 'tick'}"
        + (
            f" + up to {metric_window_s:g} s for the rate() window to see it"
            if metric_window_s
            else ""
        )
        + f" + {model.cold_start_s:g} s cold start)."
    )


def prescale_floor(
    t: FloatArray,
    period_s: float,
    burst_s: float,
    *,
    lead_s: float,
    replicas: int,
    phase_s: float = 0.0,
) -> FloatArray | None:
    """Per step, the replicas a KEDA cron trigger from ``prescale_windows`` asks for (0 when
    inactive), with the trace starting on a period boundary of the wall clock; None when
    cron cannot express the windows.

    ``t``: step times (s, shape (n,)); the other arguments as ``prescale_windows``. Returns replicas
    per step (shape (n,)) or None. Raises nothing of its own.
    """
    if not prescale_windows(period_s, burst_s, lead_s=lead_s, replicas=replicas, phase_s=phase_s):
        return None
    every = round(period_s / 60.0)
    start = math.floor((phase_s - lead_s) / 60.0 + EPS) % every
    end = math.ceil((phase_s + burst_s) / 60.0 - EPS) % every
    minute = np.floor(np.asarray(t, dtype=float) / 60.0 + EPS).astype(int) % every
    active = (
        (minute >= start) & (minute < end) if start < end else (minute >= start) | (minute < end)
    )
    return np.where(active, float(replicas), 0.0)
