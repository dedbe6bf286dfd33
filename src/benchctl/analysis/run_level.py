"""Confidence intervals with runs as the unit: the spread between runs, not only inside one.

Two runs of the same configuration differ by more than their requests suggest: process
placement, other jobs on the machine, caches, the server's warm-up. A block bootstrap inside
a run cannot see that, so with several runs the gate asks how much each run's number moves
from run to run, and uses that spread (Student's t on per-run values).

Model (a one-way random-effects layout, e.g. Montgomery, *Design and Analysis of
Experiments*, ch. 13): the value of run i on side s is ``y = mu_s + e_i`` with ``e_i``
independent, mean 0, the same variance ``sigma^2`` on both sides; ``e_i`` holds both the
run-to-run effect and the run's own sampling noise. Then, with k baseline and m candidate
runs and the pooled standard deviation ``s`` (degrees of freedom ``k + m - 2``):

    (mean_c - mean_b) ± t(1 - alpha/2, k + m - 2) · s · sqrt(1/k + 1/m)

is the two-sided interval of ``mu_c - mu_b`` (Welch's form is not used: with 1-10 runs a
side, the pooled estimate is the only one that exists when a side has one run). With m = 1
this is the prediction interval of one new run. Ratio metrics (percentiles, throughput)
are compared on the log scale, so the interval of the ratio is ``exp(·) - 1``; rates (error,
drop) are compared as differences of fractions.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats


@dataclass(frozen=True)
class RunLevelInterval:
    """A run-level interval of the change (ratio − 1, or a difference of fractions).

    ``sd``: the pooled run-to-run standard deviation (log scale for ratios: 0.05 ≈ 5%);
    ``df``: its degrees of freedom; ``baseline_runs``/``candidate_runs``: k and m."""

    low: float
    high: float
    sd: float
    df: int
    baseline_runs: int
    candidate_runs: int


def run_level_interval(
    baseline: Sequence[float],
    candidate: Sequence[float],
    *,
    difference: bool,
    confidence: float,
    centre: float | None = None,
) -> RunLevelInterval | None:
    """The pooled-variance t interval of the change from per-run values (see the module).

    ``baseline``/``candidate``: one value per run (ms, req/s or a fraction). ``difference``:
    compare as ``c - b`` (rates) rather than ``c / b - 1`` (ratio metrics, on the log scale).
    ``centre``: put the interval around this change instead of the difference of per-run
    means (the gate centres it on the change of the pooled values it reports; the width is
    the run-level one). Returns None when there is no run-level spread to use: fewer than 3
    runs in all, a non-finite value, or a ratio metric with a value <= 0.

    ``confidence``: the two-sided level in (0, 1), e.g. 0.95; the half-width is t_{(1+confidence)/2,
    k+m-2} x s_pooled x sqrt(1/k + 1/m) (Student's two-sample pooled t interval). Raises nothing of
    its own (scipy's t.ppf gives NaN for a confidence outside (0, 1)).
    """
    b, c = np.asarray(baseline, dtype=float), np.asarray(candidate, dtype=float)
    k, m = len(b), len(c)
    df = k + m - 2
    if k < 1 or m < 1 or df < 1 or not (np.isfinite(b).all() and np.isfinite(c).all()):
        return None
    if not difference:
        if (b <= 0).any() or (c <= 0).any():
            return None
        b, c = np.log(b), np.log(c)
    squares = float(((b - b.mean()) ** 2).sum() + ((c - c.mean()) ** 2).sum())
    sd = math.sqrt(squares / df)
    half = float(stats.t.ppf(0.5 + confidence / 2, df)) * sd * math.sqrt(1 / k + 1 / m)
    if centre is None:
        mid = float(c.mean() - b.mean())
    else:
        if not difference and centre <= -1:
            return None
        mid = centre if difference else math.log1p(centre)
    low, high = mid - half, mid + half
    if not difference:
        low, high = math.expm1(low), math.expm1(high)
    return RunLevelInterval(low, high, sd, df, k, m)
