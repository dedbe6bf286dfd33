"""A split run's percentile interval below the gate's min_samples is widened to the gate's
exact order-statistic interval, so the split verdict and ``benchctl gate RUN@control
RUN@arm`` give a p99 the same class (trial 8: canary p99 +25.3 ms on 309 / 285 successes,
split bootstrap [+13.51, +50.8] ms "fail", gate [-100%, +inf] "inconclusive")."""

from __future__ import annotations

import math

import numpy as np

from benchctl.analysis.gate.exact import latency_ratio, quantile_difference
from benchctl.analysis.verdicts import judge


def _arm(latency: np.ndarray) -> dict:
    return {"latency": latency, "sent": len(latency), "errors": 0}


def test_p99_difference_bounded_from_437_requests() -> None:
    """Control 1..437 ms, arm the same + 1000 ms; p99 at 95% (each side at 97.5%: tails
    0.0125). B ~ Binomial(437, 0.99), F = 437 - B ~ Binomial(437, 0.01):
    upper rank u = 437 (the maximum) since P(B <= 436) = 1 - 0.99**437 = 1 - 0.012376 >=
    0.9875; lower rank l = 427 since P(B <= 426) = P(F >= 11) = 0.00517 < 0.0125 <=
    P(B <= 427) = P(F >= 10) = 0.0138. So control [427, 437], arm [1427, 1437] ms and the
    difference [1427 - 437, 1437 - 427] = [990, 1010] ms; the gate's ratio
    [1427 / 437 - 1, 1437 / 427 - 1] = [2.26545, 2.36534]. The split's p99 tolerance is
    20% of the control's p99 (rank ceil(0.99 * 437) = 433: 433 ms) = 86.6 ms: fail."""
    control = np.arange(1.0, 438.0)
    arm = control + 1000.0
    assert quantile_difference(control, arm, 0.99, 0.95) == (990.0, 1010.0)
    low, high = latency_ratio(control, arm, 0.99, 0.95)
    assert (round(low, 5), round(high, 5)) == (2.26545, 2.36534)
    p99 = judge(_arm(control), _arm(arm), np.random.default_rng(0))["metrics"]["latency_p99"]
    assert p99["exact_ci"] == [990.0, 1010.0]
    assert p99["ci"][0] <= 990.0 and p99["ci"][1] >= 1010.0
    assert p99["tolerance_ms"] == 0.2 * 433.0
    assert p99["class"] == "fail"


def test_p99_of_436_requests_has_no_upper_bound() -> None:
    """One request fewer: P(B <= 435) = 1 - 0.99**436 = 1 - 0.012501 < 0.9875, so no order
    statistic bounds a p99 from above at 97.5%: the difference is open at both ends
    (lower: arm's low - control's missing high; upper: arm's missing high) and the ratio
    [-1, +inf] (the gate's [-100%, +inf])."""
    control = np.arange(1.0, 437.0)
    assert quantile_difference(control, control + 1000.0, 0.99, 0.95) == (-math.inf, math.inf)
    assert latency_ratio(control, control + 1000.0, 0.99, 0.95) == (-1.0, math.inf)


def test_split_p99_on_300_requests_is_inconclusive_as_in_gate() -> None:
    """Trial 8's shape: 300 successes an arm, the arm 2.5x slower (control 1..300 ms, arm
    2.5 x that). The bootstrap alone puts the p99 difference wholly past the tolerance
    (20% of the control's p99, rank ceil(0.99 * 300) = 297: 59.4 ms; arm p99 742.5 ms, a
    difference of 445.5 ms), but 300 successes cannot bound a p99 from above (0.99**300 =
    0.049 > 0.0125): the interval is open and the p99 inconclusive, as gate's [-100%, +inf].
    The p50 is bounded on both sides (fail)."""
    control = np.arange(1.0, 301.0)
    verdict = judge(_arm(control), _arm(2.5 * control), np.random.default_rng(0))
    p99 = verdict["metrics"]["latency_p99"]
    assert p99["effect"] == 2.5 * 297.0 - 297.0
    assert p99["bootstrap_ci"][0] > p99["tolerance_ms"] == 0.2 * 297.0
    assert p99["ci"] == [None, None] and p99["exact_ci"] == [None, None]
    assert p99["class"] == "inconclusive"
    assert p99["note"].endswith(
        "fewer than 437 successes in an arm cannot bound its p99 from above at 98.75%: the "
        "interval is open"
    )  # one end of one side: (1 - 0.95) / 4 = 0.0125; 0.99**437 <= 0.0125 < 0.99**436
    assert verdict["metrics"]["latency_p50"]["class"] == "fail"
    assert latency_ratio(control, 2.5 * control, 0.99, 0.95) == (-1.0, math.inf)
