"""Small-sample intervals of a change, valid at any number of requests: what a relative rule
with fewer than ``min_samples`` requests on a side is decided on (widened to the block
bootstrap's interval where that is wider), so a change the few requests do show (a canary's
p50 +268% on 100 requests an arm) is decided, and only one they cannot show is
inconclusive. They assume independent requests, as a split run's verdict does (its arms get
requests at random); the union with the block bootstrap keeps bursts in.

- Latency percentiles: the distribution-free order-statistic interval of each side's
  q-quantile (``x_(l) <= xi_q <= x_(u)`` with ``B ~ Binomial(n, q)``: coverage
  ``P(l <= B <= u - 1)``; Hollander & Wolfe, *Nonparametric Statistical Methods*, sec. 3.6,
  the same construction as for the median), each at level ``1 - a/2`` so that both hold at
  ``1 - a`` (Bonferroni); the ratio's interval is ``[L_c / U_b - 1, U_c / L_b - 1]``. A side
  too small for a bound (p99 on 100 requests has no upper bound) leaves it open.
- Throughput: successes as Poisson counts, ``k_c`` in ``T_c`` s and ``k_b`` in ``T_b`` s.
  Given ``k = k_b + k_c``, ``k_c ~ Binomial(k, pi)`` with ``pi = T_c r_c / (T_c r_c + T_b
  r_b)``; the Clopper-Pearson interval of ``pi`` gives the rate ratio's
  ``pi / (1 - pi) * T_b / T_c`` (the conditional method, e.g. Ulm 1990). A paced generator
  sends less variable counts than Poisson: this only widens the interval.
- Served fraction (throughput judged against what each side was offered, see
  ``offered``): successes among the requests scheduled to a side are a binomial proportion;
  each side's Wilson interval at ``1 - a/2`` (both hold at ``1 - a``, Bonferroni) gives the
  ratio's ``[L_c / U_b - 1, U_c / L_b - 1]``, as for latencies.
- Error and drop rates: Newcombe's hybrid score interval of a difference of two proportions
  (Newcombe 1998, *Stat. Med.* 17, method 10), from each side's Wilson interval.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

from benchctl.analysis.gate.rules import LATENCY, SERVED
from benchctl.analysis.gate.samples import Sample

Bounds = tuple[float, float]


def quantile_bounds(values: np.ndarray, q: float, confidence: float) -> Bounds:
    """The order-statistic interval of the q-quantile (0 < q < 1) of ``values`` (any unit):
    ``(x_(l), x_(u))`` at two-sided ``confidence``; 0 for a missing lower bound, inf for a
    missing upper one (too few values). ValueError for no values."""
    data = np.sort(np.asarray(values, dtype=float))
    n = len(data)
    if not n:
        raise ValueError("no values")
    tail = (1.0 - confidence) / 2.0
    low_rank = int(stats.binom.ppf(tail, n, q))  # F(l - 1) < tail: l >= 1 when F(0) < tail
    high_rank = int(stats.binom.ppf(1.0 - tail, n, q)) + 1  # 1 - F(u - 1) <= tail
    low = float(data[low_rank - 1]) if low_rank >= 1 else 0.0
    high = float(data[high_rank - 1]) if high_rank <= n else math.inf
    return low, high


def latency_ratio(base: np.ndarray, cand: np.ndarray, q: float, confidence: float) -> Bounds:
    """Interval of ``quantile(cand) / quantile(base) - 1`` from each side's order-statistic
    interval at ``1 - (1 - confidence) / 2`` (both hold at ``confidence``); -1 or inf where a
    side has no bound. ValueError when a side has no values."""
    level = 1.0 - (1.0 - confidence) / 2.0
    b_low, b_high = quantile_bounds(base, q, level)
    c_low, c_high = quantile_bounds(cand, q, level)
    low = c_low / b_high - 1.0 if math.isfinite(b_high) and b_high > 0 else -1.0
    high = c_high / b_low - 1.0 if b_low > 0 else math.inf
    return low, high


def quantile_difference(base: np.ndarray, cand: np.ndarray, q: float, confidence: float) -> Bounds:
    """Interval (the values' unit, ms for latencies) of ``quantile(cand) - quantile(base)``
    built as ``latency_ratio``: each side's order-statistic interval at ``1 - (1 -
    confidence) / 2`` (both hold at ``confidence``, Bonferroni), then ``[L_c - U_b, U_c -
    L_b]``; -inf or inf where a side has no bound (p99 needs 0.99**n <= (1 - confidence) / 4
    for an upper bound: n >= 437 at 95%). What a split run's percentile verdict is widened
    to below the gate's min_samples, so split and gate decide the same requests on the same
    order statistics. ValueError when a side has no values."""
    level = 1.0 - (1.0 - confidence) / 2.0
    b_low, b_high = quantile_bounds(base, q, level)
    c_low, c_high = quantile_bounds(cand, q, level)
    return c_low - b_high, c_high - b_low


def rate_ratio(k_base: int, t_base: float, k_cand: int, t_cand: float, confidence: float) -> Bounds:
    """Interval of ``(k_cand / t_cand) / (k_base / t_base) - 1`` (throughput, counts in
    seconds) by the conditional binomial method with Clopper-Pearson bounds. ValueError for
    no counts at all or a duration not above 0."""
    k = k_base + k_cand
    if k <= 0 or t_base <= 0 or t_cand <= 0:
        raise ValueError("no successes, or no duration")
    tail = (1.0 - confidence) / 2.0
    pi_low = stats.beta.ppf(tail, k_cand, k - k_cand + 1) if k_cand > 0 else 0.0
    pi_high = stats.beta.ppf(1.0 - tail, k_cand + 1, k - k_cand) if k_cand < k else 1.0
    scale = t_base / t_cand

    def ratio(pi: float) -> float:
        return math.inf if pi >= 1.0 else float(pi / (1.0 - pi) * scale)

    return ratio(pi_low) - 1.0, ratio(pi_high) - 1.0


def wilson(events: int, n: int, confidence: float) -> Bounds:
    """Wilson's score interval of a proportion ``events / n``. ValueError for n < 1."""
    if n < 1:
        raise ValueError("no trials")
    z = float(stats.norm.isf((1.0 - confidence) / 2.0))
    p = events / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def proportion_ratio(
    events_base: int, n_base: int, events_cand: int, n_cand: int, confidence: float
) -> Bounds:
    """Interval of ``(events_cand / n_cand) / (events_base / n_base) - 1`` from each side's
    Wilson interval at ``1 - (1 - confidence) / 2`` (Bonferroni: both hold at
    ``confidence``); inf where the baseline's lower bound is 0. ValueError when a side has
    no trials."""
    level = 1.0 - (1.0 - confidence) / 2.0
    l_b, u_b = wilson(events_base, n_base, level)
    l_c, u_c = wilson(events_cand, n_cand, level)
    low = l_c / u_b - 1.0 if u_b > 0 else -1.0
    high = u_c / l_b - 1.0 if l_b > 0 else math.inf
    return low, high


def proportion_difference(
    events_base: int, n_base: int, events_cand: int, n_cand: int, confidence: float
) -> Bounds:
    """Newcombe's hybrid score interval of ``events_cand / n_cand - events_base / n_base``
    (fractions). ValueError when a side has no trials."""
    p_b, p_c = events_base / max(n_base, 1), events_cand / max(n_cand, 1)
    l_b, u_b = wilson(events_base, n_base, confidence)
    l_c, u_c = wilson(events_cand, n_cand, confidence)
    d = p_c - p_b
    return d - math.hypot(p_c - l_c, u_b - p_b), d + math.hypot(u_c - p_c, p_b - l_b)


def small_sample_interval(
    base: Sample, cand: Sample, metric: str, confidence: float
) -> Bounds | None:
    """The exact interval of the change for ``metric`` (ratio - 1, or a difference of
    fractions for error/drop rates) between two pooled samples; None when a side has no
    requests for it."""
    try:
        if metric in LATENCY:
            q = LATENCY[metric] / 100.0
            return latency_ratio(_latencies(base), _latencies(cand), q, confidence)
        if metric == "throughput_rps":
            return rate_ratio(
                int(base.ok.sum()), float(base.seconds.sum()),
                int(cand.ok.sum()), float(cand.seconds.sum()), confidence,
            )  # fmt: skip
        if metric == SERVED:  # successes / requests scheduled
            counts = [(int(s.ok.sum()), int(s.requests.sum())) for s in (base, cand)]
            return proportion_ratio(*counts[0], *counts[1], confidence)
        if metric == "error_rate":  # failed / sent
            counts = [(int(s.sent.sum() - s.ok.sum()), int(s.sent.sum())) for s in (base, cand)]
        else:  # drop_rate: dropped / scheduled
            counts = [(int(s.dropped.sum()), int(s.requests.sum())) for s in (base, cand)]
        return proportion_difference(*counts[0], *counts[1], confidence)
    except ValueError:
        return None


def _latencies(sample: Sample) -> np.ndarray:
    """Every successful latency (ms) of a sample, from memory or read again from its runs."""
    if sample.held:
        return sample.latency
    pieces = [latency for latency, _ in sample.pieces()]
    return np.concatenate(pieces) if pieces else np.array([])
