"""Autoscaler simulators against replica counts worked out by hand from the controllers' rules."""

import math
from dataclasses import replace

import numpy as np
import pytest

from benchctl.analysis.autoscaler_simulation import (
    HpaPolicy,
    KpaPolicy,
    MeanLatency,
    ReplicaModel,
    ScalingPolicy,
    Traffic,
    default_hpa_candidates,
    default_kpa_candidates,
    detect_spikes,
    hpa_proposal,
    prescale_floor,
    prescale_windows,
    recommend,
    simulate_hpa,
    simulate_kpa,
    simulate_worst_phase,
    spike_advice,
)
from benchctl.errors import InputError
from tests.unit.run_files import burst_traffic


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


# ----------------------------------------------------------------------------- HPA metric pipeline

# KEDA's Prometheus trigger on rate(counter[1m]), scraped every 15 s, AverageValue 100 rps/pod.
KEDA_1M = HpaPolicy(
    1,
    10,
    "rps_per_replica",
    100,
    rate_window_s=60,
    scrape_interval_s=15,
    source="external",
    counter="offered",
)


def test_step_seen_through_rate_1m_is_ready_at_about_150_s():
    """Step 100 -> 500 rps at 60 s, 100 rps per pod, 30 s pod start, KEDA on rate[1m].

    Scrapes every 15 s; at a sync, rate() is the increase between the first and last scrape
    inside (now - 60 s, now] over their 45 s span. Counter: 100/s before 60 s, 500/s after.
    Sync 60: (C60 - C15) / 45 = 100 -> 1 pod. Sync 75: (C75 - C30) / 45 =
    (30 x 100 + 15 x 500) / 45 = 233.3; KEDA's metric is the total over currentReplicas (1):
    ratio 2.33 -> ceil(233.3 / 100) = 3 (the Pods 4 policy allows 5). Sync 90: (15 x 100 +
    30 x 500) / 45 = 366.7 over 3 pods = 1.22 -> 4. Sync 105: 500 / 400 = 1.25 -> 5.
    The fifth pod is ready at 105 + 30 = 135 s: 500 rps over fewer than 5 pods exceeds the
    100 rps capacity from 60 to 134 s: 75 s. With the first sync 14 s later in the 15 s loop
    every decision is 14 s later: ready at 149 s, 89 s violated (the worst phase). The
    ideal metric (the previous second) gives 15 s sync + 30 s start = 45 s.
    """
    traffic = step(100, 500, 60, 600)
    model = flat_model()
    result = simulate_hpa(traffic, model, KEDA_1M)
    assert result.replicas[[74, 75, 90, 105]].tolist() == [1, 3, 4, 5]
    assert result.metric[4] == pytest.approx(700 / 3)  # the sync at 75 s
    assert result.ready[134] == 4 and result.ready[135] == 5
    assert result.slo_violation_seconds == 75
    late = simulate_hpa(traffic, model, replace(KEDA_1M, sync_phase_s=14))
    assert late.ready[148] == 4 and late.ready[149] == 5
    assert late.slo_violation_seconds == 89
    worst = simulate_worst_phase(traffic, model, KEDA_1M, phases=15)
    assert worst.slo_violation_seconds == 89 and worst.phase_s == 14
    assert worst.phase_violations_s == tuple(75.0 + p for p in range(15))
    ideal = simulate_hpa(traffic, model, HpaPolicy(1, 10, "rps_per_replica", 100))
    assert ideal.slo_violation_seconds == 45


def test_a_10_s_spike_seen_through_rate_1m():
    """100 rps with a 10 s spike to 500 rps at 60 s, KEDA on rate[1m] (as above).

    The ideal metric samples the previous second at each sync (59 s, 74 s): 100 rps, so it
    never sees the spike. rate[1m] at the sync at 75 s: (C75 - C30) / 45 = (30 x 100 +
    10 x 500 + 5 x 100) / 45 = 188.9 -> ceil(1.889) = 2 pods (ready at 105, after the spike).
    Syncs 90 and 105 still see 8,500 / 45 = 188.9 over 2 pods: ratio 0.94, inside the 0.1
    tolerance; from 120 s the rate is 100 -> 1 pod, but the 300 s scale-down window keeps
    the highest recommendation of the last 300 s: the 2 of 105 s, until 405 s.
    """
    traffic = Traffic.from_arrays([0, 60, 70, 600], [100, 500, 100, 100])
    model = flat_model()
    ideal = simulate_hpa(traffic, model, HpaPolicy(1, 10, "rps_per_replica", 100))
    assert set(ideal.replicas) == {1}
    seen = simulate_hpa(traffic, model, KEDA_1M)
    assert seen.metric[4] == pytest.approx(8500 / 45)
    assert seen.replicas[[74, 75, 104, 404]].tolist() == [1, 2, 2, 2]
    assert seen.replicas[405] == 1
    assert seen.slo_violation_seconds == 10  # the spike itself: no pod is ready in time


def test_success_counter_saturates_so_overload_scales_slowly():
    """The same step, but the query counts completions: a pod completes at most 120 rps.

    Sync 75: (30 x 100 + 15 x 120) / 45 = 106.7 over 1 pod: inside the tolerance, 1 pod.
    Sync 90: (15 x 100 + 30 x 120) / 45 = 113.3 -> ceil(1.133) = 2 (ready at 120).
    Syncs 105..150 read 120..200 over 2 pods (ratio 0.6 -> ceil(1.2) = 2; 0.8; 1.0): 2.
    Sync 165: 45 s at 240 (2 ready x 120) -> 240 / 200 = 1.2 -> 3 (ready at 195).
    Syncs 180..225: 240, 240, 280, 320 over 3 pods: 0.8 -> ceil(2.4) = 3; 0.93, 1.07 inside.
    Sync 240: 360 over 3 = 1.2 -> 4 (ready at 270). Syncs 255..285: 0.9 (inside), 0.9, 1.0.
    Sync 300: (15 x 360 + 30 x 480) / 45 = 440 over 4 = 1.1, just outside the tolerance in
    float64 (|1 - 1.1| = 0.10000000000000009, as in the controller's Go): ceil(4.4) = 5,
    ready at 330. SLO violated from 60 to 329 s: 270 s, against 75 s on the offered rate.
    """
    traffic = step(100, 500, 60, 600)
    result = simulate_hpa(traffic, flat_model(), replace(KEDA_1M, counter="completions"))
    assert result.replicas[[89, 90, 164, 165, 239, 240, 299, 300]].tolist() == [
        1, 2, 2, 3, 3, 4, 4, 5,
    ]  # fmt: skip
    assert result.ready[329] == 4 and result.ready[330] == 5
    assert result.slo_violation_seconds == 270


def test_cron_floor_prescales_and_costs_replica_seconds():
    """A KEDA cron trigger of 5 replicas from 60 to 180 s (a floor the HPA also proposes).

    At the sync at 60 s the cron proposes 5 (ratio 5/1 outside the tolerance) while the
    rate proposes 1: the HPA takes the larger, 5 (Pods 4 / Percent 100 allow 5).
    They are ready at 90 s, before the 500 rps step at 120 s: no SLO violation. The floor
    ends at 180 s; the rate then asks for 5 anyway.
    """
    traffic = step(100, 500, 120, 600)
    floor = np.where((traffic.t >= 60) & (traffic.t < 180), 5.0, 0.0)
    result = simulate_hpa(traffic, flat_model(), KEDA_1M, floor=floor)
    assert result.replicas[[59, 60]].tolist() == [1, 5]
    assert result.slo_violation_seconds == 0
    plain = simulate_hpa(traffic, flat_model(), KEDA_1M)
    assert plain.slo_violation_seconds == 75
    assert result.replica_seconds > plain.replica_seconds


def test_prescale_floor_follows_the_cron_minutes():
    # Bursts 300 s after each 10-minute boundary, 60 s long, lead 75 s: from minute
    # floor(225 / 60) = 3 to minute ceil(360 / 60) = 6 of every 10: [180, 360) s, [780, 960) s.
    t = np.arange(0.0, 1200.0)
    floor = prescale_floor(t, 600, 60, lead_s=75, replicas=7, phase_s=300)
    assert floor is not None
    assert floor[[179, 180, 359, 360, 779, 780]].tolist() == [0, 7, 7, 0, 0, 7]
    assert prescale_floor(t, 450, 60, lead_s=75, replicas=7) is None


def test_node_provisioning_delays_pods_beyond_the_pool():
    """2 pods fit on the existing nodes; the 3rd and 4th wait 120 s more for a new node."""
    model = replace(flat_model(cold=30), pool_pods=2, node_start_s=120)
    result = simulate_hpa(step(100, 400, 60, 600), model, RPS_100)
    assert result.replicas[75] == 4
    assert result.ready[104] == 1 and result.ready[105] == 2 and result.ready[224] == 2
    assert result.ready[225] == 4
    assert result.slo_violation_seconds == 165  # 60..224


# ----------------------------------------------------------------------------- KPA


def kpa_model(cold: float = 0.0) -> ReplicaModel:
    # 100 ms per request below 60 rps: concurrency = 0.1 x rps; beyond 60 rps per pod the
    # excess queues (mean latency constant, so the queue is the fluid max(0, x + (r - 60)dt)).
    return flat_model(capacity=50.0, max_rps=60.0, latency=100.0, cold=cold)


FULL = {"target_utilization_percentage": 100.0}  # the arithmetic tests aim at the target itself


def test_kpa_steady_load_gives_ceil_concurrency_over_target():
    # 100 rps x 0.1 s = 10 in flight; target 3 -> ceil(10/3) = 4 pods.
    result = simulate_kpa(
        Traffic.from_arrays([0, 300], [100, 100]),
        kpa_model(),
        KpaPolicy(target=3, **FULL),
        initial_replicas=1,
    )
    assert result.replicas[-1] == 4
    settled = simulate_kpa(
        Traffic.from_arrays([0, 300], [100, 100]), kpa_model(), KpaPolicy(target=3, **FULL)
    )
    assert set(settled.replicas) == {4} and not settled.panic.any()
    # Knative's default target utilization is 70%: 3 x 0.7 = 2.1 in flight -> ceil(10/2.1) = 5.
    assert KpaPolicy(target=3).target_utilization_percentage == 70
    default = simulate_kpa(Traffic.from_arrays([0, 120], [100, 100]), kpa_model(), KpaPolicy(3))
    assert set(default.replicas) == {5}
    utilization = KpaPolicy(target=5, target_utilization_percentage=70)  # aims at 3.5 in flight
    assert (
        simulate_kpa(Traffic.from_arrays([0, 120], [100, 100]), kpa_model(), utilization).replicas[
            -1
        ]
        == 3
    )


def test_kpa_panic_sees_the_queue_of_an_overload():
    """Knative panic with queueing concurrency, by hand.

    100 rps on 2 pods (10 in flight, target 5 at 100%); 300 rps from 100 s to 110 s. Each pod
    serves at most 60 rps, so from step 100 the 2 ready pods serve 120 rps and 180 requests
    a second queue: in flight = served x 0.1 s + queue = 12 + 180 = 192 at step 100,
    12 + 360 = 372 at step 101. Tick 102 (panic window 6 s = steps 96..101):
    (4 x 10 + 192 + 372) / 6 = 100.67 -> ceil(100.67 / 5) = 21 pods >= 200% of 2: panic,
    21 pods (the stable window, (58 x 10 + 564) / 60 = 19.07 -> 4, is overruled).
    With no cold start the 21 pods drain the queue in step 102 (360 + 300 - 21 x 60 < 0):
    30 in flight from then on. Tick 104: steps 98..103 = (10 + 10 + 192 + 372 + 30 + 30) / 6
    = 107.3 -> 22 (22/21 < 2: no new panic, but panic holds the maximum): 22 pods.
    Tick 106: (192 + 372 + 4 x 30) / 6 = 114 -> 23 pods. The capped model (latency at
    capacity, no queue) saw (4 x 10 + 2 x 30) / 6 = 16.7 -> 4 pods.
    Panic last held at 102 s and ends at the first tick after 162 s: 164. There the stable
    window (steps 104..163) is (6 x 30 + 54 x 10) / 60 = 12 -> 3 pods, but scale-down is
    limited to half the ready pods: floor(23/2) = 11; tick 166: floor(11/2) = 5; tick 168:
    stable (2 x 30 + 58 x 10) / 60 = 10.7 -> 3 >= floor(5/2).
    """
    traffic = Traffic.from_arrays([0, 100, 110, 400], [100, 300, 100, 100])
    result = simulate_kpa(traffic, kpa_model(), KpaPolicy(target=5, **FULL))
    panic = np.flatnonzero(result.panic)
    assert panic[0] == 102
    assert result.replicas[[99, 102, 104, 106, 108]].tolist() == [2, 21, 22, 23, 23]
    assert panic[-1] == 163 and panic.size == 62
    assert set(result.replicas[106:164]) == {23}
    assert result.replicas[[164, 166, 168]].tolist() == [11, 5, 3]
    # The stable-window average each tick read, e.g. tick 102: 1144 / 60.
    assert result.metric[50] == pytest.approx(1144 / 60)


def test_kpa_scale_down_delay_and_scale_to_zero():
    traffic = Traffic.from_arrays([0, 50, 400], [100, 0, 0])
    result = simulate_kpa(traffic, kpa_model(), KpaPolicy(target=5, min_scale=0, **FULL))
    # Stable window empty of traffic at 110 s; zero after the 30 s grace period.
    changes = np.flatnonzero(np.diff(result.replicas)) + 1
    assert changes.tolist() == [80, 140]
    assert result.replicas[-1] == 0
    delayed = simulate_kpa(traffic, kpa_model(), KpaPolicy(target=5, scale_down_delay_s=60, **FULL))
    assert delayed.replicas[80] == 2 and delayed.replicas[-1] == 1


def test_kpa_scale_from_zero_counts_the_requests_the_activator_holds():
    """Scale from zero and back, by hand (target 5 at 100%, 4 s pod start, min scale 0).

    No traffic until 100 s: 0 pods. Then 10 rps; with no pod the activator holds them and
    reports them as in flight: 10, 20, 30, ... at steps 100, 101, 102, ...
    Tick 102: stable (10 + 20) / 60 = 0.5 -> 1 pod; panic window (10 + 20) / 6 = 5 -> 1,
    not 2x the (at least 1) ready pods: 1 pod, ready at 106.
    Tick 104: panic window 100 / 6 = 16.7 -> 4 pods >= 2 x 1: panic, 4 pods (ready at 108).
    Tick 106: (10 + 20 + ... + 60) / 6 = 35 -> 7 pods: 7. The pod ready at 106 drains the 60
    held requests (60 + 10 - 60 = 10 left, then 0): 11 and 1 in flight at steps 106, 107.
    Steps 100..105 had no ready pod: 6 s of SLO violation, 60 requests late.
    Panic last held at 106 s, ends at tick 168: stable 1 in flight -> 1 pod, limited to
    floor(7/2) = 3; tick 170: 1. Traffic stops at 300 s: the stable window is empty at tick
    360 (steps 300..359), zero pods after the 30 s grace: 390 s.
    """
    traffic = Traffic.from_arrays([0, 100, 300, 500], [0, 10, 0, 0])
    result = simulate_kpa(
        traffic, kpa_model(cold=4), KpaPolicy(target=5, min_scale=0, max_scale=0, **FULL)
    )
    assert result.replicas[99] == 0
    assert result.replicas[[102, 104, 106, 167, 168, 170]].tolist() == [1, 4, 7, 7, 3, 1]
    assert result.ready[105] == 0 and result.ready[106] == 1 and result.ready[108] == 4
    assert result.slo_violation_seconds == 6
    assert result.late_or_dropped_requests == pytest.approx(60)
    assert result.replicas[389] == 1 and result.replicas[390] == 0
    # Target burst capacity 211 > 7 pods x 5: the activator never leaves the request path.
    assert result.activator_seconds == pytest.approx(2 * 250)  # 250 ticks, 2 s .. 500 s


def test_kpa_cold_start_violates_slo_through_a_short_burst():
    traffic = Traffic.from_arrays([0, 100, 110, 400], [100, 300, 100, 100])
    result = simulate_kpa(traffic, kpa_model(cold=20.0), KpaPolicy(target=5, **FULL))
    assert result.slo_violation_seconds == 10  # pods asked for at 102 s serve at 122 s
    assert result.ready[121] == 2 and result.ready[122] == 21  # 21 as in the panic test


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
    # 100 rps x 50 ms = 5 in flight at capacity: the target; utilization is the headroom.
    assert {p.target for p in kpa} == {5.0}
    assert {p.target_utilization_percentage for p in kpa} == {60, 70, 80, 90}
    with pytest.raises(InputError, match="no candidate"):
        recommend(step(1, 1, 1, 2), model, price_per_hour=1, candidates=[])


def spikes(cold: float = 60.0) -> tuple[Traffic, ReplicaModel]:
    """100 rps with a 60 s burst to 640 rps every 10 minutes, the first at 300 s."""
    return burst_traffic(), flat_model(cold=cold)


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


# ----------------------------------------------------------------------------- cost of a simulation


def test_the_latency_curve_is_evaluated_once_per_simulation_not_per_second():
    """Issue 16: the SLO percentile is computed for all simulated seconds in one array call
    (and never for Little's law, which uses the mean curve), whatever the trace length."""
    calls: list[int] = []

    def latency_ms(rate):
        calls.append(np.size(rate))
        return np.where(np.asarray(rate) < 120, 50.0, np.inf)

    model = ReplicaModel(100, 120, latency_ms, cold_start_s=30, slo_ms=100)
    traffic = Traffic.from_arrays([0, 600, 3600], [100, 400, 400])
    simulate_hpa(traffic, model, KEDA_1M)
    simulate_kpa(traffic, model, KpaPolicy(target=4))
    # one call for the zero-load mean latency (no mean curve given), one per simulation
    assert len(calls) <= 3 and max(calls) == traffic.t.size


def test_a_capacity_at_saturation_without_a_curve_still_gives_finite_knative_targets():
    """A lower-bound capacity with no fit: capacity = max_rps = 50 rps, latency 20 ms flat.

    In flight at capacity: 50 x 0.020 = 1.0 per pod (no queueing part without a curve), so
    the KPA target is 1.0; 200 rps needs ceil(200 x 0.02 / (1.0 x 0.7)) = 6 pods at 70%.
    """
    model = flat_model(capacity=50.0, max_rps=50.0, latency=20.0, cold=0.0)
    assert model.concurrency_at(50.0) == pytest.approx(1.0)
    candidates = default_kpa_candidates(model, peak=200)
    assert {p.target for p in candidates} == {1.0}
    result = simulate_kpa(Traffic.from_arrays([0, 300], [200, 200]), model, KpaPolicy(1.0))
    assert set(result.replicas) == {6}


def test_activator_leaves_the_path_once_the_spare_capacity_covers_the_burst_capacity():
    """Knative's excess burst capacity: floor(ready x target - panic concurrency - 211).

    1000 rps x 0.1 s = 100 in flight, target 100 per pod (at 100%): with 4 pods (min scale)
    4 x 100 - 100 - 211 = 89 >= 0, the activator is out of the path at every tick; with
    3 pods (min scale 3; 100 in flight needs only 1), 300 - 100 - 211 = -11 < 0: always in.
    """
    model = flat_model(capacity=400.0, max_rps=500.0, latency=100.0, cold=0.0)
    traffic = Traffic.from_arrays([0, 120], [1000, 1000])
    four = simulate_kpa(traffic, model, KpaPolicy(100, min_scale=4, **FULL))
    three = simulate_kpa(traffic, model, KpaPolicy(100, min_scale=3, **FULL))
    assert set(four.replicas) == {4} and set(three.replicas) == {3}
    assert four.activator_seconds == 0
    assert three.activator_seconds == 120  # 60 ticks of 2 s
    never = simulate_kpa(traffic, model, KpaPolicy(100, min_scale=3, target_burst_capacity=0))
    assert never.activator_seconds == 0


def test_kpa_utilizations_keep_the_headline_headroom():
    """With 20% headroom the KPA may not aim above the in-flight count at 80% of capacity.

    Flat latency (no queueing part): in flight grows linearly, the limit is 80%: 60, 70, 80.
    M/M/1 mean (mu 200 rps, capacity 150): the target is capacity x the mean latency at
    80% of capacity, 150 x 1000 / (200 - 120) ms = 150 x 0.0125 s = 1.875 -> 1.87 (rounded
    down); at 80% it aims at 1.87 x 0.8 = 1.496 in flight, at most c(120) = 120/80 = 1.5
    (the old grid's 3.0 = c(150) at 50% aimed at the same 1.5): utilizations 60, 70, 80.
    """
    flat = default_kpa_candidates(flat_model(), peak=640, headroom=0.2)
    assert {p.target_utilization_percentage for p in flat} == {60, 70, 80}
    mm1 = ReplicaModel(
        150, 200, lambda r: r, cold_start_s=0, slo_ms=100, mean=MeanLatency(0.0, 1000.0, 200.0)
    )
    grid = default_kpa_candidates(mm1, peak=600, headroom=0.2)
    assert {p.target for p in grid} == {1.87}
    assert {p.target_utilization_percentage for p in grid} == {60, 70, 80}
    assert max(p.effective_target for p in grid) <= mm1.concurrency_at(120.0) == 1.5


@pytest.mark.parametrize(
    "field", ["target_burst_capacity", "max_scale_up_rate", "scale_down_delay_s", "tick_s"]
)
@pytest.mark.parametrize("value", [math.inf, math.nan])
def test_kpa_policy_with_a_non_finite_number_is_refused_in_one_line(field: str, value: float):
    """target_burst_capacity = inf passed the >= 0 check and reached
    floor(ready x target - burst - inf) (OverflowError); every KPA number must be finite."""
    with pytest.raises(InputError, match=f"KPA policy: {field} must be a finite number"):
        KpaPolicy(target=1.0, **{field: value})


def test_kpa_queue_step_stays_finite_for_a_saturation_far_beyond_the_traffic():
    """A mean-latency curve whose saturation x_max is far beyond the traffic (1e200 req/s, as
    a fit on a very short run can extrapolate): the backward Euler queue step once squared
    b ~ mu x dt = 1e200 (inf), so a step with no arrivals gave an infinite in-flight count and
    floor(-inf) in the activator check (OverflowError). The queue part s*x/(x_max - x) is
    then nil: the answer is that of any saturation far beyond the traffic, e.g. 1e6 req/s —
    in flight = rate x base = 3 x 0.001 = 0.003 per pod, one pod all along (min scale 1), the
    activator in the path as long (1 pod x target 1 < burst capacity 211)."""
    traffic = Traffic.from_arrays([0, 1, 2, 30], [3.0, 0.0, 0.0, 0.0])
    results = [
        simulate_kpa(
            traffic,
            ReplicaModel(5.0, 5.0, lambda x: x * 0 + 10.0, 0.0, 200.0, MeanLatency(1.0, 1.0, xm)),
            KpaPolicy(target=1.0),
        )
        for xm in (1e200, 1e6)
    ]
    far, near = results
    assert set(far.replicas) == {1} and far.activator_seconds == near.activator_seconds
    assert np.all(np.isfinite(far.metric[~np.isnan(far.metric)]))
    assert np.array_equal(far.replicas, near.replicas)
    np.testing.assert_allclose(far.metric, near.metric, rtol=1e-5, equal_nan=True)
