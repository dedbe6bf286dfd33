"""One rule's verdict on the candidate: absolute bounds on the candidate's value, relative
bounds on the confidence interval of the change against the baseline."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from benchctl.analysis.gate.exact import small_sample_interval
from benchctl.analysis.gate.intervals import change_interval, change_of, method_text, unit_interval
from benchctl.analysis.gate.offered import offered_rps, served_text
from benchctl.analysis.gate.rules import (
    CHANGE_POINT,
    LATENCY,
    OVERALL,
    RATES,
    SERVED,
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
    basis: str | None = None,
) -> RuleResult:
    """One rule's verdict, with the numbers behind it. ``runs``: the baseline's and the
    candidate's samples run by run (for run-level intervals; ``base``/``cand`` pool them).
    ``basis``: why the sides were offered different rates by design (``offered_basis``);
    then a relative throughput rule is decided on the served fraction (achieved / offered)
    of each side, not on the raw req/s (see ``gate/offered.py``).

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
        empty = _no_traffic(rule.metric, numbers["candidate"], numbers["candidate_samples"])
        too_few = empty or _too_few(rule, spec, numbers["candidate_samples"])
        verdict = too_few or _absolute(rule, numbers["candidate"])
        return RuleResult(**common, **numbers, **verdict)
    if rule.metric == "throughput_rps" and basis:
        served = _served_relative(rule, index, spec, (base, cand), numbers, runs, basis)
        return RuleResult(**common, **numbers, **served)
    relative = _relative(rule, index, spec, base, cand, numbers, runs)
    return RuleResult(**common, **numbers, **relative)


def _served_relative(
    rule: Rule,
    index: int,
    spec: GateRules,
    sides: tuple[Sample, Sample],
    numbers: dict[str, Any],
    runs: tuple[Sequence[Sample], Sequence[Sample]],
    basis: str,
) -> dict[str, Any]:
    """A relative throughput rule between sides offered different rates by design: the
    change is (candidate achieved / offered) / (baseline achieved / offered) - 1, decided as
    any relative rule (interval, small-sample widening); ``numbers`` keep the raw req/s, the
    result adds each side's offered req/s and ``basis``; the message says so first."""
    base, cand = sides
    offered = {
        "baseline_offered": offered_rps(base),
        "candidate_offered": offered_rps(cand),
        "offered_basis": basis,
    }
    b, c = numbers["baseline"], numbers["candidate"]
    if missing := _missing_side(rule.metric, b, c):
        return {"verdict": FAIL, "message": missing, **_total_loss(rule.metric, b, c), **offered}
    fractions = {**numbers, "baseline": base.value(SERVED), "candidate": cand.value(SERVED)}
    result = _relative(rule, index, spec, base, cand, fractions, runs, metric=SERVED)
    rates = [f"{r:.3g} req/s" if r else "?" for r in (offered["baseline_offered"],
             offered["candidate_offered"])]  # fmt: skip
    prefix = (
        f"throughput judged against what each side was offered ({basis}): baseline served "
        f"{served_text(fractions['baseline'])} of {rates[0]} offered, candidate "
        f"{served_text(fractions['candidate'])} of {rates[1]}; "
    )
    return {**result, **offered, "message": prefix + result["message"]}


def absolute_minimum(metric: str) -> int:
    """Fewest samples an absolute rule is decided on (unless the rule sets min_samples):
    a latency percentile p needs ceil(1 / (1 - p/100)) successful requests, so that its
    nearest rank is not simply the maximum (p50: 2, p95: 20, p99: 100, p99.9: 1000);
    throughput and error/drop rates need MIN_RATE_REQUESTS (10) requests."""
    if metric in LATENCY:
        return math.ceil(round(1.0 / (1.0 - LATENCY[metric] / 100.0), 6))
    return MIN_RATE_REQUESTS


def _no_traffic(metric: str, value: float | None, samples: int) -> dict[str, Any] | None:
    """An absolute rule on a candidate that has nothing to judge: no successful request (a
    latency percentile), a throughput of 0, or no request sent (error/drop rate). A fail,
    never "too few samples": a run that served nothing cannot meet any bound."""
    if metric in LATENCY and samples == 0:
        return {
            "verdict": FAIL,
            "message": f"no successful requests: no {metric} to meet the bound",
        }
    if metric == "throughput_rps" and (value is None or value == 0):
        return {"verdict": FAIL, "message": "no successful requests: throughput 0 req/s"}
    if metric in RATES and value is None:
        return {"verdict": FAIL, "message": f"no requests sent: no {metric}"}
    return None


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
    metric: str | None = None,
) -> dict[str, Any]:
    """A relative rule's verdict fields; ``metric``: the statistic decided on (default the
    rule's metric; SERVED for a throughput judged against the offered rate)."""
    metric = metric or rule.metric
    minimum = rule.min_samples or spec.min_samples
    smallest = min(numbers["baseline_samples"], numbers["candidate_samples"])
    inconclusive = FAIL if spec.strict else INCONCLUSIVE
    b, c = numbers["baseline"], numbers["candidate"]
    if missing := _missing_side(metric, b, c):
        return {"verdict": FAIL, "message": missing, **_total_loss(metric, b, c)}
    if metric not in RATES and b <= 0:  # a ratio to 0 ms has no meaning
        return {"verdict": inconclusive, "message": f"the baseline's {metric} is 0"}
    kind = "difference" if metric in RATES else "ratio"
    change = change_of(b, c, metric)
    within = change_interval(base, cand, metric, spec.statistics, (index,))
    spread = unit_interval(metric, spec.statistics, change, runs, within)
    few = smallest < minimum
    if few:  # widened to the exact small-sample interval (None: cannot be formed)
        exact = small_sample_interval(base, cand, metric, spec.statistics.confidence)
        if exact is None:
            return {
                "verdict": inconclusive,
                "message": f"only {smallest} samples (min_samples {minimum}): not decided",
            }
        spread = _widened(spread, exact)
    low, high = spread["ci_low"], spread["ci_high"]
    if math.isnan(low) or math.isnan(high):
        return {"verdict": inconclusive, "message": "the bootstrap gave no finite values"}
    level = f"{spec.statistics.confidence:.0%} CI {method_text(spread)}"
    if few:
        level += f", widened to the exact interval for {smallest} samples"
    shortfall = (smallest, minimum) if few else None
    verdict, message = _decided(rule, change, kind, (low, high), level, shortfall, inconclusive)
    result = {"verdict": verdict, "message": message, "change": change, "change_kind": kind}
    return {**result, **spread}


def _decided(
    rule: Rule,
    change: float,
    kind: str,
    interval: tuple[float, float],
    level: str,
    shortfall: tuple[int, int] | None,
    inconclusive: str,
) -> tuple[str, str]:
    """(verdict, message) of a relative rule from its ``change`` (a fraction; a difference of
    rates for ``kind`` "difference") and its ``interval`` (low, high) described as ``level``.
    ``shortfall``: (samples, min_samples) when the smaller side had fewer than min_samples;
    then an interval reaching beyond the limit is ``inconclusive`` (FAIL under strict)."""
    low, high = interval
    if rule.max_increase is not None:
        word, limit = "increase", rule.max_increase
        verdict = interval_verdict(low, high, limit)
    else:
        word, limit = "decrease", rule.max_decrease
        verdict = interval_verdict(-high, -low, limit)
    within_limit = verdict == PASS
    verdict = PASS if verdict == INCONCLUSIVE else verdict
    unit = " pp" if kind == "difference" else "%"
    described = (
        f"change {_pct(change)}{unit} ({level} {_pct(low)}{unit} to {_pct(high)}{unit}), "
        f"allowed {word} {limit * 100:g}{unit}"
    )
    if verdict == FAIL:
        return verdict, f"regression: {described}; the whole interval is beyond the limit"
    if shortfall is not None and not within_limit:  # too few samples to rule either way
        smallest, minimum = shortfall
        return inconclusive, (
            f"only {smallest} samples (min_samples {minimum}): {described}; the interval "
            "reaches beyond the limit: not decided"
        )
    if (change > limit) if word == "increase" else (change < -limit):
        return verdict, f"not proven: {described}; the interval reaches back within the limit"
    return verdict, described


def interval_verdict(low: float, high: float, limit: float) -> str:
    """The one rule by which an interval [low, high] of how much worse a side is (a change
    or a difference, larger is worse) is decided against the ``limit`` allowed, shared by
    the gate's relative rules and a split run's percentile verdicts (analysis/verdicts.py;
    trial 7, F8): FAIL only when the whole interval lies past the limit (low > limit),
    PASS when it lies within (high <= limit), else INCONCLUSIVE: the interval reaches past
    the limit but back within it (the gate calls that a pass "not proven" when both sides
    have min_samples, not decided below). Raises nothing."""
    if low > limit:
        return FAIL
    return PASS if high <= limit else INCONCLUSIVE


def _missing_side(metric: str, b: float | None, c: float | None) -> str:
    """Why a relative rule cannot compare the runs because a side served nothing (no
    successful request for a latency, a throughput of 0, no request sent for a rate), naming
    the side; "" when both sides have a value. Such a rule fails: nothing cannot pass."""
    if metric == "throughput_rps" and b and c == 0:
        return f"throughput {b:.3g} -> 0 req/s (-100%): the candidate has no successful requests"
    for side, value in (("baseline", b), ("candidate", c)):
        if value is None or (metric == "throughput_rps" and value <= 0):
            what = "sent no requests" if metric in RATES else "has no successful requests"
            return f"the {side} {what}: no {metric} to compare"
    return ""


def _total_loss(metric: str, b: float | None, c: float | None) -> dict[str, Any]:
    """A throughput that fell to 0 from a baseline above 0: the change is -100%, certain."""
    if metric == "throughput_rps" and b and c == 0:
        return {"change": -1.0, "change_kind": "ratio", "ci_low": -1.0, "ci_high": -1.0}
    return {}


def _widened(spread: dict[str, Any], exact: tuple[float, float]) -> dict[str, Any]:
    """The interval record widened to contain the exact small-sample interval ``exact``
    (kept as ``exact_low``/``exact_high``)."""
    low, high = spread["ci_low"], spread["ci_high"]
    low = exact[0] if math.isnan(low) else min(low, exact[0])
    high = exact[1] if math.isnan(high) else max(high, exact[1])
    return {**spread, "ci_low": low, "ci_high": high, "exact_low": exact[0], "exact_high": exact[1]}


def _pct(value: float) -> str:
    return "?" if math.isnan(value) else f"{value * 100:+.1f}"
