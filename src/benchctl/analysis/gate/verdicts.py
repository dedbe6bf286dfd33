"""One rule's verdict on the candidate: absolute bounds on the candidate's value, relative
bounds on the confidence interval of the change against the baseline."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from benchctl.analysis.gate.intervals import change_interval, change_of, method_text, unit_interval
from benchctl.analysis.gate.rules import (
    CHANGE_POINT,
    LATENCY,
    OVERALL,
    RATES,
    GateRules,
    Rule,
    RuleResult,
)
from benchctl.analysis.gate.runs import LoadedRun
from benchctl.analysis.gate.samples import Sample
from benchctl.analysis.summary import MIN_RATE_REQUESTS

PASS, FAIL, INCONCLUSIVE = "pass", "fail", "inconclusive"  # a rule's verdict


def rule_name(rule: Rule, phase: str) -> str:
    """A short readable name of ``rule`` in ``phase``: the rule's own ``name`` when it has one, else
    e.g. ``p99_ms increase <= 10%``, ``error_rate increase <= 0.5pp`` (rates in percentage points),
    ``throughput_rps >= 100``, ``status == completed`` or ``p50_ms no shift in last 5 runs``, with
    `` [phase]`` appended unless the phase is overall. Raises nothing for a validated Rule.
    """
    if rule.name:
        return rule.name
    limit = getattr(rule, rule.bound)
    if rule.bound == "equals":
        text = f"{rule.metric} == {str(limit).lower()}"
    elif rule.bound == CHANGE_POINT:
        text = f"{rule.metric} no shift in last {limit} runs"
    elif not rule.relative:
        text = f"{rule.metric} {'<=' if rule.bound == 'max' else '>='} {limit:g}"
    else:
        unit = "pp" if rule.metric in RATES else "%"
        word = "increase" if rule.bound == "max_increase" else "decrease"
        text = f"{rule.metric} {word} <= {limit * 100:g}{unit}"
    return text if phase == OVERALL else f"{text} [{phase}]"


def evaluate(
    rule: Rule,
    index: int,
    spec: GateRules,
    base: Sample,
    cand: Sample,
    candidate: LoadedRun,
    runs: tuple[Sequence[Sample], Sequence[Sample]] = ((), ()),
) -> RuleResult:
    """One rule's verdict, with the numbers behind it. ``runs``: the baseline's and the
    candidate's samples run by run (for run-level intervals; ``base``/``cand`` pool them).

    ``rule``: a validated rule; ``index``: its position (seeds its bootstrap); ``spec``: the rules
    file (phase, statistics settings, strict); ``base``/``cand``: the pooled samples (latencies in
    ms, counts); ``candidate``: the candidate run (status, saturation). Returns a RuleResult:
    verdict PASS/FAIL/INCONCLUSIVE, the baseline and candidate values in the metric's unit, the
    change (a fraction, or percentage points for rates) with its interval. Raises nothing of its own
    for a validated rule.
    """
    phase = rule.phase or spec.phase
    common: dict[str, Any] = {
        "name": rule_name(rule, phase),
        "metric": rule.metric,
        "bound": rule.bound,
        "limit": getattr(rule, rule.bound),
        "phase": phase,
        "relative": rule.relative,
    }
    if rule.metric in ("status", "generator_saturated"):
        value = candidate.status if rule.metric == "status" else candidate.saturated
        verdict = PASS if value == rule.equals else FAIL
        message = f"candidate {rule.metric} is {str(value).lower()}"
        return RuleResult(**common, verdict=verdict, message=message, candidate=value)
    numbers = {
        "baseline": base.value(rule.metric),
        "candidate": cand.value(rule.metric),
        "baseline_samples": base.samples(rule.metric),
        "candidate_samples": cand.samples(rule.metric),
    }
    if not rule.relative:
        too_few = _too_few(rule, spec, numbers["candidate_samples"])
        verdict = too_few or _absolute(rule, numbers["candidate"])
        return RuleResult(**common, **numbers, **verdict)
    relative = _relative(rule, index, spec, base, cand, numbers, runs)
    return RuleResult(**common, **numbers, **relative)


def absolute_minimum(metric: str) -> int:
    """Fewest samples an absolute rule is decided on (unless the rule sets min_samples):
    a latency percentile p needs ceil(1 / (1 - p/100)) successful requests, so that its
    nearest rank is not simply the maximum (p50: 2, p95: 20, p99: 100, p99.9: 1000);
    throughput and error/drop rates need MIN_RATE_REQUESTS (10) requests."""
    if metric in LATENCY:
        return math.ceil(round(1.0 / (1.0 - LATENCY[metric] / 100.0), 6))
    return MIN_RATE_REQUESTS


def _too_few(rule: Rule, spec: GateRules, samples: int) -> dict[str, Any] | None:
    """An absolute rule on too few samples: inconclusive (fail when strict), said so."""
    minimum = rule.min_samples or absolute_minimum(rule.metric)
    if samples >= minimum:
        return None
    return {
        "verdict": FAIL if spec.strict else INCONCLUSIVE,
        "message": f"only {samples} samples (needs {minimum} for {rule.metric}): not decided",
    }


def _absolute(rule: Rule, value: float | None) -> dict[str, Any]:
    if value is None:
        return {"verdict": FAIL, "message": f"candidate has no data for {rule.metric}"}
    limit = rule.max if rule.max is not None else rule.min
    good = value <= limit if rule.max is not None else value >= limit
    side = "at most" if rule.max is not None else "at least"
    return {
        "verdict": PASS if good else FAIL,
        "message": f"candidate {rule.metric} {value:.4g}, must be {side} {limit:g}",
    }


def _relative(
    rule: Rule,
    index: int,
    spec: GateRules,
    base: Sample,
    cand: Sample,
    numbers: dict[str, Any],
    runs: tuple[Sequence[Sample], Sequence[Sample]] = ((), ()),
) -> dict[str, Any]:
    minimum = rule.min_samples or spec.min_samples
    smallest = min(numbers["baseline_samples"], numbers["candidate_samples"])
    inconclusive = FAIL if spec.strict else INCONCLUSIVE
    if smallest < minimum:
        return {
            "verdict": inconclusive,
            "message": f"only {smallest} samples (min_samples {minimum}): not decided",
        }
    b, c = numbers["baseline"], numbers["candidate"]
    if b is None or c is None or (rule.metric not in RATES and b <= 0):
        return {"verdict": inconclusive, "message": "no baseline or candidate value to compare"}
    kind = "difference" if rule.metric in RATES else "ratio"
    change = change_of(b, c, rule.metric)
    within = change_interval(base, cand, rule.metric, spec.statistics, (index,))
    spread = unit_interval(rule.metric, spec.statistics, change, runs, within)
    low, high = spread["ci_low"], spread["ci_high"]
    if not (math.isfinite(low) and math.isfinite(high)):
        return {"verdict": inconclusive, "message": "the bootstrap gave no finite values"}
    level = f"{spec.statistics.confidence:.0%} CI {method_text(spread)}"
    if rule.max_increase is not None:
        verdict = FAIL if low > rule.max_increase else PASS
        word, limit = "increase", rule.max_increase
    else:
        verdict = FAIL if high < -rule.max_decrease else PASS
        word, limit = "decrease", rule.max_decrease
    unit = " pp" if kind == "difference" else "%"
    described = (
        f"change {_pct(change)}{unit} ({level} {_pct(low)}{unit} to {_pct(high)}{unit}), "
        f"allowed {word} {limit * 100:g}{unit}"
    )
    if verdict == FAIL:
        message = f"regression: {described}; the whole interval is beyond the limit"
    elif (change > limit) if word == "increase" else (change < -limit):
        message = f"not proven: {described}; the interval reaches back within the limit"
    else:
        message = described
    result = {"verdict": verdict, "message": message, "change": change, "change_kind": kind}
    return {**result, **spread}


def _pct(value: float) -> str:
    return f"{value * 100:+.1f}" if math.isfinite(value) else "?"
