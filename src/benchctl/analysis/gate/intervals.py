"""Confidence intervals of a change between baseline and candidate: the block bootstrap over
windows of intended send time, and runs as the unit (Student's t on per-run values, see
``run_level``), with the one-line descriptions of which was used."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from benchctl.analysis.gate.rules import (
    LATENCY,
    RATES,
    RUNS,
    SERVED,
    WINDOWS,
    RuleResult,
    StatisticsSpec,
)
from benchctl.analysis.gate.samples import Sample
from benchctl.analysis.run_level import run_level_interval

_CHUNK = 250  # resamples per matrix product (bounds memory)


def _multiplicities(rng: np.random.Generator, blocks: int, resamples: int) -> np.ndarray:
    """How often each window is drawn, per resample (resamples × blocks)."""
    return rng.multinomial(blocks, np.full(blocks, 1.0 / blocks), size=resamples).astype(np.int32)


def block_quantiles(sample: Sample, q: float, weights: np.ndarray) -> np.ndarray:
    """The q-quantile of each block-bootstrap resample (one per row of ``weights``).

    Exact for the resample (inverted CDF over the weighted, sorted latencies), but only a
    band of ranks around q is summed: the band is widened until every resample's quantile
    falls inside it, so the cost is O(resamples × band), not O(resamples × n).

    ``sample``: one run's latencies (ms) with their block index; ``q`` in (0, 1]; ``weights``: shape
    (resamples, blocks), how many times each block is drawn. Returns shape (resamples,) in ms.
    Raises ValueError (numpy) when ``weights`` has not one column per block.
    """
    order = np.argsort(sample.latency, kind="stable")
    values, blocks = sample.latency[order], sample.block[order]
    n, width = len(values), sample.blocks
    out = np.empty(len(weights))
    for first in range(0, len(weights), _CHUNK):
        w = weights[first : first + _CHUNK]
        target = np.round(q * (w @ np.bincount(blocks, minlength=width)), 9)  # nearest rank
        half = int(10 * math.sqrt(n * q * (1 - q))) + 1000
        while True:
            lo, hi = max(0, int(q * n) - half), min(n, int(q * n) + half)
            below = w @ np.bincount(blocks[:lo], minlength=width)
            upto = below + w @ np.bincount(blocks[lo:hi], minlength=width)
            if ((below < target) | (lo == 0)).all() and ((upto >= target) | (hi == n)).all():
                break
            half *= 2
        running = below[:, None] + np.cumsum(w[:, blocks[lo:hi]], axis=1)
        index = (running < target[:, None]).sum(axis=1)
        out[first : first + len(w)] = values[lo + np.minimum(index, hi - lo - 1)]
    return out


def _replicates(
    sample: Sample, metric: str, settings: StatisticsSpec, rng: np.random.Generator
) -> np.ndarray:
    """The metric over ``settings.resamples`` block-bootstrap resamples of the sample."""
    weights = _multiplicities(rng, sample.blocks, settings.resamples)
    if metric in LATENCY:
        return block_quantiles(sample, LATENCY[metric] / 100, weights)
    top, bottom = {
        "throughput_rps": (sample.ok, sample.seconds),
        "error_rate": (sample.sent - sample.ok, sample.sent),
        "drop_rate": (sample.dropped, sample.requests),
        SERVED: (sample.ok, sample.requests),
    }[metric]
    with np.errstate(invalid="ignore", divide="ignore"):
        return (weights @ top) / (weights @ bottom)


def change_interval(
    base: Sample, cand: Sample, metric: str, settings: StatisticsSpec, seed: Sequence[int]
) -> tuple[float, float]:
    """Confidence interval of the change: ratio − 1 (latency, throughput) or the difference
    (error and drop rates, as fractions). Percentile method, two-sided.

    Percentiles are resampled from at most ``max_latencies`` latencies per side; the
    interval keeps that sample's width (wider, never narrower) but is centred on the change
    computed from every latency, so it always agrees with the reported point estimate."""
    rng = np.random.default_rng([settings.seed, *seed])
    shift = 0.0
    if metric in LATENCY and max(base.n_latency, cand.n_latency) > settings.max_latencies:
        full = change_of(base.value(metric), cand.value(metric), metric)
        base, cand = (_subsample(s, settings.max_latencies, rng) for s in (base, cand))
        shift = full - change_of(base.value(metric), cand.value(metric), metric)
    with np.errstate(invalid="ignore", divide="ignore"):
        change = change_of(
            _replicates(base, metric, settings, rng),
            _replicates(cand, metric, settings, rng),
            metric,
        )
    change = change[np.isfinite(change)]
    if not len(change):
        return math.nan, math.nan
    tail = (1 - settings.confidence) / 2 * 100
    low, high = np.percentile(change, [tail, 100 - tail]) + shift
    return float(low), float(high)


def change_of(baseline: Any, candidate: Any, metric: str) -> Any:
    """Candidate against baseline for ``metric``: candidate - baseline (a difference, in the rate's
    own unit: a fraction) for the error/drop rates in RATES, else candidate / baseline - 1 (a
    relative change, 0.1 = +10%). Works on floats or numpy arrays of one shape (then elementwise). A
    zero baseline gives inf/NaN for arrays (numpy) and ZeroDivisionError for floats.
    """
    return candidate - baseline if metric in RATES else candidate / baseline - 1.0


def _subsample(sample: Sample, limit: int, rng: np.random.Generator) -> Sample:
    """At most ``limit`` latencies, drawn uniformly without replacement (seeded); a sample
    that does not hold its latencies reads the chosen ones from its runs."""
    if sample.n_latency <= limit:
        return sample
    return sample.subsample(np.sort(rng.choice(sample.n_latency, size=limit, replace=False)))


def unit_interval(
    metric: str,
    settings: StatisticsSpec,
    change: float,
    runs: tuple[Sequence[Sample], Sequence[Sample]],
    within: tuple[float, float],
) -> dict[str, Any]:
    """The interval a relative rule is decided on, and how it was made.

    ``within``: the block-bootstrap interval of the pooled samples. With at least 3 runs in
    all (and ``unit: auto``) the run-level t interval around ``change`` is used, widened to
    ``within`` where that is wider (their union); else ``within`` itself. Returns the
    RuleResult fields ci_low, ci_high, method, runs_baseline, runs_candidate, run_sd,
    within_low, within_high.

    ``metric``: the rule's metric; ``change``: the pooled change (a fraction, or a difference for
    rates); ``runs``: the baseline's and candidate's samples run by run. The bounds are in the unit
    of ``change``. Raises nothing of its own.
    """
    base_runs, cand_runs = runs
    out: dict[str, Any] = {
        "ci_low": within[0],
        "ci_high": within[1],
        "method": WINDOWS,
        "runs_baseline": len(base_runs) or None,
        "runs_candidate": len(cand_runs) or None,
        "within_low": within[0],
        "within_high": within[1],
    }
    if settings.unit == WINDOWS:
        return out
    values = [[s.value(metric) for s in side] for side in runs]
    if any(v is None for side in values for v in side):
        return out
    level = run_level_interval(
        *values, difference=metric in RATES, confidence=settings.confidence, centre=change
    )
    if level is None:
        return out
    low, high = level.low, level.high
    if math.isfinite(within[0]) and math.isfinite(within[1]):
        low, high = min(low, within[0]), max(high, within[1])
    return {**out, "ci_low": low, "ci_high": high, "method": RUNS, "run_sd": level.sd}


def method_text(spread: dict[str, Any]) -> str:
    """How a rule's interval was made, for its line in the outputs: ``(runs as the unit: 4 baseline
    + 1 candidate runs)`` when ``spread["method"]`` is RUNS, else ``(within-run block bootstrap:
    ...)``. ``spread``: the rule's interval record (``runs_baseline``, ``runs_candidate`` counts may
    be missing). Raises nothing.
    """
    k, m = spread.get("runs_baseline"), spread.get("runs_candidate")
    counted = f"{k} baseline + {m} candidate run{'s' if (m or 0) > 1 else ''}" if k else ""
    if spread.get("method") == RUNS:
        return f"(runs as the unit: {counted})"
    return f"(within-run block bootstrap{': ' + counted if counted else ''})"


def method_summary(results: Sequence[RuleResult], settings: StatisticsSpec) -> str:
    """One line for the outputs: which interval the relative rules used (Student's t on per-run
    values with runs as the unit, or the within-run block bootstrap, and why) and on how many
    baseline + candidate runs; ``"no relative rule"`` when no rule is relative, ``"none: the 4
    relative rules had no data to make one from"`` when relative rules exist but none got one.
    ``results``: every rule's result; ``settings``: the statistics settings (``unit``).
    Raises nothing.
    """
    relative = [r for r in results if r.method in (RUNS, WINDOWS)]
    used = sorted({r.method for r in relative})
    if not used:
        undecided = sum(1 for r in results if r.relative)
        if undecided:  # relative rules that never reached an interval
            rules = f"{undecided} relative rule{'s' if undecided > 1 else ''}"
            return f"none: the {rules} had no data to make one from"
        return "no relative rule"
    k = max((r.runs_baseline or 0) for r in relative)
    m = max((r.runs_candidate or 0) for r in relative)
    if used == [RUNS]:
        return (
            f"runs as the unit: Student's t on per-run values over {k} baseline + {m} "
            f"candidate runs, never narrower than the within-run block bootstrap"
        )
    why = "unit: windows" if settings.unit == WINDOWS else "fewer than 3 runs in all"
    text = f"within-run block bootstrap over {k} baseline + {m} candidate runs ({why})"
    return text if used == [WINDOWS] else f"runs as the unit where possible, else {text}"
