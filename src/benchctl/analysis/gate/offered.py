"""Throughput judged against what each side was offered, when the sides were offered different
rates by design: two arms of a split run (``RUN@stable`` 70%, ``RUN@canary`` 30%: each arm's
offered rate is set by its share), or runs planned at different rates. There the raw
throughput change (-57% for a 30% canary against a 70% control) is the design, not a
regression; what can regress is the share of its offered requests a side served. A
``throughput_rps`` relative rule then judges the served fraction, achieved / offered
(successful requests / requests scheduled to that side, dropped included), of the candidate
against the baseline's: a canary that served its whole share changes by 0%, one that served
half of it by -50%.

The same holds for open-loop runs generally (trial 7, F7): their arrivals are a random draw
of the plan (Poisson arrivals: 167 of 200 planned in 10 s with another seed), which the
server does not choose, so a relative ``throughput_rps`` rule between open-loop runs is
decided on the served fraction too, and a seed change cannot fail a gate. Closed-loop runs
(each user sends when its last answer came) keep achieved throughput: there the server's
speed sets the rate."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from benchctl.analysis.gate.rules import SERVED
from benchctl.analysis.gate.runs import LoadedRun

OPEN_LOOP = "open-loop runs: how many requests arrived is the seed's draw, not the server's doing"

__all__ = [
    "OPEN_LOOP",
    "SERVED",
    "arm_share",
    "designed_rate",
    "offered_basis",
    "offered_rps",
    "served_text",
]


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def arm_share(run: LoadedRun) -> float | None:
    """The configured share (0-1) of ``RUN@ARM``'s arm (run.json ``arms.arms[].share``, else
    weight / sum of weights); None for a whole run or an arm without one."""
    if run.arm is None:
        return None
    arms = [a for a in _dict(run.info.get("arms")).get("arms") or [] if isinstance(a, dict)]
    mine = next((a for a in arms if a.get("name") == run.arm), None)
    if mine is None:
        return None
    if isinstance(mine.get("share"), int | float):
        return float(mine["share"])
    total = sum(float(a.get("weight") or 0.0) for a in arms)
    return float(mine.get("weight") or 0.0) / total if total > 0 else None


def designed_rate(run: LoadedRun) -> float | None:
    """The rate (req/s) the run's plan offers this side on average: run.json
    ``plan.expected_requests / plan.duration`` of an open-loop plan, times the arm's share
    for ``RUN@ARM``; None when the plan does not say (closed loop, older runs)."""
    plan = _dict(run.info.get("plan"))
    expected, duration = plan.get("expected_requests"), plan.get("duration")
    if not plan.get("open_loop") or not expected or not duration:
        return None
    try:
        rate = float(expected) / float(duration)
    except (TypeError, ValueError):
        return None
    share = arm_share(run)
    return rate * share if run.arm is not None and share is not None else rate


def offered_basis(base_runs: Sequence[LoadedRun], cands: Sequence[LoadedRun]) -> str | None:
    """Why throughput must be judged against what each side was offered, or None when raw
    throughput is compared (closed-loop runs, or runs whose plan does not say).

    Different by design: the planned rates (``designed_rate``) differ by more than 0.1%
    between any two runs of the two sides, or, when a plan does not say, the sides are arms
    with different configured shares (``arm_share``). Returns e.g. ``"split arms: offered
    by their shares, 70% and 30%"``. Otherwise, when every run is open loop (run.json
    ``plan.open_loop``), ``OPEN_LOOP``: their arrivals vary with the seed. Raises nothing."""
    runs = [*base_runs, *cands]
    shares = [arm_share(run) for run in runs]
    rates = [designed_rate(run) for run in runs]
    arms = any(run.arm is not None for run in runs)
    if all(rate is not None for rate in rates):
        known = [float(rate) for rate in rates if rate is not None]
        if max(known) - min(known) <= 1e-3 * max(known):
            return OPEN_LOOP
        if arms:
            return "split arms: offered by their shares, " + _shares(shares)
        listed = " vs ".join(f"{rate:.3g}" for rate in dict.fromkeys(known))
        return f"the plans offered different rates ({listed} req/s)"
    if arms and None not in shares and len({round(float(s), 9) for s in shares if s}) > 1:
        return "split arms: offered by their shares, " + _shares(shares)
    return OPEN_LOOP if all(_dict(run.info.get("plan")).get("open_loop") for run in runs) else None


def _shares(shares: Sequence[float | None]) -> str:
    listed = list(dict.fromkeys(f"{s:.0%}" for s in shares if s is not None))
    return " and ".join([", ".join(listed[:-1]), listed[-1]]) if len(listed) > 1 else listed[0]


def offered_rps(sample: Any) -> float | None:
    """Requests scheduled to the side per second (dropped included) of a gate Sample."""
    seconds = float(sample.seconds.sum())
    return float(sample.requests.sum()) / seconds if seconds > 0 else None


def served_text(fraction: float | None) -> str:
    """``"100.0%"`` of its offered requests served; ``"?"`` when unknown."""
    return "?" if fraction is None or math.isnan(fraction) else f"{fraction:.1%}"
