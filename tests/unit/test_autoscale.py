"""Autoscaler simulators against replica counts worked out by hand from the controllers' rules."""

import math

import numpy as np
import pytest

from benchctl.analysis.autoscale import (
    HpaPolicy,
    KpaPolicy,
    ReplicaModel,
    ScalingPolicy,
    Traffic,
    default_hpa_candidates,
    default_kpa_candidates,
    detect_spikes,
    hpa_proposal,
    prescale_windows,
    recommend,
    simulate_hpa,
    simulate_kpa,
    spike_advice,
)
from benchctl.errors import InputError


def flat_model(
    capacity: float = 100.0, max_rps: float = 120.0, latency: float = 50.0, cold: float = 30.0
) -> ReplicaModel:
    """Constant latency up to saturation: capacity is the only SLO limit."""

    def latency_ms(rate: float) -> float:
        return latency if rate < max_rps else math.inf

    return ReplicaModel(capacity, max_rps, latency_ms, cold_start_s=cold, slo_ms=2 * latency)


def step(before: float, after: float, at: float, end: float) -> Traffic:
    return Traffic.from_arrays([0, at, end], [before, after, after])


RPS_100 = HpaPolicy(1, 10, "rps_per_replica", 100)


# ----------------------------------------------------------------------------- traffic


def test_traffic_holds_each_rate_until_the_next_time():
    traffic = Traffic.from_arrays([0, 3, 5], [10, 40, 20])
    assert traffic.t.tolist() == [0, 1, 2, 3, 4, 5]
    assert traffic.rps.tolist() == [10, 10, 10, 40, 40, 20]
    assert Traffic.from_arrays([0, 4], [0, 40], interpolate=True).rps.tolist() == [
        0,
        10,
        20,
        30,
        40,
    ]


def test_bad_traffic_and_policies_are_input_errors():
    with pytest.raises(InputError, match="strictly increasing"):
        Traffic.from_arrays([0, 0], [1, 1])
    with pytest.raises(InputError, match="rates >= 0"):
        Traffic.from_arrays([0, 1], [1, -1])
    with pytest.raises(InputError, match="min_replicas <= max_replicas"):
        HpaPolicy(5, 2, "rps_per_replica", 10)
    with pytest.raises(InputError, match="metric must be one of"):
        HpaPolicy(1, 2, "qps", 10)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="panic_threshold_percentage"):
        KpaPolicy(target=1, panic_threshold_percentage=100)


# ----------------------------------------------------------------------------- HPA


def test_replica_calculator_formula_tolerance_and_unready_pods():
    assert hpa_proposal(1, 1, 4.0, 0.1) == 4  # ceil(1 x 400/100)
    assert hpa_proposal(4, 4, 1.05, 0.1) == 4  # inside the tolerance band
    assert hpa_proposal(4, 4, 1.15, 0.1) == 5  # ceil(4 x 1.15) = ceil(4.6)
    assert hpa_proposal(10, 10, 0.42, 0.1) == 5
    # 1 ready pod at 4x while 3 are starting: the 3 count as 0, ratio 4 x 1/4 = 1 -> stay.
    assert hpa_proposal(4, 1, 4.0, 0.1) == 4


def test_step_scales_1_to_4_at_the_first_sync_after_it():
    result = simulate_hpa(step(100, 400, 60, 600), flat_model(), RPS_100)
    assert result.replicas[0] == 1
    assert result.replicas[74] == 1  # the sync at 60 s still saw 100 rps
    assert (
        result.replicas[75] == 4
    )  # sync at 75 s: ceil(1 x 400/100); Percent 100 allows 2, Pods 4 allows 5
    assert result.desired[75] == 4
    assert result.max_replicas == 4
    assert result.ready[104] == 1 and result.ready[105] == 4  # 30 s cold start


@pytest.mark.parametrize("cold", [0.0, 30.0, 60.0])
def test_slo_is_violated_for_cold_start_plus_sync_after_a_step(cold: float):
    result = simulate_hpa(step(100, 400, 60, 600), flat_model(cold=cold), RPS_100)
    assert result.slo_violation_seconds == cold + 15
    assert result.violated[60] and not result.violated[59]
    # One ready replica serves 120 of 400 rps until the new ones are ready.
    assert result.late_or_dropped_requests == pytest.approx((cold + 15) * 280)
    assert result.served[60] == 120


def test_tolerance_band():
    model = flat_model()
    still = simulate_hpa(step(400, 420, 50, 300), model, RPS_100)  # +5%
    assert set(still.replicas) == {4}
    grows = simulate_hpa(step(400, 460, 50, 300), model, RPS_100)  # +15%
    assert grows.replicas[59] == 4 and grows.replicas[60] == 5


def test_scale_down_waits_for_the_stabilization_window():
    # 400 -> 100 rps at 100 s: syncs up to 90 s recommend 4, from 105 s on 1.
    result = simulate_hpa(step(400, 100, 100, 800), flat_model(), RPS_100)
    assert result.replicas[389] == 4
    assert result.replicas[390] == 1  # 300 s after the last recommendation of 4 (at 90 s)
    shorter = simulate_hpa(
        step(400, 100, 100, 800),
        flat_model(),
        HpaPolicy(1, 10, "rps_per_replica", 100, scale_down_stabilization_s=60),
    )
    assert shorter.replicas[149] == 4 and shorter.replicas[150] == 1


def test_pods_policy_adds_at_most_4_per_period():
    policy = HpaPolicy(1, 30, "rps_per_replica", 100, scale_up=(ScalingPolicy("Pods", 4, 15),))
    result = simulate_hpa(step(100, 2000, 10, 300), flat_model(), policy)
    assert result.replicas[[14, 15, 30, 45, 60, 75, 90]].tolist() == [1, 5, 9, 13, 17, 20, 20]
    default = simulate_hpa(
        step(100, 2000, 10, 300), flat_model(), HpaPolicy(1, 30, "rps_per_replica", 100)
    )
    # selectPolicy Max of Percent 100 and Pods 4: 1 -> 5 -> 10 -> 20.
    assert default.replicas[[15, 30, 45]].tolist() == [5, 10, 20]


def test_scale_up_stabilization_takes_the_lowest_recent_recommendation():
    policy = HpaPolicy(1, 10, "rps_per_replica", 100, scale_up_stabilization_s=30)
    result = simulate_hpa(step(100, 400, 60, 600), flat_model(), policy)
    # Recommendations 1 (60 s), 4 (75 s), 4 (90 s): the 1 leaves the 30 s window at 90 s.
    assert result.replicas[89] == 1 and result.replicas[90] == 4


def test_cpu_metric_saturates_so_scale_up_is_slower():
    model = flat_model(cold=0.0)
    policy = HpaPolicy(1, 10, "cpu_utilization", 70)
    result = simulate_hpa(step(100, 400, 60, 600), model, policy)
    # 100 rps on 2 pods is 42% of max_rps each; at 400 rps each pod is pinned at 100% CPU,
    # so a sync only grows to ceil(n x 100/70): 2 -> 3 -> 5, where 80 rps each (67%) is
    # inside the tolerance of 70%.
    assert result.replicas[0] == 2
    assert result.replicas[[75, 90, 105]].tolist() == [3, 5, 5]
    assert result.slo_violation_seconds > 15


def test_totals_and_cost():
    result = simulate_hpa(
        Traffic.from_arrays([0, 3599], [200, 200]), flat_model(), RPS_100, price_per_hour=3.0
    )
    assert result.replica_seconds == 2 * 3600
    assert result.cost == pytest.approx(6.0)
    assert result.slo_violation_seconds == 0 and result.late_or_dropped_requests == 0
    assert result.summary()["replica_hours"] == 2


# ----------------------------------------------------------------------------- KPA


def kpa_model(cold: float = 0.0) -> ReplicaModel:
    # 100 ms per request below 60 rps: concurrency = 0.1 x rps.
    return flat_model(capacity=50.0, max_rps=60.0, latency=100.0, cold=cold)


def test_kpa_steady_load_gives_ceil_concurrency_over_target():
    # 100 rps x 0.1 s = 10 in flight; target 3 -> ceil(10/3) = 4 pods.
    result = simulate_kpa(
        Traffic.from_arrays([0, 300], [100, 100]),
        kpa_model(),
        KpaPolicy(target=3),
        initial_replicas=1,
    )
    assert result.replicas[-1] == 4
    settled = simulate_kpa(
        Traffic.from_arrays([0, 300], [100, 100]), kpa_model(), KpaPolicy(target=3)
    )
    assert set(settled.replicas) == {4} and not settled.panic.any()
    utilization = KpaPolicy(target=5, target_utilization_percentage=70)  # aims at 3.5 in flight
    assert (
        simulate_kpa(Traffic.from_arrays([0, 120], [100, 100]), kpa_model(), utilization).replicas[
            -1
        ]
        == 3
    )


def test_kpa_panics_at_the_right_tick_and_holds_its_pods():
    # 100 rps (10 in flight, 2 pods at target 5); 3x burst from 100 s to 110 s.
    traffic = Traffic.from_arrays([0, 100, 110, 400], [100, 300, 100, 100])
    result = simulate_kpa(traffic, kpa_model(), KpaPolicy(target=5))
    panic = np.flatnonzero(result.panic)
    # Tick 100 s sees 94..99 s (all 10): no panic. Tick 102 s: 4 x 10 + 2 x 30 over 6 s = 16.7
    # -> ceil(16.7/5) = 4 pods >= 200% of 2 ready: panic.
    assert panic[0] == 102
    assert result.replicas[[99, 102, 104, 106]].tolist() == [2, 4, 5, 6]
    # The condition last held at 102 s; panic ends at the first tick after 102 + 60 s.
    assert panic[-1] == 163 and panic.size == 62
    # No scale-down while panicking, though the stable window wanted 3 long before.
    assert set(result.replicas[106:164]) == {6}
    # At 164 s: stable average (6 x 30 + 54 x 10)/60 = 12 -> 3 pods (max scale-down 6/2 = 3).
    assert result.replicas[164] == 3


def test_kpa_scale_down_delay_and_scale_to_zero():
    traffic = Traffic.from_arrays([0, 50, 400], [100, 0, 0])
    result = simulate_kpa(traffic, kpa_model(), KpaPolicy(target=5, min_scale=0))
    # Stable window empty of traffic at 110 s; zero after the 30 s grace period.
    changes = np.flatnonzero(np.diff(result.replicas)) + 1
    assert changes.tolist() == [80, 140]
    assert result.replicas[-1] == 0
    delayed = simulate_kpa(traffic, kpa_model(), KpaPolicy(target=5, scale_down_delay_s=60))
    assert delayed.replicas[80] == 2 and delayed.replicas[-1] == 1


def test_kpa_cold_start_violates_slo_through_a_short_burst():
    traffic = Traffic.from_arrays([0, 100, 110, 400], [100, 300, 100, 100])
    result = simulate_kpa(traffic, kpa_model(cold=20.0), KpaPolicy(target=5))
    assert result.slo_violation_seconds == 10  # pods asked for at 102 s serve at 122 s
    assert result.ready[121] == 2 and result.ready[122] == 4


# ----------------------------------------------------------------------------- search and advice


def test_recommend_picks_the_cheapest_candidate_that_meets_the_slo():
    traffic = step(100, 400, 60, 600)
    model = flat_model()
    candidates = [
        HpaPolicy(6, 10, "rps_per_replica", 100),  # meets, 6 replicas all along
        HpaPolicy(1, 10, "rps_per_replica", 100),  # cheapest, but the step violates
        HpaPolicy(4, 10, "rps_per_replica", 100),  # meets, 4 replicas all along
    ]
    ranked = recommend(traffic, model, price_per_hour=2.0, candidates=candidates)
    assert ranked[0].policy is candidates[2] and ranked[0].chosen
    assert [r.chosen for r in ranked] == [True, False, False]
    assert ranked[0].result.replica_seconds == 4 * 601
    assert "chosen: cheapest candidate that meets the SLO" in ranked[0].reason
    assert "50% more" in ranked[1].reason
    assert ranked[2].policy is candidates[1] and "SLO violated for 45 s" in ranked[2].reason


def test_recommend_falls_back_to_fewest_violations():
    # 100 -> 200 rps at 60 s, -> 400 rps at 300 s: min 1 misses both steps, min 2 only the second.
    traffic = Traffic.from_arrays([0, 60, 300, 600], [100, 200, 400, 400])
    candidates = [
        HpaPolicy(1, 10, "rps_per_replica", 100),
        HpaPolicy(2, 10, "rps_per_replica", 100),
    ]
    ranked = recommend(traffic, flat_model(cold=60), price_per_hour=1.0, candidates=candidates)
    assert [r.result.slo_violation_seconds for r in ranked] == [75, 150]
    assert ranked[0].policy is candidates[1]
    assert ranked[0].result.replica_seconds > ranked[1].result.replica_seconds
    assert "chosen: no candidate meets the SLO, this one misses least" in ranked[0].reason


def test_default_candidate_grids():
    model = flat_model()
    hpa = default_hpa_candidates(model, peak=640)
    assert {p.min_replicas for p in hpa} == {1, 4, 7}
    assert {p.target for p in hpa} == {60, 70, 80, 90}
    assert {p.scale_down_stabilization_s for p in hpa} == {60, 300}
    kpa = default_kpa_candidates(model, peak=640)
    assert {p.min_scale for p in kpa} == {0, 1, 4, 7}
    # 100 rps x 50 ms = 5 in flight at capacity -> targets 3, 3.5, 4, 4.5.
    assert {p.target for p in kpa} == {3.0, 3.5, 4.0, 4.5}
    with pytest.raises(InputError, match="no candidate"):
        recommend(step(1, 1, 1, 2), model, price_per_hour=1, candidates=[])


def spikes(cold: float = 60.0) -> tuple[Traffic, ReplicaModel]:
    """100 rps with a 60 s burst to 640 rps every 10 minutes, the first at 300 s."""
    times, rates = [0.0], [100.0]
    for start in range(300, 3000, 600):
        times += [start, start + 60]
        rates += [640, 100]
    times.append(3000)
    rates.append(100)
    return Traffic.from_arrays(times, rates), flat_model(cold=cold)


def test_detect_spikes_finds_period_burst_and_rise():
    traffic, _ = spikes()
    pattern = detect_spikes(traffic)
    assert pattern is not None
    assert pattern.onsets[:2] == (300.0, 900.0)
    assert pattern.period_s == 600 and pattern.burst_s == 60 and pattern.rise_s == 1
    assert pattern.base_rps == 100 and pattern.peak_rps == 640
    assert detect_spikes(Traffic.from_arrays([0, 100], [50, 50])) is None


def test_spike_advice_when_reactive_scaling_cannot_keep_up():
    traffic, model = spikes(cold=60)
    result = simulate_hpa(traffic, model, RPS_100)
    text = spike_advice(traffic, model, result)
    assert text.startswith("Reactive HPA scaling cannot keep up")
    assert "Set min replicas to 7 " in text  # ceil(640 / 100)
    # Pre-scale 75 s (60 s cold start + 15 s sync) before bursts on the 10-minute boundary.
    assert "start '8-59/10 * * * *', end '1-59/10 * * * *'" in text
    shifted = spike_advice(traffic, model, result, phase_s=120)
    assert "start '*/10 * * * *', end '3-59/10 * * * *'" in shifted


def test_spike_advice_when_min_replicas_cover_the_burst():
    traffic, model = spikes()
    result = simulate_hpa(traffic, model, HpaPolicy(7, 10, "rps_per_replica", 100))
    assert spike_advice(traffic, model, result).startswith("Reactive HPA scaling keeps up")


def test_prescale_windows_only_for_cron_expressible_periods():
    windows = prescale_windows(600, 60, lead_s=75, replicas=7)
    assert [(w.start, w.end, w.desired_replicas) for w in windows] == [
        ("8-59/10 * * * *", "1-59/10 * * * *", 7)
    ]
    assert prescale_windows(3600, 60, lead_s=30, replicas=3, phase_s=1800)[0].start == "29 * * * *"
    assert prescale_windows(450, 60, lead_s=30, replicas=3) == []  # 7.5 minutes
    assert prescale_windows(600, 560, lead_s=75, replicas=3) == []  # covers the whole period
