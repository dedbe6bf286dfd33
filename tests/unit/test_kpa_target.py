"""The Knative KPA target: in flight per pod by Little's law at capacity with the mean latency
measured under it, and a utilization that keeps the headline headroom (make demo printed
"target 97.45 concurrency at 3%": the in-flight count at 0.99 x a mean-latency asymptote
equal to the capacity)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from benchctl.analysis.autoscaler_simulation import (
    MeanLatency,
    ReplicaModel,
    Traffic,
    default_kpa_candidates,
    kpa_target,
    recommend,
)

CAPACITY = 79.83  # make demo's capacity (req/s per replica) and mean-latency asymptote


def _latency(rate: Any) -> Any:
    """The SLO percentile (ms): 127.6 up to capacity (level4's p99), saturated beyond."""
    return np.where(np.asarray(rate, dtype=float) <= CAPACITY, 127.6, np.inf)


def demo_model() -> ReplicaModel:
    """make demo's replica: capacity 79.83 req/s; mean latency fitted as 0.166 ms +
    984 / (79.83 - x) ms (its "Knative concurrency" line); a pod starts in 45 s."""
    return ReplicaModel(
        capacity_rps=CAPACITY,
        max_rps=CAPACITY,
        latency_ms=_latency,
        cold_start_s=45.0,
        slo_ms=200.0,
        mean=MeanLatency(0.166, 984.0, CAPACITY),
    )


def test_the_demo_target_is_capacity_times_the_mean_latency_under_it():
    """20% headroom: r = 0.8 x 79.83 = 63.864 req/s; W(r) = 0.166 + 984 / (79.83 - 63.864)
    = 0.166 + 984 / 15.966 = 61.797 ms; target = 79.83 x 0.061797 = 4.933 -> 4.93 in
    flight (rounded down). Utilizations 60, 70, 80 (up to 1 - 0.2): at 80% the KPA aims at
    4.93 x 0.8 = 3.944 in flight per pod, at most what a pod holds at r: 63.864 x 0.061797
    = 3.947 (Little's law)."""
    model = demo_model()
    target, rate, latency_ms = kpa_target(model, 0.2)
    assert rate == pytest.approx(63.864)
    assert latency_ms == pytest.approx(61.797, abs=1e-3)
    assert target == 4.93
    grid = default_kpa_candidates(model, 200.0, headroom=0.2, need=4)
    assert {p.target for p in grid} == {4.93}
    assert {p.target_utilization_percentage for p in grid} == {60.0, 70.0, 80.0}
    assert max(p.effective_target for p in grid) == pytest.approx(3.944)
    assert max(p.effective_target for p in grid) <= model.concurrency_at(63.864)


def test_the_simulated_kpa_runs_the_headline_count_at_the_peak():
    """make demo's traffic shape: 40 req/s, a burst to 200 req/s from 300 s to 370 s, 40
    again to 600 s. The headline count: ceil(200 / (0.8 x 79.83)) = ceil(3.13) = 4. The
    chosen KPA candidate meets the SLO and runs at least 4 pods at the peak: 4 pods at 50
    req/s each hold 50 x (0.166 + 984 / 29.83) ms = 1.658 in flight, at most the aim at any
    utilization of the grid (3 pods at 66.7 req/s would hold 66.7 x 74.9 ms = 4.99 > 3.944).
    The reason says where the target comes from."""
    t = np.arange(600.0)
    rps = np.where((t >= 300) & (t < 370), 200.0, 40.0)
    model = demo_model()
    grid = default_kpa_candidates(model, 200.0, headroom=0.2, need=4)
    ranked = recommend(Traffic(t, rps), model, price_per_hour=2.48, candidates=grid, headroom=0.2)
    chosen = ranked[0]
    assert chosen.chosen and chosen.result.slo_violation_seconds == 0
    peak = chosen.result.offered >= 200.0
    assert chosen.result.replicas[peak].max() >= 4
    assert (
        "(target: L = lambda W = 79.8 rps capacity x 61.8 ms, the mean latency at 63.9 rps"
        " (80% of capacity), the fitted mean-latency curve; it aims at " in chosen.reason
    )
    assert "target 4.93 concurrency at " in chosen.reason
