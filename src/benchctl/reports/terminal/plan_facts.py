"""What a run will do, in one line, from the effective scenario (file values with --rate,
--duration and --set applied) and the time scale: arrivals, rates, durations, levels.

A scenario's ``description`` is text its author wrote once; it cannot follow an override
(``--set arrivals=constant``, ``--set period=2m``, ``--time-scale 0.1``). The numbers and
the kind of gaps a user is shown come from here instead, computed from the values the run
uses, so they are the plan's own.
"""

from __future__ import annotations

from typing import Any

from benchctl.rundir.requests import WARMUP


def plan_facts(scenario: Any, plan: Any, time_scale: float = 1.0) -> str:
    """One line (no markup) saying what ``plan`` (``plan.shapes.Plan``) of ``scenario``
    (a validated scenario model) at ``time_scale`` sends: open or closed loop, Poisson or
    constant gaps, rates in req/s and durations as the run will take them (scaled), then
    the warm-up the plan keeps (which may be shorter than asked; the plan's note says so).
    Returns "" for a kind it does not know."""
    line = _facts(scenario, plan, lambda seconds: _time(seconds * time_scale))
    warmup = next((p.end - p.start for p in plan.phases if p.name == WARMUP), 0.0)
    if line and warmup > 0:
        line += f"; warm-up: the first {_time(warmup)}, not counted"
    return line


def _facts(s: Any, plan: Any, t: Any) -> str:
    """The line without the warm-up; ``t`` formats a duration of the scenario, scaled."""
    kind = getattr(s, "kind", "")
    gaps = "open loop, " + ("Poisson" if getattr(s, "arrivals", "") == "poisson" else "constant")
    gaps += " gaps"
    if kind in ("steady", "soak"):
        return f"{gaps}: {_rate(s.rate)} req/s for {t(s.duration)}"
    if kind == "ramp":
        held = f", then held at {_rate(s.end_rate)} req/s for {t(s.hold)}" if s.hold else ""
        ramp = f"{_rate(s.start_rate)} to {_rate(s.end_rate)} req/s over {t(s.ramp_time)}"
        return f"{gaps}: {ramp}{held}"
    if kind == "step":
        return f"{gaps}: {', '.join(_rate(r) for r in s.rates)} req/s, {t(s.step_duration)} each"
    if kind == "spike":
        return _spike(s, gaps, t)
    if kind == "replay":
        loops = f", {s.loop} times over" if s.loop > 1 else ""
        if plan.arrival_times is not None:
            return f"open loop: the trace's own arrival times{loops}"
        return f"{gaps}: the trace's rate of each second{loops}"
    if kind == "sweep":
        levels = ", ".join(str(n) for n in s.concurrency_levels())
        return f"closed loop: {levels} requests in flight in turn, {t(s.hold)} each"
    if kind == "capacity":  # the search's levels are not time-scaled (plan.shapes)
        return (
            f"{gaps}: levels from {_rate(s.start_rate)} req/s, doubling then bisecting, "
            f"at most {_rate(s.max_rate)} req/s; {_time(s.max_duration)} in all at most"
        )
    if kind == "batch":
        size, concurrency = s.settings()[0]
        return (
            f"closed loop: a set of {s.inputs:,} inputs, {size} a request, {concurrency} in "
            f"flight, until it is sent or {t(s.max_duration)} have passed"
        )
    return ""


def _spike(s: Any, gaps: str, t: Any) -> str:
    """A spike's rates, period, count and the burst's shape."""
    peak = s.base_rate * s.burst_multiplier
    start = s.period / 2 if s.burst_at is None else s.burst_at
    fall = s.rise_time if s.fall_time is None else s.fall_time
    periods = f"{s.periods} periods" if s.periods > 1 else "one period"
    return (
        f"{gaps}: {_rate(s.base_rate)} req/s with a burst to {_rate(peak)} req/s "
        f"(x{s.burst_multiplier:g}) every {t(s.period)}, {periods}; each burst starts "
        f"{t(start)} into its period, rises over {t(s.rise_time)}, holds {t(s.burst_length)} "
        f"and falls over {t(fall)}"
    )


def _rate(value: float) -> str:
    """A rate as written: ``50``, ``0.5``, ``1,200``."""
    return f"{value:,.0f}" if value == int(value) else f"{value:,.6g}"


def _time(seconds: float) -> str:
    """A duration as the plan shows it (``run_summary.plan_time``: 200ms, 15.5s, 1m30s)."""
    from benchctl.reports.terminal.run_summary import plan_time

    return plan_time(seconds)
