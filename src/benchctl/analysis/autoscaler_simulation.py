"""Autoscaler simulation and recommendation: Kubernetes HPA v2 (alone or driven by KEDA) and
the Knative KPA, simulated against a traffic trace and ranked by SLO-violation seconds and
cost.

This module is the public face of the simulators: it re-exports the inputs and results
(``scaling_model``), the HPA (``hpa``) and KPA (``kpa``) simulators and the burst advice
(``spikes``), and holds the search: simulate candidates (an HPA at its worst sync phase),
rank them, and the default candidate grids.

It knows nothing of run directories: ``autoscaling_section`` is the analyze stage's use of
it (a run's traffic in, capacity.json's ``autoscaling`` section and manifests out).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from typing import Unpack

from benchctl.analysis.hpa import hpa_proposal, simulate_hpa
from benchctl.analysis.hpa_batch import simulate_hpa_many, worst_phases
from benchctl.analysis.kpa import kpa_counts, simulate_kpa
from benchctl.analysis.kpa_batch import simulate_kpa_many
from benchctl.analysis.scaling_model import (
    EPS,
    CronWindow,
    FloatArray,
    MeanLatency,
    MeasuredMeans,
    Recommendation,
    ReplicaModel,
    SimResult,
    SpikePattern,
    Traffic,
    ceil_up,
    rate_span,
)
from benchctl.analysis.scaling_policies import (
    DEFAULT_SCALE_DOWN,
    DEFAULT_SCALE_UP,
    KNATIVE_TARGET_BURST_CAPACITY,
    KNATIVE_TIMEOUT_S,
    HpaPolicy,
    KpaPolicy,
    Policy,
    ScalingPolicy,
)
from benchctl.analysis.scaling_steps import SimArgs
from benchctl.analysis.spikes import (
    detect_spikes,
    prescale_floor,
    prescale_windows,
    spike_advice,
)
from benchctl.errors import InputError

__all__ = [
    "DEFAULT_SCALE_DOWN",
    "DEFAULT_SCALE_UP",
    "KNATIVE_TARGET_BURST_CAPACITY",
    "KNATIVE_TIMEOUT_S",
    "CronWindow",
    "HpaPolicy",
    "KpaPolicy",
    "MeanLatency",
    "MeasuredMeans",
    "Policy",
    "Recommendation",
    "ReplicaModel",
    "ScalingPolicy",
    "SimResult",
    "SpikePattern",
    "Traffic",
    "default_hpa_candidates",
    "default_kpa_candidates",
    "detect_spikes",
    "hpa_proposal",
    "kpa_counts",
    "kpa_mean_latency",
    "kpa_target",
    "kpa_target_note",
    "prescale_floor",
    "prescale_windows",
    "recommend",
    "simulate",
    "simulate_hpa",
    "simulate_kpa",
    "simulate_worst_phase",
    "spike_advice",
]


def simulate_worst_phase(
    traffic: Traffic,
    model: ReplicaModel,
    policy: Policy,
    *,
    phases: int = 1,
    floor: FloatArray | None = None,
    **options: Unpack[SimArgs],
) -> SimResult:
    """The worst of ``phases`` evenly spaced first-sync offsets of an HPA (the trace does not
    know where the controller's 15-s loop stands): most SLO-violation seconds, then most
    late requests, then most replica-seconds. KPA policies are simulated once, and so is an
    HPA with ``phases`` 1 (``simulate``). ``floor``, a cron pre-scale, applies to the HPA only.
    ``options``: ``dt``, ``price_per_hour``, ``initial_replicas`` (`SimSettings`). The phases
    are stepped together (``hpa_batch.worst_phases``)."""
    if isinstance(policy, KpaPolicy):
        return simulate_kpa(traffic, model, policy, **options)
    if phases <= 1:
        return simulate_hpa(traffic, model, policy, floor=floor, **options)
    return worst_phases(traffic, model, [policy], phases=phases, floor=floor, **options)[0]


simulate = simulate_worst_phase  # either autoscaler, simulated once (phases 1)


def recommend(
    traffic: Traffic,
    model: ReplicaModel,
    *,
    price_per_hour: float,
    candidates: Sequence[Policy],
    dt: float = 1.0,
    phases: int = 1,
    floor: FloatArray | None = None,
    currency: str = "USD",
    headroom: float | None = None,
) -> list[Recommendation]:
    """Simulate each candidate (HPA: its worst sync phase of ``phases``); best first: meets
    the SLO and cheapest, else fewest violations. ``headroom``: the one
    :func:`default_kpa_candidates` was given, so a KPA candidate's reason says where its
    target comes from (``kpa_target_note``)."""
    if not candidates:
        raise InputError("recommend: no candidate policies")
    results = _simulate_candidates(
        traffic, model, candidates, phases=phases, dt=dt, price_per_hour=price_per_hour, floor=floor
    )
    order = sorted(
        range(len(results)),
        key=lambda i: (
            results[i].slo_violation_seconds,
            results[i].replica_seconds,
            results[i].late_or_dropped_requests,
            i,
        ),
    )
    best = results[order[0]]
    return [
        Recommendation(
            policy=candidates[i],
            result=results[i],
            chosen=rank == 0,
            reason=f"{candidates[i].describe()}{kpa_target_note(candidates[i], model, headroom)}"
            f": {_reason(results[i], best, rank == 0, currency)}",
        )
        for rank, i in enumerate(order)
    ]


def _simulate_candidates(
    traffic: Traffic,
    model: ReplicaModel,
    candidates: Sequence[Policy],
    *,
    phases: int,
    floor: FloatArray | None,
    **options: Unpack[SimArgs],
) -> list[SimResult]:
    """``[simulate_worst_phase(traffic, model, c, phases=phases, floor=floor, **options) for c
    in candidates]``, with the HPA candidates (and their phases) stepped together as lanes of
    one batch (``hpa_batch``: the Python work is per sync, not per candidate x phase x sync),
    and so are the KPA candidates (``kpa_batch``: per step, not per candidate x step).
    """
    hpa = [i for i, c in enumerate(candidates) if isinstance(c, HpaPolicy)]
    policies = [c for c in candidates if isinstance(c, HpaPolicy)]
    if phases > 1:
        batch = worst_phases(traffic, model, policies, phases=phases, floor=floor, **options)
    else:
        batch = simulate_hpa_many(traffic, model, policies, floor=floor, **options)
    kpa = [i for i, c in enumerate(candidates) if isinstance(c, KpaPolicy)]
    kpa_policies = [c for c in candidates if isinstance(c, KpaPolicy)]
    by_index = dict(zip(hpa, batch, strict=True))
    by_index.update(
        zip(kpa, simulate_kpa_many(traffic, model, kpa_policies, **options), strict=True)
    )
    return [by_index[i] for i in range(len(candidates))]


def _reason(result: SimResult, best: SimResult, chosen: bool, currency: str = "USD") -> str:
    hours = result.replica_seconds / 3600.0
    from benchctl.amounts import amount_text

    money = f" ({amount_text(result.cost)} {currency})" if result.cost > 0 else ""
    peak = f"{result.max_replicas} replica{'' if result.max_replicas == 1 else 's'}"
    cost = f"{amount_text(hours)} replica-hours{money}, peak {peak}"
    phases = result.phase_violations_s
    worst = (
        f" (worst of {len(phases)} sync phases; best {min(phases):g} s)"
        if len(phases) > 1 and max(phases) > min(phases)
        else ""
    )
    missed = (
        f"SLO violated for {result.slo_violation_seconds:g} s{worst}"
        f" ({result.late_or_dropped_requests:,.0f} late or dropped requests)"
    )
    if chosen:
        if result.slo_violation_seconds == 0:
            return f"chosen: cheapest candidate that meets the SLO; {cost}"
        return f"chosen: no candidate meets the SLO, this one misses least; {missed}; {cost}"
    if result.slo_violation_seconds > 0:
        return f"rejected: {missed}"
    extra = (result.replica_seconds / best.replica_seconds - 1) * 100 if best.replica_seconds else 0
    if extra < 0.5:
        return f"meets the SLO at the chosen one's cost (ranked after it); {cost}"
    return f"meets the SLO but costs {extra:.0f}% more than the chosen one; {cost}"


def default_hpa_candidates(
    model: ReplicaModel,
    peak: float,
    *,
    template: HpaPolicy | None = None,
    max_share: float = 0.9,
    need: int | None = None,
) -> list[HpaPolicy]:
    """A grid over min replicas, target (60-90% of capacity, at most ``max_share``) and
    scale-down window; metric pipeline and controller flags from ``template``. ``need``:
    the replicas the peak needs (default ceil(peak / capacity); the headline count when
    given, so min replicas are 1, half of it and all of it)."""
    need = need or model.replicas_for(peak)
    top = max(2, 2 * ceil_up(peak / (0.6 * model.capacity_rps)))
    base = template or HpaPolicy(1, 1, "rps_per_replica", 1.0)
    shares = [s for s in (0.6, 0.7, 0.8, 0.9) if s <= max_share + EPS] or [max_share]
    return [
        replace(
            base,
            min_replicas=low,
            max_replicas=max(top, low),
            metric="rps_per_replica",
            target=round(model.capacity_rps * share, 3),
            scale_down_stabilization_s=window,
        )
        for low in sorted({1, max(1, ceil_up(need / 2)), need})
        for share in shares
        for window in (60, 300)
    ]


def default_kpa_candidates(
    model: ReplicaModel,
    peak: float,
    *,
    template: KpaPolicy | None = None,
    headroom: float | None = None,
    need: int | None = None,
) -> list[KpaPolicy]:
    """A grid over min scale (0 included), target utilization and stable window.

    The target (``kpa_target``) is the requests one pod holds in flight at its capacity by
    Little's law, L = lambda W, with W the mean latency at the rate the pods may run at, r =
    (1 - headroom) x capacity (0.9 x without a headroom, the HPA's top share); the utilization
    is Knative's ``target-utilization-percentage``, the share of the target the KPA aims at.
    The KPA aims at target x u = r x W(r) x u / (1 - h) in flight per pod: at u = (1 - h)
    exactly the in-flight count at r (Little's law again), so the utilizations are 60-90%
    (Knative's 70% among them) up to (1 - headroom), plus (1 - headroom) itself: the
    simulated KPA then runs no pod above r, the headline count's rate per replica.
    Sources: Knative Serving, "Configuring concurrency" (knative.dev/docs/serving/
    autoscaling/concurrency: ``autoscaling.knative.dev/target`` is a soft limit of requests
    in flight per replica; ``target-utilization-percentage`` the share of it the autoscaler
    aims at, a new replica when the average reaches target x u, e.g. 10 x 70% = 7);
    "Additional autoscaling configuration for Knative Pod Autoscaler" (knative.dev/docs/
    serving/autoscaling/kpa-specific: stable window 6 s..1 h, default 60 s; the panic window
    is stable x ``panic-window-percentage``, 10% = 6 s by default; panic mode, entered at
    ``panic-threshold-percentage`` (200%) of the target within it, never scales down and
    ends after a stable window without reason); Little (1961), L = lambda W.

    ``model``: one replica (capacity req/s, mean latency ms); ``peak``: req/s; ``need``: as
    in :func:`default_hpa_candidates` (min scales 0, 1, half of it, all of it). Raises
    nothing of its own.
    """
    need = need or model.replicas_for(peak)
    target, _, _ = kpa_target(model, headroom)
    top = max(2, 2 * ceil_up(peak / (0.6 * model.capacity_rps)))
    base = template or KpaPolicy(target=1.0)
    limit = math.floor(100.0 * (1.0 - _share(headroom)) + 1e-6)
    shares = tuple(dict.fromkeys([*(u for u in (70.0, 60.0, 80.0, 90.0) if u <= limit), limit]))
    return [
        replace(
            base,
            target=target,
            target_utilization_percentage=float(share),
            min_scale=low,
            max_scale=max(top, low),
            stable_window_s=window,
        )
        for low in sorted({0, 1, max(1, ceil_up(need / 2)), need})
        for share in shares
        for window in (30.0, 60.0, 120.0)
    ]


def _share(headroom: float | None) -> float:
    """The headroom kept below capacity: ``headroom`` in [0, 0.99], 0.1 when None."""
    return 0.1 if headroom is None else min(0.99, max(0.0, headroom))


def kpa_target(model: ReplicaModel, headroom: float | None) -> tuple[float, float, float]:
    """(target, r, W): the KPA's concurrency target per pod (in-flight requests, rounded
    down to 3 significant digits, at least Knative's minimum 0.01: ``TargetMin`` in
    knative/serving pkg/apis/autoscaling/register.go, "can be less than 1", though the
    "Targets" page calls the annotation an integer), the rate r (req/s per
    pod) whose mean latency W (ms, ``kpa_mean_latency``) it uses: target = capacity x
    W(r) / 1000 (Little's law L = lambda W at capacity), with r = (1 - headroom) x capacity
    (``_share``), below the mean-latency curve's asymptote (at most 0.99 x x_max).

    Not W at capacity itself: the mean-latency curve base + scale / (x_max - x) is steep
    near its x_max, which may be the capacity (make demo: x_max 79.83 = capacity, W(0.99 x
    79.83) = 1,233 ms, a target of 97.45 at 3%), so the in-flight count at capacity says
    little of what a pod holds at the rates the KPA runs it at. Rounded to 3 digits, not to
    0.01: a 6.5 rps pod at 5.73 ms holds 0.0372, which 0.01 steps would cut to 0.03 (a KPA
    with a fifth more pods than the capacity needs). Raises nothing."""
    capacity = model.capacity_rps
    rate = min((1.0 - _share(headroom)) * capacity, 0.99 * model.mean_latency.x_max)
    latency_ms, _ = kpa_mean_latency(model, rate)
    return max(0.01, _floor_digits(capacity * latency_ms / 1000.0, 3)), rate, latency_ms


def _floor_digits(value: float, digits: int) -> float:
    """``value`` (> 0) rounded down to ``digits`` significant digits; 0 for 0 or less."""
    if not (value > 0 and math.isfinite(value)):
        return 0.0
    step = 10.0 ** (math.floor(math.log10(value)) - digits + 1)
    return round(math.floor(value / step + 1e-9) * step, 12)


def kpa_mean_latency(model: ReplicaModel, rate: float) -> tuple[float, str]:
    """(W ms, where it comes from): one pod's mean latency at ``rate`` (req/s) for the KPA
    target. A measurement where the run measured near ``rate`` (windows within 10% of it,
    ``MeasuredMeans.near``: the mean over their requests) before any curve; without a
    queueing curve (none fitted, or a constant one) the windows at the measured throughput
    nearest ``rate``; else the mean-latency curve at ``rate``. Never the SLO bound while the
    run measured a mean (trial 8: p50<=100ms stood in for a measured 5.73 ms mean). Raises
    nothing."""
    measured = model.measured
    found = measured.near(rate) if measured is not None else None
    where = "measured near it"
    if found is None and measured is not None and (model.mean is None or model.mean.scale == 0):
        found, where = measured.nearest(rate), "measured at the nearest load"
    if found is not None:
        mean, low, high, count = found
        at = rate_span(low, high)
        return mean, f"{where}: the mean of {count} window{'s' * (count != 1)} at {at}"
    if model.mean is None:
        return float(model.mean_latency.ms(rate)), "no mean latency measured: the SLO bound"
    return float(model.mean.ms(rate)), "the fitted mean-latency curve"


def kpa_target_note(policy: Policy, model: ReplicaModel, headroom: float | None) -> str:
    """ " (target: L = lambda W = C rps capacity x W ms, the mean latency at R rps (S% of
    capacity), SOURCE; it aims at u% of it, N in flight per pod)" for a concurrency KPA
    policy whose target is ``kpa_target``'s (SOURCE: ``kpa_mean_latency``'s); '' for any
    other policy (an HPA, an rps metric, another target). No apostrophe: the report escapes
    the reason as Jinja does."""
    if not isinstance(policy, KpaPolicy) or policy.metric != "concurrency":
        return ""
    target, rate, latency_ms = kpa_target(model, headroom)
    if policy.target != target:
        return ""
    share = rate / model.capacity_rps
    _, source = kpa_mean_latency(model, rate)
    return (
        f" (target: L = lambda W = {model.capacity_rps:,.1f} rps capacity x {_ms(latency_ms)} ms,"
        f" the mean latency at {rate:,.1f} rps ({share:.0%} of capacity), {source}; it aims at"
        f" {policy.target_utilization_percentage:g}% of it, {policy.effective_target:.3g} in"
        " flight per pod)"
    )


def _ms(value: float) -> str:
    """A latency in ms to 3 significant digits below 10 ms (5.73), else to 0.1 ms (61.8)."""
    return f"{value:.3g}" if value < 10 else f"{value:,.1f}"
