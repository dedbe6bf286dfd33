"""The capacity and the autoscaler simulation never put one replica below what the run
measured it to serve within the SLO (fresh-user trial 6, Triton spike: every 5 s window met
p99<=20ms, the best at 147.6 req/s, a window mixing the 3 s burst with the base rate; the
burst phase served 190.0 req/s at p99 14.7 ms; the fitted curve's asymptote, 147.6 req/s,
was the simulation's limit, so a replica at 150-190 req/s counted as saturated, and the
spike advice said "one replica serves at most 147.6 rps" of a run whose one replica served
190). ``spike_run`` (tests/unit/test_fit_trust.py) is a run of that kind."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from benchctl.analysis.answer import capacity_sentence
from benchctl.analysis.autoscaler_simulation import HpaPolicy, ReplicaModel, Traffic
from benchctl.analysis.capacity import AnalyzeOptions, analyze_run
from benchctl.analysis.cluster import ClusterSpec
from benchctl.analysis.fits import LatencyFit
from benchctl.analysis.hpa import simulate_hpa
from benchctl.analysis.scaling_inputs import replica_latency, replica_model
from benchctl.analysis.slo import parse_slo
from benchctl.store import RunDir
from tests.unit.test_fit_trust import _step_fit, spike_run

SERVED = 600 / (3.0 + 14.0 / 1000.0)  # the burst phase: 600 successes within 3 s + 14 ms


def test_the_latency_curve_is_never_above_the_slo_where_the_run_met_it():
    """A fit whose asymptote is 147.6 req/s (inf from there on) and a replica measured to
    meet p99<=20ms at 190 req/s: up to 190 the curve is min(fit, 20 ms) (the fit's 13 ms
    + 2.4e-4 / 47.6 at 100 req/s stays); beyond 190 it is the fit's (inf). Without a fit:
    20 ms up to 190, inf beyond."""
    curve = replica_latency(_step_fit(), 190.0, 20.0)
    got = curve(np.array([100.0, 150.0, 190.0, 190.5]))
    assert got[0] == pytest.approx(13.0 + 2.4e-4 / 47.6)
    assert got[1:3].tolist() == [20.0, 20.0] and math.isinf(got[3])
    assert curve(150.0) == 20.0  # a scalar stays a scalar
    bare = replica_latency(None, 190.0, 20.0)
    assert bare(np.array([190.0, 191.0])).tolist() == [20.0, math.inf]


def test_one_replica_simulated_at_the_rate_it_served_meets_the_slo():
    """Known answer: 190 req/s for 120 s against one replica (HPA 1-1) whose capacity is
    the 190 req/s it served within p99<=20ms. Every second is served (190 <= max_rps) at a
    per-replica rate within capacity, so 0 s violate the SLO. The same replica modelled by
    the fit alone (inf from 147.6 req/s, as before this fix) violated all 120 s."""
    single = {"capacity_rps": 190.0, "saturation_rps": None, "saturation_at_least_rps": 190.0}
    model, _ = replica_model(single, _step_fit(), 20.0, ClusterSpec())
    assert model.capacity_rps >= 190.0 and model.max_rps >= 190.0
    traffic = Traffic(np.arange(0.0, 120.0), np.full(120, 190.0))
    policy = HpaPolicy(1, 1, "rps_per_replica", 152.0)
    result = simulate_hpa(traffic, model, policy)
    assert result.slo_violation_seconds == 0.0
    assert result.served.tolist() == result.offered.tolist()
    before = ReplicaModel(190.0, 190.0, _step_fit().predict, model.cold_start_s, 20.0)
    assert simulate_hpa(traffic, before, policy).slo_violation_seconds == 120.0


def test_a_lower_bound_is_what_the_burst_served_within_the_slo(tmp_path: Path):
    """``spike_run`` whose burst requests take 14 ms: every window meets p99<=20ms (the
    best 700 / 5 = 140.0 req/s), and the burst phase served 600 / 3.014 = 199.07 req/s at
    p99 14 ms over 600 >= 200 successes. The lower bound is 199.07 (its burst phase), not
    140.0; the replicas for the 200 rps peak at 80%: ceil(200 / (0.8 x 199.07)) = 2, and
    the simulation's replica sustains the same 199.07 (the spike advice names it, against
    the built-in spike traffic scaled to that peak), and the simulation runs at least the
    recommended count at the peak."""
    doc = analyze_run(
        RunDir.open(spike_run(tmp_path, burst_ms=14.0)),
        AnalyzeOptions(slo=parse_slo("p99<=20ms"), peak_rps=200.0, traffic="spike"),
    )
    single = doc["single_replica"]
    assert (doc["bound"], doc["capacity_rps"]) == ("lower", pytest.approx(SERVED))
    assert doc["capacity_band_rps"] == [pytest.approx(SERVED)] * 2
    assert doc["capacity_source"] == "served_phase"
    assert single["measured_capacity_rps"] == pytest.approx(140.0)
    assert single["served_within_slo_where"] == "its burst phase"
    assert "and its burst phase served 199.1 rps within it (the best window: 140.0 rps)" in (
        capacity_sentence(doc)
    )
    assert doc["replicas"]["recommended"] == math.ceil(200.0 / (0.8 * SERVED)) == 2
    advice = doc["autoscaling"]["spike_advice"]
    assert "the simulation assumes one replica serves at most 199.1 rps within" in advice
    assert "140.0 rps" not in advice
    assert doc["autoscaling"]["consistency"]["at_least_recommended"]


def test_a_burst_that_broke_the_slo_leaves_the_measured_answer_alone(tmp_path: Path):
    """The burst's requests take 30 ms (> 20): no phase above the base served within the
    SLO, so the measured crossing (between the best window and the burst window) stays.
    The most served within it is the base phase: 225 + 275 + 275 + 75 + 240 = 1,090
    successes over its 15.5 + 6.5 = 22 planned seconds plus its slowest 14 ms twice:
    1090 / 22.028 = 49.48 req/s."""
    doc = analyze_run(
        RunDir.open(spike_run(tmp_path)),
        AnalyzeOptions(slo=parse_slo("p99<=20ms"), peak_rps=200.0),
    )
    assert doc["bound"] == "measured" and doc["capacity_source"] == "best_good_level"
    assert doc["capacity_rps"] <= 55.2
    single = doc["single_replica"]
    assert single["served_within_slo_rps"] == pytest.approx(1090 / 22.028)
    assert single["served_within_slo_where"] == "its base phase"


def test_a_run_that_served_more_than_the_fits_asymptote(tmp_path: Path):
    """The trial's shape: the burst's requests take 16 ms, so the burst window's p99 (16 ms)
    tops the others' (14 ms) and the fitted curve is a step with its asymptote at that
    window, 140.01 req/s, while the burst phase served 600 / 3.016 = 198.94 req/s within
    p99<=20ms. Known answer: the simulation's replica (built from capacity.json as
    ``analyze`` builds it) has capacity and max_rps >= 198.94, and one replica offered
    198 req/s for 60 s violates the SLO 0 s (the fit's curve alone: all 60 s)."""
    doc = analyze_run(
        RunDir.open(spike_run(tmp_path, burst_ms=16.0)),
        AnalyzeOptions(slo=parse_slo("p99<=20ms"), peak_rps=200.0),
    )
    single, summary = doc["single_replica"], doc["single_replica"]["fit"]
    served = 600 / 3.016
    assert summary["x_max"] == pytest.approx(140.0, abs=0.1) and summary["x_max"] < served
    fit = LatencyFit(
        summary["base_ms"], summary["scale"], summary["x_max"], 0.0, 0.0, 0.0, summary["r2"],
        0.99, summary["n_points"], summary["measured_max_throughput"], (0.0, 0.0, 0.0),
        ((0.0,) * 3,) * 3,
    )  # fmt: skip
    model, _ = replica_model(single, fit, 20.0, ClusterSpec())
    assert model.capacity_rps == pytest.approx(served) and model.max_rps >= served
    traffic = Traffic(np.arange(0.0, 60.0), np.full(60, 198.0))
    policy = HpaPolicy(1, 1, "rps_per_replica", 150.0)
    assert simulate_hpa(traffic, model, policy).slo_violation_seconds == 0.0
    before = ReplicaModel(model.capacity_rps, model.max_rps, fit.predict, 45.0, 20.0)
    assert simulate_hpa(traffic, before, policy).slo_violation_seconds == 60.0
