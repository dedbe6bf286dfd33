"""Capacity search, choosing levels: which offered rate comes next, each level's plan,
and what search.json keeps of a level.

Open-loop levels climb (doubling from ``start_rate``) until a level breaks the SLO, then
bisect between the last good and the first bad level until ``first_bad / last_good - 1 <=
resolution``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from benchctl.config import CapacityScenario, SteadyScenario
from benchctl.plan.shapes import WARMUP, Phase, Plan, plan_scenario
from benchctl.search.judging import FLUSH_LAG_S, LevelVerdict

MIN_RATE_FACTOR = 64  # never search below start_rate / 64


@dataclass
class LevelRecord:
    """One level as search.json keeps it (times on the search run's clock)."""

    name: str
    offered_rps: float
    verdict: LevelVerdict
    start: float
    settle_end: float
    decided_at: float
    hold_s: float

    def to_json(self) -> dict[str, Any]:
        """The level as search.json keeps it: rates in req/s, latency in ms, times in s
        on the search run's clock, the verdict and its reason."""
        v = self.verdict
        return {
            "name": self.name,
            "offered_rps": self.offered_rps,
            "achieved_rps": v.achieved_rps,
            "latency_ms": v.latency_ms,
            "measured_latency_ms": v.measured_latency_ms,  # over all it measured: its phase
            "samples": v.samples,
            "error_rate": v.error_rate,
            "arrived_rps": v.arrived_rps,  # offered in the judged windows (Poisson draws)
            "achieved_over_offered": v.ratio,  # achieved_rps / arrived_rps
            "good": v.good,
            "stable": v.stable,
            "overloaded": v.overloaded,
            "interrupted": v.interrupted,  # stopped before decided: no verdict on the SLO
            "reason": v.reason,
            "start": self.start,
            "measured_from": self.settle_end,
            "decided_at": self.decided_at,
            "hold_s": self.hold_s,
            **self._judged_windows(),
        }

    def _judged_windows(self) -> dict[str, Any]:
        """The windows ``latency_ms``, ``achieved_rps`` and ``arrived_rps`` were taken over:
        completions from ``judged_from`` to ``judged_to`` (s on the search run's clock),
        ``window_s`` each; {} when nothing was judged."""
        v = self.verdict
        if v.judged_to <= v.judged_from:
            return {}
        return {
            "judged_from": self.start + v.judged_from,
            "judged_to": self.start + v.judged_to,
            "window_s": v.window_s,
        }


def level_phases(level: LevelRecord, last_sent: float | None) -> list[dict[str, Any]]:
    """The run-clock phases of one level (s): ``warmup`` over its settle time, the level
    itself from ``measured_from`` to ``decided_at``, and ``warmup`` again over its tail, the
    requests sent after the decision until the engine stopped (up to ``last_sent``, the
    level's last intended send; None or not after ``decided_at``: no tail). The warm-up's
    seconds in summary.json are then the time its rows cover, so its rate is theirs."""
    phases = [
        {"name": WARMUP, "start": level.start, "end": level.settle_end},
        {"name": level.name, "start": level.settle_end, "end": level.decided_at},
    ]
    if last_sent is not None and last_sent > level.decided_at:
        phases.append({"name": WARMUP, "start": level.decided_at, "end": last_sent})
    return phases


def next_rate(levels: list[tuple[float, bool]], s: CapacityScenario) -> tuple[float | None, str]:
    """The next level's offered rate from (rate, good) so far, or (None, why it stops)."""
    if not levels:
        return min(s.start_rate, s.max_rate), "start"
    good = [rate for rate, ok in levels if ok]
    best = max(good) if good else None
    above = [rate for rate, ok in levels if not ok and (best is None or rate > best)]
    if not above:
        assert best is not None
        if best >= s.max_rate:
            return None, f"reached max_rate {s.max_rate:g} rps without breaking the SLO"
        return min(best * 2, s.max_rate), "climb"
    bad = min(above)
    if best is None:
        lower = bad / 2
        if lower < s.start_rate / MIN_RATE_FACTOR:
            return None, f"the SLO broke even at {bad:g} rps"
        return lower, "below the first level"
    if bad / best - 1 <= s.resolution:
        return None, f"resolution reached: {best:g}–{bad:g} rps"
    return (best + bad) / 2, "bisect"


def level_plan(scenario: CapacityScenario, rate: float, index: int, name: str) -> Plan:
    """The plan of level ``index`` (from 0): a steady open-loop schedule at ``rate`` req/s
    with the search's arrivals, seed + index and limits, long enough for ``settle`` +
    ``max_hold`` and the flush lag; one phase named ``name``."""
    duration = scenario.settle + scenario.max_hold + FLUSH_LAG_S + 1.0
    steady = SteadyScenario(
        kind="steady",
        rate=rate,
        duration=duration,
        arrivals=scenario.arrivals,
        seed=scenario.seed + index,
        drop_after=scenario.drop_after,
        max_in_flight=scenario.max_in_flight,
    )
    plan = plan_scenario(steady)
    return dataclasses.replace(plan, phases=(Phase(name, 0.0, duration),))
