"""The rows of the ``--dry-run`` chart: one tick of a round length (0.2 s, 5 s, 1 min, ...)
chosen so any plan, from a second to days, has between 10 and 25 rows, and what the plan
asks in each tick: its highest rate (or concurrency), so a burst shorter than a tick still
shows at its height; a replayed trace's arrivals, counted, as a mean rate."""

from __future__ import annotations

import math
from itertools import pairwise

import numpy as np

from benchctl.plan.shapes import Plan

MAX_ROWS = 25
# Round tick lengths in seconds, each at most 2.5x the one before it (so the smallest tick
# giving at most 25 rows gives at least 25 / 2.5 = 10): 1-2-5 steps below a minute, then
# minutes, hours and days.
_MINUTE, _HOUR, _DAY = 60.0, 3600.0, 86400.0
TICKS = (
    *(m * 10.0**e for e in range(-3, 2) for m in (1, 2, 5)),  # 1 ms .. 50 s
    _MINUTE, 2 * _MINUTE, 5 * _MINUTE, 10 * _MINUTE, 20 * _MINUTE, 30 * _MINUTE,
    _HOUR, 2 * _HOUR, 5 * _HOUR, 10 * _HOUR, _DAY,
    *(m * 10.0**e * _DAY for e in range(0, 4) for m in (2, 5, 10)),  # 2 days .. 10,000 days
)  # fmt: skip


def chart_tick(duration: float) -> float:
    """The smallest round tick (``TICKS``) that splits ``duration`` seconds into at most
    ``MAX_ROWS`` (25) rows; a plan of 4 s gets 0.2 s (20 rows), one of 2 min 5 s (24 rows),
    one of 3 h 10 min (19 rows). For a plan too short or too long for every tick:
    ``duration / MAX_ROWS``. Raises nothing; ``duration`` <= 0 gives 1 s."""
    if not math.isfinite(duration) or duration <= 0:
        return 1.0
    for tick in TICKS:
        if rows_for(duration, tick) <= MAX_ROWS:
            return tick
    return duration / MAX_ROWS


def rows_for(duration: float, tick: float) -> int:
    """Rows a chart of ``duration`` seconds in ticks of ``tick`` seconds has (the last one
    may be partial): ceil(duration / tick), with a millionth of a tick of slack for
    floating point (4 s in 0.2 s ticks is 20 rows, not 21)."""
    return max(1, math.ceil(duration / tick - 1e-6))


def chart_rows(plan: Plan, tick: float | None = None) -> list[tuple[float, float, float]]:
    """(start s, end s, value) per row of the chart of ``plan`` in ticks of ``tick`` seconds
    (default ``chart_tick(plan.duration)``); the last row ends at the plan's end.

    The value (``chart_measure``): open loop with a rate profile, the highest rate (req/s)
    the profile reaches in the row; replayed arrival times, their count in the row over
    its length (req/s); closed loop, the highest concurrency. 0 where nothing is planned."""
    tick = tick or chart_tick(plan.duration)
    count = rows_for(plan.duration, tick)
    edges = np.minimum(np.arange(count + 1) * tick, plan.duration)
    edges[-1] = plan.duration
    if plan.profile is not None:
        values = [_peak_rate(plan, a, b) for a, b in pairwise(edges)]
    elif plan.arrival_times is not None:
        counts, _ = np.histogram(plan.arrival_times, bins=edges)
        widths = np.diff(edges)
        values = list(counts / np.where(widths > 0, widths, 1.0))
    else:
        values = [_peak_level(plan, a, b) for a, b in pairwise(edges)]
    return [
        (float(a), float(b), float(v)) for (a, b), v in zip(pairwise(edges), values, strict=True)
    ]


def chart_measure(plan: Plan) -> str:
    """What a row of ``chart_rows`` holds, in words: "highest" or (replayed arrival times)
    "mean"."""
    return "mean" if plan.profile is None and plan.arrival_times is not None else "highest"


def _peak_rate(plan: Plan, start: float, end: float) -> float:
    """The highest rate of the (piecewise-linear) profile in [start, end): at ``start``,
    at each breakpoint inside (both sides of a jump), and just before ``end``."""
    profile = plan.profile
    assert profile is not None
    inside = profile.rates[(profile.times > start) & (profile.times < end)]
    before_end = np.nextafter(end, start)
    edges = profile.rate_at(np.array([start, before_end]))
    return float(max(edges.max(), inside.max(initial=0.0)))


def _peak_level(plan: Plan, start: float, end: float) -> float:
    """Closed loop: the highest ``plan.concurrency_at`` in [start, end)."""
    starts = [s for s, _ in plan.levels if start < s < end]
    return float(max(plan.concurrency_at(t) for t in [start, *starts]))
