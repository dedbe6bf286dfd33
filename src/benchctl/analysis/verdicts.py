"""Per-arm statistics and canary verdicts of a split run (``--split``), for summary.json.

Each arm is judged against the control (the first arm) on the same moments of traffic, per
metric, as Kayenta's canary judge does (Spinnaker's automated canary analysis: classify each
metric, then score = % of metrics that pass):

* ``latency``: the distribution of successful requests' latency (ms), Mann-Whitney U
  (two-sided, ``scipy.stats.mannwhitneyu``); effect: P(arm latency > control latency),
  the common-language effect size U / (n1·n2) (0.5: no shift).
* ``latency_p50``, ``latency_p99``: the difference arm - control of the nearest-rank
  percentile (ms) with a bootstrap confidence interval (percentile method, each arm
  resampled independently; the percentile of a resample is drawn exactly from its binomial
  law, so no subsampling is needed at any size: :func:`bootstrap_quantile`); with fewer
  successes in an arm than the gate's min_samples, widened to the exact order-statistic
  interval of the difference at the gate's 95% (``gate.exact.quantile_difference``), as the
  gate widens the same rule: an end the requests cannot bound is open (null).
* ``error_rate``: errors / requests sent, two-proportion z-test (pooled variance), the
  difference with a Wald interval.

A percentile needs as many successful requests in each arm as the gate asks of a pXX rule
(``gate.verdicts.absolute_minimum``: ceil(1 / (1 - p/100)), p99: 100), so that its nearest
rank is not simply the arm's maximum; with fewer it is ``inconclusive`` (not judged, its
observed difference still shown), as ``benchctl gate`` says of the same requests. The
score counts the metrics judged; the verdict is the one every way the undecided metrics
could go gives, else ``inconclusive``.

Each metric is ``fail`` when the arm is significantly worse (p-value below ``alpha``) **and**
by more than the tolerance; a percentile by the gate's rule (``gate.verdicts.interval_verdict``):
``fail`` only when its whole interval lies past the tolerance, ``inconclusive`` when the
interval reaches across it with fewer successes than the gate's ``min_samples`` (1000), so
split and gate agree on the same requests; else ``pass`` (better counts as pass).

Score = 100 · passing / judged metrics; verdict ``pass``
at >= 95, ``marginal`` at >= 75, ``fail`` below (Kayenta's usual thresholds).

False positives: ``alpha`` per metric is 0.05 / 4 (Bonferroni), so for two identical arms
the chance that any metric is significant is at most 5% when requests are assigned to arms
at random (each request's arm is drawn independently of everything else, which makes the
arm labels exchangeable: the tests' null holds at every moment of the run). The tolerance
lowers it further. With sticky users, requests of one user are not independent draws; with
few users this can make the tests too eager. Throughput is shown per arm but not judged:
an arm's offered rate is set by its share, and what it fails to serve is in its error rate.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from benchctl.analysis.percentiles import percentile, rank
from benchctl.analysis.summary import overrun, phase_seconds, read_requests, stats
from benchctl.rundir.reader import parquet_columns
from benchctl.rundir.requests import WARMUP

_COLUMNS = ["t_intended", "latency_ms", "send_lag_ms", "ok", "error", "phase", "arm", "user"]
METRICS = ("latency", "latency_p50", "latency_p99", "error_rate")
ALPHA = 0.05 / len(METRICS)
# worse by more than this counts: relative to the control's value, with an absolute floor
TOLERANCE = {
    "latency": 0.05,  # P(arm > control) above 0.5 + 0.05 (a 55 / 45 split)
    "latency_p50": (0.10, 0.5),  # +10% of the control's p50 and at least 0.5 ms
    "latency_p99": (0.20, 1.0),  # +20% of the control's p99 and at least 1 ms
    "error_rate": 0.005,  # +0.5 percentage points
}
PASS_SCORE, MARGINAL_SCORE = 95.0, 75.0
INCONCLUSIVE = "inconclusive"  # a metric with too few samples to judge (as the gate says)
BOOTSTRAP = 2000
MIN_SAMPLES = 20  # fewer successful requests in an arm: its latency metrics are not judged
GATE_MIN_SAMPLES = 1000  # the gate's default min_samples (gate/rules.py GateRules)
GATE_CONFIDENCE = 0.95  # the gate's default statistics.confidence (gate/rules.py)


def split_summaries(
    path: Path,
    phases: list[dict[str, Any]],
    arms: list[str],
    *,
    end: float | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """``{"arms": {name: stats + share}, "verdicts": {name: verdict}}`` for a split run
    (``arms``: names, control first); ``{}`` when requests.parquet has no ``arm`` column.

    Warm-up is left out as in ``overall``; dropped arrivals never reached an arm, so they
    count in no arm. ``end``: the stop time of an interrupted run (s).

    ``path``: requests.parquet; ``phases``: the planned phases (s); ``seed``: for the bootstrap of
    the verdicts. Each arm: ``share`` (a fraction of the measured requests) and ``stats``
    (requests/s, latency percentiles in ms, error rate as a fraction). Raises DamagedFileError when
    requests.parquet is missing or unreadable, IndexError for an empty ``arms``.
    """
    if "arm" not in parquet_columns(path):
        return {}
    frame = read_requests(path, _COLUMNS)
    measured = frame[(frame["phase"] != WARMUP) & frame["arm"].notna()]
    seconds = sum(s for name, s in phase_seconds(phases, end).items() if name != WARMUP)
    interval = seconds + (overrun(measured, phases) if end is None else 0.0)
    total = max(len(measured), 1)
    groups = {str(n): g for n, g in measured.groupby(measured["arm"].astype(str), sort=False)}
    per_arm: dict[str, Any] = {}
    by_user = bool(measured["user"].notna().any())  # --users: every arm has a user count
    for name in arms:
        group = groups.get(name, measured.iloc[0:0])
        entry = {"share": len(group) / total, **stats(group, interval)}
        if by_user:  # 0 for an arm no user hashed to (trial 7: 2 users, 95/5: none)
            entry["users"] = int(group["user"].nunique())
        per_arm[name] = entry
    rng = np.random.default_rng(seed)
    control = groups.get(arms[0], measured.iloc[0:0])
    verdicts = {
        name: judge(_sample(control), _sample(groups.get(name, measured.iloc[0:0])), rng)
        for name in arms[1:]
    }
    return {"arms": per_arm, "control": arms[0], "verdicts": verdicts}


def _sample(frame: Any) -> dict[str, Any]:
    """An arm's requests (none dropped: a dropped arrival has no arm) as judge's input."""
    ok = frame["ok"].to_numpy(dtype=bool)
    return {
        "latency": frame.loc[frame["ok"], "latency_ms"].to_numpy(dtype=float),
        "sent": len(frame),
        "errors": int((~ok).sum()),
    }


def judge(control: dict[str, Any], arm: dict[str, Any], rng: np.random.Generator) -> dict:
    """One arm against the control: per metric its effect, interval, p-value and class, the
    score and the verdict. ``control``/``arm``: ``latency`` (successes' ms), ``sent``,
    ``errors``."""
    metrics: dict[str, dict[str, Any]] = {}
    a, b = control["latency"], arm["latency"]
    if min(len(a), len(b)) >= MIN_SAMPLES:
        metrics["latency"] = _mann_whitney(a, b)
        for name, percent in (("latency_p50", 50.0), ("latency_p99", 99.0)):
            metrics[name] = _percentile_difference(a, b, percent, rng, TOLERANCE[name])
            if short := _too_few_for_percentile(len(a), len(b), percent):
                metrics[name] = {**short, "effect": metrics[name]["effect"]}
    else:
        for name in ("latency", "latency_p50", "latency_p99"):
            metrics[name] = {
                "class": "nodata",
                "note": f"fewer than {MIN_SAMPLES} successful requests in an arm",
            }
    metrics["error_rate"] = two_proportions(
        control["errors"], control["sent"], arm["errors"], arm["sent"]
    )
    judged = [m for m in metrics.values() if m["class"] in ("pass", "fail")]
    undecided = sum(1 for m in metrics.values() if m["class"] == INCONCLUSIVE)
    passing = sum(1 for m in judged if m["class"] == "pass")
    # Every metric must be judged or inconclusive: a "100% pass" from the error rate alone,
    # when the arms held too few successes for any latency metric, would pass a canary
    # nothing measured.
    complete = judged and len(judged) + undecided == len(metrics)
    score = 100.0 * passing / len(judged) if complete else None
    if score is None:
        verdict = "nodata"
    else:  # the verdict the undecided metrics cannot change, else inconclusive
        total = len(judged) + undecided
        worst, best = (_grade(100.0 * (passing + k) / total) for k in (0, undecided))
        verdict = worst if worst == best else INCONCLUSIVE
    return {
        "metrics": metrics,
        "score": score,
        "verdict": verdict,
        "alpha": ALPHA,
        "thresholds": {"pass": PASS_SCORE, "marginal": MARGINAL_SCORE},
    }


def _grade(score: float) -> str:
    """pass / marginal / fail of a score in % (Kayenta's usual thresholds)."""
    return "pass" if score >= PASS_SCORE else "marginal" if score >= MARGINAL_SCORE else "fail"


def _too_few_for_percentile(n_control: int, n_arm: int, percent: float) -> dict[str, Any] | None:
    """The ``inconclusive`` class of a pXX difference when an arm has fewer successful
    requests than the gate's pXX rule needs (``absolute_minimum``, shared with ``benchctl
    gate``: ceil(1 / (1 - p/100)), p99: 100); None when both arms have enough."""
    from benchctl.analysis.gate.verdicts import absolute_minimum

    needed = absolute_minimum(f"p{percent:g}_ms")
    smallest = min(n_control, n_arm)
    if smallest >= needed:
        return None
    which = "the arm" if n_arm <= n_control else "the control"
    return {
        "class": INCONCLUSIVE,
        "note": (
            f"only {smallest} successful requests in {which} (needs {needed} for "
            f"p{percent:g}): not judged"
        ),
        "needed": needed,
        "samples": smallest,
    }


def _mann_whitney(control: np.ndarray, arm: np.ndarray) -> dict[str, Any]:
    from scipy.stats import mannwhitneyu

    result = mannwhitneyu(arm, control, alternative="two-sided", method="asymptotic")
    superiority = float(result.statistic) / (len(arm) * len(control))  # P(arm > control)
    p = float(result.pvalue)
    worse = p < ALPHA and superiority > 0.5 + TOLERANCE["latency"]
    return {
        "test": "mann-whitney-u",
        "p_value": p,
        "effect": superiority,
        "effect_name": "P(arm latency > control latency)",
        "class": "fail" if worse else "pass",
    }


def bootstrap_quantile(
    values: np.ndarray, percent: float, draws: int, rng: np.random.Generator
) -> np.ndarray:
    """``draws`` bootstrap replicates of the nearest-rank ``percent`` percentile of
    ``values``, drawn exactly: in a resample of size n, the k-th smallest (k = the
    percentile's rank) is at most the j-th smallest original value iff at least k of the n
    draws fall among the first j, so P(Q* <= x_(j)) = P(Binomial(n, j/n) >= k); Q* is drawn
    by inverting that distribution (the same law as resampling, O(n) once).

    ``values``: 1-D, any unit (ms for latencies), non-empty; ``percent`` in (0, 100]; ``draws``:
    replicates; ``rng``: the seeded generator. Returns shape (draws,) in the values' unit. Raises
    IndexError for empty ``values``.
    """
    from scipy.stats import binom

    data = np.sort(np.asarray(values, dtype=float))
    n = len(data)
    k = rank(percent / 100.0, n) + 1
    cdf = binom.sf(k - 1, n, np.arange(1, n + 1) / n)
    index = np.searchsorted(cdf, rng.random(draws), side="left")
    return data[np.minimum(index, n - 1)]


def _percentile_difference(
    control: np.ndarray,
    arm: np.ndarray,
    percent: float,
    rng: np.random.Generator,
    tolerance: tuple[float, float],
) -> dict[str, Any]:
    base = percentile(control, percent)
    difference = percentile(arm, percent) - base
    replicates = bootstrap_quantile(arm, percent, BOOTSTRAP, rng) - bootstrap_quantile(
        control, percent, BOOTSTRAP, rng
    )
    low, high = (float(v) for v in np.quantile(replicates, [ALPHA / 2, 1 - ALPHA / 2]))
    margin = max(tolerance[0] * base, tolerance[1])
    found = {
        "test": "bootstrap",
        "control_ms": base,
        "effect": difference,
        "effect_name": f"p{percent:g} arm - control (ms)",
        "ci": [low, high],
        "ci_level": 1 - ALPHA,
        "tolerance_ms": margin,
    }
    smallest = min(len(control), len(arm))
    if smallest < GATE_MIN_SAMPLES:  # as gate widens a rule under its min_samples
        found.update(_widened(control, arm, percent, (low, high)))
        low, high = found["ci"]
        low, high = -math.inf if low is None else low, math.inf if high is None else high
    judged = {**found, **_interval_class(low, high, margin, smallest)}
    if judged["class"] == INCONCLUSIVE and not math.isfinite(high - low):
        tail = (1.0 - GATE_CONFIDENCE) / 4.0  # one end of one side's interval
        needed = math.ceil(math.log(tail) / math.log(percent / 100.0))
        judged["note"] += (
            f"; fewer than {needed} successes in an arm cannot bound its p{percent:g} from "
            f"above at {1 - tail:.2%}: the interval is open"
        )
    return judged


def _widened(
    control: np.ndarray, arm: np.ndarray, percent: float, bootstrap: tuple[float, float]
) -> dict[str, Any]:
    """The bootstrap interval (ms) widened to the exact order-statistic interval of the
    difference at the gate's default confidence (``gate.exact.quantile_difference``), as
    ``benchctl gate`` widens a percentile rule below its min_samples (trial 8: canary p99
    [+13.51, +50.8] ms from the bootstrap on 309 / 285 successes failed the split while
    gate said [-100%, +inf]: 309 successes cannot bound a p99 from above at 97.5%). Keys
    ``ci`` (open ends None: no bound), ``bootstrap_ci``, ``exact_ci``, ``exact_level``."""
    from benchctl.analysis.gate.exact import quantile_difference

    exact = quantile_difference(control, arm, percent / 100.0, GATE_CONFIDENCE)
    low, high = min(bootstrap[0], exact[0]), max(bootstrap[1], exact[1])

    def finite(value: float) -> float | None:
        return value if math.isfinite(value) else None

    return {
        "ci": [finite(low), finite(high)],
        "bootstrap_ci": list(bootstrap),
        "exact_ci": [finite(exact[0]), finite(exact[1])],
        "exact_level": GATE_CONFIDENCE,
    }


def _interval_class(low: float, high: float, margin: float, smallest: int) -> dict[str, Any]:
    """A percentile difference's class by the gate's rule (``gate.verdicts.interval_verdict``,
    trial 7 F8: the split said ``fail`` for an interval [+2.963, +18.14] ms whose lower end
    was below its 3.1 ms tolerance, while gate said ``inconclusive`` of the same p99):
    ``fail`` only when the whole interval lies past the tolerance, ``pass`` when within; an
    interval across it is ``inconclusive`` when an arm holds fewer successes than the gate's
    ``min_samples`` (``GATE_MIN_SAMPLES``), as gate says of the same requests, else ``pass``
    (the gate's "not proven")."""
    from benchctl.analysis.gate.verdicts import FAIL, INCONCLUSIVE, interval_verdict

    verdict = interval_verdict(low, high, margin)
    if verdict == FAIL:
        return {"class": "fail"}
    if verdict == INCONCLUSIVE and smallest < GATE_MIN_SAMPLES:
        return {
            "class": INCONCLUSIVE,
            "note": (
                f"interval reaches past the {margin:.3g} ms tolerance with {smallest} "
                f"successful requests (fewer than gate's min_samples {GATE_MIN_SAMPLES}): "
                "not judged"
            ),
        }
    return {"class": "pass"}


def two_proportions(errors_a: int, sent_a: int, errors_b: int, sent_b: int) -> dict[str, Any]:
    """Error rate of arm b vs control a: difference b - a, a Wald interval at 1 - ALPHA and
    the pooled two-proportion z-test's two-sided p-value (normal approximation)."""
    from scipy.stats import norm

    if not sent_a or not sent_b:
        return {"class": "nodata", "note": "an arm sent no requests"}
    pa_, pb = errors_a / sent_a, errors_b / sent_b
    pooled = (errors_a + errors_b) / (sent_a + sent_b)
    se0 = math.sqrt(pooled * (1 - pooled) * (1 / sent_a + 1 / sent_b))
    p = 1.0 if se0 == 0 else float(2 * norm.sf(abs(pb - pa_) / se0))
    se = math.sqrt(pa_ * (1 - pa_) / sent_a + pb * (1 - pb) / sent_b)
    z = float(norm.isf(ALPHA / 2))
    worse = p < ALPHA and pb - pa_ > TOLERANCE["error_rate"]
    return {
        "test": "two-proportion-z",
        "p_value": p,
        "control": pa_,
        "effect": pb - pa_,
        "effect_name": "error rate arm - control",
        "ci": [pb - pa_ - z * se, pb - pa_ + z * se],
        "ci_level": 1 - ALPHA,
        "class": "fail" if worse else "pass",
    }
