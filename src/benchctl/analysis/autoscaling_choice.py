"""Which autoscaler the analyze stage recommends: HPA (KEDA) and Knative KPA candidates
simulated against the traffic and ranked (``autoscaler_simulation.recommend``), the reactive
HPA tested on bursts (``spikes.spike_advice``), a KEDA cron pre-scale simulated when reactive
scaling cannot keep up, and one deployment chosen: RawDeployment + KEDA or Serverless + KPA,
whichever has fewer SLO-violation seconds, then fewer replica-seconds.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from benchctl.amounts import amount_text
from benchctl.analysis.autoscaler_simulation import (
    HpaPolicy,
    Recommendation,
    ReplicaModel,
    SimResult,
    Traffic,
    default_hpa_candidates,
    default_kpa_candidates,
    detect_spikes,
    prescale_floor,
    prescale_windows,
    recommend,
    simulate_worst_phase,
    spike_advice,
)
from benchctl.analysis.cluster import ClusterSpec
from benchctl.analysis.deployment import ALTERNATIVE, RAW, SERVERLESS
from benchctl.analysis.scaling_inputs import ServerCounter
from benchctl.config import ReplayScenario, SpikeScenario


@dataclass(frozen=True)
class Choice:
    """The simulated candidates the analyze stage picked: the best HPA (with the cron
    pre-scale when that won) and KPA, the reactive HPA the spike advice tested, the advice
    text ("" for traffic without bursts), the cron option (dict, or None), the deployment
    mode (``RAW`` or ``SERVERLESS``) and how many HPA sync phases were simulated."""

    hpa: Recommendation
    kpa: Recommendation
    reactive: Recommendation
    advice: str
    cron: dict[str, Any] | None
    mode: str
    phases: int


def choose_deployment(
    traffic: Traffic,
    spec: Any,
    model: ReplicaModel,
    cluster: ClusterSpec,
    counter: ServerCounter,
    *,
    need: int,
    need_reason: str | None,
    headroom: float | None,
    price: float,
    currency: str,
    capacity_is_bound: bool = False,
) -> Choice:
    """Simulate and rank the default HPA and KPA candidates against ``traffic`` (req/s per
    second of real time), with ``need`` replicas (the headline count) as the floor the
    minimums and pre-scale are sized from, HPA targets capped at (1 - headroom) of a
    replica's capacity (0.9 without a headroom), each HPA at its worst of
    round(sync period) sync phases; ``spec``: the traffic's scenario (spike and replay
    scenarios get burst advice). ``price``: per replica-hour in ``currency``.
    ``capacity_is_bound``: the model's capacity is a lower bound (the SLO never broke), so
    the burst advice and the cron sentence call a simulated violation an extrapolation."""
    template = _hpa_template(cluster, counter)
    peak = float(traffic.rps.max())
    phases = max(1, round(cluster.hpa_sync_period))
    share = 1.0 - headroom if headroom is not None else 0.9
    options = {"price_per_hour": price, "currency": currency}
    hpa_ranked = recommend(
        traffic,
        model,
        candidates=default_hpa_candidates(
            model, peak, template=template, max_share=share, need=need
        ),
        phases=phases,
        **options,
    )
    kpa_ranked = recommend(
        traffic,
        model,
        candidates=default_kpa_candidates(model, peak, headroom=headroom, need=need),
        headroom=headroom,  # its reason says where the target comes from
        **options,
    )
    hpa, kpa = _chosen(hpa_ranked), _chosen(kpa_ranked)
    reactive = _best_reactive(hpa_ranked, need)
    advice = _advice(traffic, spec, model, reactive, need, need_reason, capacity_is_bound)
    cron = _cron_option(traffic, model, spec, reactive, advice, phases, price, currency, need)
    if cron is not None and capacity_is_bound:
        cron = _cron_as_extrapolation(cron, reactive)
    if cron is not None and _better(cron["choice"].result, hpa.result):
        hpa = cron["choice"]
    mode = RAW if _better(hpa.result, kpa.result, tie=True) else SERVERLESS
    return Choice(hpa, kpa, reactive, advice, cron, mode, phases)


def _hpa_template(cluster: ClusterSpec, counter: ServerCounter) -> HpaPolicy:
    """The HPA every candidate starts from: requests/s per replica from the server's
    ``counter`` (offered or completions) through an external metric, on ``cluster``'s
    sync period, rate window and scrape interval (seconds)."""
    return HpaPolicy(
        1,
        1,
        "rps_per_replica",
        1.0,
        sync_period_s=cluster.hpa_sync_period,
        rate_window_s=cluster.rate_window,
        scrape_interval_s=cluster.scrape_interval,
        counter="offered" if counter.counts == "offered" else "completions",
        source="external",
    )


def _advice(
    traffic: Traffic,
    spec: Any,
    model: ReplicaModel,
    reactive: Recommendation,
    need: int,
    need_reason: str | None,
    capacity_is_bound: bool = False,
) -> str:
    """The burst advice for spike and replay traffic ("" for other traffic)."""
    if not isinstance(spec, SpikeScenario | ReplayScenario):
        return ""
    return spike_advice(
        traffic,
        model,
        reactive.result,
        metric_window_s=getattr(reactive.policy, "rate_window_s", 0.0),
        need=need,
        need_reason=need_reason,
        capacity_is_bound=capacity_is_bound,
        **_spike_timing(spec),
    )


def needs_prescale(advice: str) -> bool:
    """True when the burst advice asks for min replicas or a cron pre-scale: reactive
    scaling cannot keep up, or may not on a capacity that is only a lower bound."""
    return "cannot keep up" in advice or "may not keep up" in advice


def _cron_as_extrapolation(cron: dict[str, Any], reactive: Recommendation) -> dict[str, Any]:
    """``cron`` with its sentence saying that reactive scaling's violation seconds are the
    simulation's on a capacity that is a lower bound, not measured."""
    seconds = f"{reactive.result.slo_violation_seconds:g} s"
    text = str(cron["text"]).replace(
        f"({seconds} violated)",
        f"({seconds} over the assumed capacity, a lower bound: an extrapolation)",
    )
    return {**cron, "text": text}


def _better(a: SimResult, b: SimResult, *, tie: bool = False) -> bool:
    """Fewer SLO-violation seconds, then fewer replica-seconds (``tie``: a wins ties)."""
    key_a = (a.slo_violation_seconds, a.replica_seconds)
    key_b = (b.slo_violation_seconds, b.replica_seconds)
    return key_a < key_b or (tie and key_a == key_b)


def _best_reactive(ranked: list[Recommendation], peak_replicas: int) -> Recommendation:
    """The candidate that relies most on scaling (min replicas below what the peak needs)
    with the fewest SLO-violation seconds: the fair test of "can reactive scaling keep up"."""
    reactive = [r for r in ranked if getattr(r.policy, "min_replicas", 0) < peak_replicas]
    if not reactive:
        return _chosen(ranked)
    return min(reactive, key=lambda r: (r.result.slo_violation_seconds, r.result.replica_seconds))


def _cron_option(
    traffic: Traffic,
    model: ReplicaModel,
    spec: Any,
    reactive: Recommendation,
    advice: str,
    phases: int,
    price: float,
    currency: str,
    need: int | None = None,
) -> dict[str, Any] | None:
    """The reactive policy plus the KEDA cron pre-scale the advice recommends, simulated;
    ``need`` replicas during bursts (default ceil(burst peak / capacity))."""
    if not isinstance(spec, SpikeScenario) or not needs_prescale(advice):
        return None
    timing = _spike_timing(spec)
    pattern = detect_spikes(traffic)
    need = need or model.replicas_for(pattern.peak_rps if pattern else traffic.peak)
    policy: HpaPolicy = reactive.policy  # type: ignore[assignment]
    lead = model.cold_start_s + policy.sync_period_s
    arguments = {"lead_s": lead, "replicas": need, "phase_s": timing["phase_s"]}
    windows = prescale_windows(timing["period_s"], timing["burst_s"], **arguments)
    floor = prescale_floor(traffic.t, timing["period_s"], timing["burst_s"], **arguments)
    if not windows or floor is None:
        return None
    policy = replace(policy, max_replicas=max(policy.max_replicas, need))
    result = simulate_worst_phase(
        traffic, model, policy, phases=phases, price_per_hour=price, floor=floor
    )
    base = reactive.result
    extra = result.replica_seconds - base.replica_seconds
    missed = result.slo_violation_seconds
    verdict = "meets the SLO" if missed == 0 else f"SLO violated for {missed:g} s"
    money = f" ({amount_text(result.cost)} {currency})" if result.cost > 0 else ""
    hours = amount_text(result.replica_seconds / 3600)
    text = (
        f"{policy.describe()} plus KEDA cron {need} replicas from '{windows[0].start}'"
        f" to '{windows[0].end}' (UTC): {verdict} in the simulation, worst sync phase;"
        f" {hours} replica-hours{money}, {amount_text(extra / 3600, signed=True)}"
        f" replica-hours against reactive scaling alone ({base.slo_violation_seconds:g} s"
        " violated)"
    )
    reason = f"{policy.describe()} + cron pre-scale to {need}: {verdict}; " + (
        f"{hours} replica-hours{money},"
        f" peak {result.max_replicas} replica{'' if result.max_replicas == 1 else 's'}"
    )
    choice = Recommendation(policy=policy, result=result, chosen=True, reason=reason)
    return {"choice": choice, "windows": windows, "replicas": need, "text": text}


def cron_summary(cron: dict[str, Any]) -> dict[str, Any]:
    """capacity.json ``cron_prescale``: the first window's start and end (cron expressions,
    UTC), the desired replicas, the simulated result's summary and the sentence."""
    window = cron["windows"][0]
    return {
        "start": window.start,
        "end": window.end,
        "desired_replicas": cron["replicas"],
        "result": cron["choice"].result.summary(),
        "text": cron["text"],
    }


def mark_chosen(
    hpa: Recommendation, kpa: Recommendation, mode: str
) -> tuple[Recommendation, Recommendation]:
    """Exactly one deployment is "chosen" (the one manifests/ holds): the other kind's best
    candidate is named the alternative, not chosen."""
    marked = []
    for choice, kind in ((hpa, RAW), (kpa, SERVERLESS)):
        reason = choice.reason.replace("chosen: ", "best of its kind: ")
        reason = reason.replace(": meets the SLO", ": best of its kind, meets the SLO", 1)
        if "best of its kind" not in reason:
            reason += "; best of its kind"
        if kind == mode:
            reason = reason.replace("best of its kind", "CHOSEN for manifests/", 1)
        else:
            folder = ALTERNATIVE[mode]
            reason = reason.replace(
                "best of its kind", f"the alternative, not chosen (manifests/{folder}/)", 1
            )
        marked.append(replace(choice, reason=reason, chosen=kind == mode))
    return marked[0], marked[1]


def _chosen(ranked: list[Recommendation]) -> Recommendation:
    return next((r for r in ranked if r.chosen), ranked[0])


def _spike_timing(spec: Any) -> dict[str, float]:
    if isinstance(spec, SpikeScenario):
        start = spec.period / 2 if spec.burst_at is None else spec.burst_at
        return {
            "period_s": spec.period,
            "burst_s": spec.rise_time + spec.burst_length,
            "phase_s": start,
        }
    return {}
