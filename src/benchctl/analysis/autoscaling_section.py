"""The autoscaling part of ``benchctl analyze``: simulate HPA (KEDA) and Knative candidates
against the scenario's traffic at real time scale, with the metric the manifests measure and
the cluster's pod start; pick one deployment (RawDeployment + KEDA/HPA, or Serverless + KPA),
advise on spikes (cron pre-scaling simulated, with its cost), check the result against the
headline replica count, and write the manifests for the choice (the alternative in its own
folder).

Inputs: the run's run.json, the capacity of one replica and the SLO-percentile fit from
``capacity.py``, and optionally the analysis windows (for the mean latency). Output: the
``autoscaling`` section of capacity.json, ``autoscale.parquet`` and ``manifests/``.
The simulators and the ranking it calls live in ``autoscaler_simulation``.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import ValidationError

from benchctl.analysis.autoscaler_simulation import (
    HpaPolicy,
    KpaPolicy,
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
from benchctl.analysis.deployment import ALTERNATIVE, RAW, SERVERLESS, isvc_name, write_manifests
from benchctl.analysis.fits import LatencyFit
from benchctl.analysis.scaling_inputs import (
    GENERIC_COUNTER,
    SERVER_COUNTERS,
    mean_latency,
    rate_query,
    replica_model,
    traffic_for,
)
from benchctl.config import ReplayScenario, SpikeScenario
from benchctl.errors import BenchctlError, InputError
from benchctl.rundir import AUTOSCALE_TIMELINE, RunDir

__all__ = [
    "TIMELINE",
    "autoscaling_section",
    "mean_latency",
    "rate_query",
    "replica_model",
    "traffic_for",
]

TIMELINE = AUTOSCALE_TIMELINE  # the name capacity_sections imports
KUBERNETES_MAX_PODS = 150_000  # "no more than 150,000 total pods" (Kubernetes large clusters)


def autoscaling_section(
    run_dir: Path,
    info: dict[str, Any],
    single: dict[str, Any],
    fit: LatencyFit | None,
    *,
    slo_ms: float,
    cold_start_s: float | None = None,
    price_per_hour: float | None,
    peak_rps: float | None,
    scenario: str | None,
    config_dir: Path | None,
    cluster: ClusterSpec | None = None,
    windows: pd.DataFrame | None = None,
    recommended_replicas: int | None = None,
    headroom: float | None = None,
    currency: str = "USD",
) -> dict[str, Any]:
    """Simulate, choose, check and write; the JSON-ready ``autoscaling`` section.

    ``cluster`` defaults to ClusterSpec() with ``cold_start_s`` as the whole pod start when
    given. ``recommended_replicas`` (the headline count) is checked against the simulated
    peak; ``headroom`` caps the HPA targets at (1 - headroom) of capacity, as the headline.
    """
    try:
        found = traffic_for(info, scenario, config_dir, peak_rps)
    except (BenchctlError, ValidationError) as exc:
        reason = str(exc).splitlines()[0]
        return {"skipped": f"no traffic to simulate: {reason}", "summary": []}
    if found is None:
        return {
            "skipped": "closed-loop scenario: pass --traffic SCENARIO to simulate autoscalers",
            "summary": [],
        }
    traffic, spec = found
    if cluster is None:  # the defaults, or the --cold-start shortcut when it differs
        default = ClusterSpec()
        same = cold_start_s is None or cold_start_s == default.pod_start_s
        cluster = default if same else ClusterSpec(cold_start=cold_start_s)
    model, mean_source = replica_model(single, fit, slo_ms, cluster, windows)
    target = info.get("target", {}).get("spec", {})
    kind = str(target.get("kind", "kserve"))
    counter = SERVER_COUNTERS.get(kind, GENERIC_COUNTER)
    peak = float(traffic.rps.max())
    price = price_per_hour or 0.0
    template = HpaPolicy(
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
    phases = max(1, round(cluster.hpa_sync_period))
    share = 1.0 - headroom if headroom is not None else 0.9
    options = {"price_per_hour": price, "currency": currency}
    # One figure: the headline count (headroom and the M/M/c tail) is what min replicas,
    # the cron pre-scale and min scale are sized from; ceil(peak / capacity) without one.
    need = recommended_replicas or model.replicas_for(peak)
    if need > KUBERNETES_MAX_PODS:  # a pod list per simulation step could not even exist
        too_many = (
            f"the {peak:,.6g} rps peak needs {need:,} replicas, more than Kubernetes' "
            f"{KUBERNETES_MAX_PODS:,} pods per cluster"
        )
        if peak_rps:
            raise InputError(f"--peak-rps {peak_rps:g}: {too_many}; give a peak one cluster serves")
        return {"skipped": f"no autoscaler to simulate: {too_many}", "summary": []}
    need_reason = (
        f"the recommended count for the {peak:,.0f} rps peak, headroom kept"
        if recommended_replicas
        else None
    )
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
        **options,
    )
    hpa, kpa = _chosen(hpa_ranked), _chosen(kpa_ranked)
    bursty = isinstance(spec, SpikeScenario | ReplayScenario)
    reactive = _best_reactive(hpa_ranked, need)
    window = getattr(reactive.policy, "rate_window_s", 0.0)
    advice = (
        spike_advice(
            traffic,
            model,
            reactive.result,
            metric_window_s=window,
            need=need,
            need_reason=need_reason,
            **_spike_timing(spec),
        )
        if bursty
        else ""
    )
    cron = _cron_option(traffic, model, spec, reactive, advice, phases, price, currency, need)
    if cron is not None and _better(cron["choice"].result, hpa.result):
        hpa = cron["choice"]
    mode = RAW if _better(hpa.result, kpa.result, tie=True) else SERVERLESS
    name = isvc_name(str(target.get("model", "model")), kind)
    namespace = cluster.namespace
    query = rate_query(kind, str(target.get("model", "model")), namespace, cluster.rate_window)
    files = write_manifests(
        RunDir(run_dir),
        mode,
        name=name,
        namespace=namespace,
        kind=kind,
        hpa=hpa,
        kpa=kpa,
        query=query,
        counter=counter,
        cron=cron,
    )
    _write_timeline(
        RunDir(run_dir), {"hpa": hpa.result, "kpa": kpa.result, "reactive": reactive.result}
    )
    hpa, kpa = _mark_chosen(hpa, kpa, mode)
    chosen = hpa if mode == RAW else kpa
    consistency = _consistency(chosen, recommended_replicas, model, headroom, traffic)
    summary = [
        f"HPA: {hpa.reason}",
        f"Knative (KServe): {kpa.reason}; {_activator_note(kpa)}",
        *([f"Spike: {advice}"] if advice else []),
        *([f"Cron pre-scale: {cron['text']}"] if cron else []),
        f"Deployment: {_mode_sentence(mode, hpa, kpa)}",
        f"Metric: KEDA scales on {query} ({counter.what}); simulated with the same"
        f" rate[{cluster.rate_window:g}s] and {cluster.scrape_interval:g} s scrapes,"
        f" the worst of {phases} HPA sync phases.",
        f"Knative concurrency: Little's law from the mean latency ({mean_source}),"
        " queueing included beyond saturation.",
        cluster.describe(),
        *([f"Bound: {bound_note}"] if (bound_note := _bound_note(single)) else []),
        *([f"Consistency: {consistency['text']}"] if consistency else []),
        f"Manifests: {', '.join(str(p) for p in files)}",
    ]
    return {
        "traffic": {
            "seconds": float(len(traffic.t)),
            "peak_rps": peak,
            "scenario": scenario or info["scenario"]["name"],
        },
        "cold_start_s": model.cold_start_s,
        "cluster": {**cluster.model_dump(), "pod_start_s": cluster.pod_start_s},
        "metric": {
            "query": query,
            "counter": counter.name,
            "counts": counter.counts,
            "rate_window_s": cluster.rate_window,
            "scrape_interval_s": cluster.scrape_interval,
            "sync_phases": phases,
        },
        "mean_latency": {
            "source": mean_source,
            **({} if model.mean is None else vars(model.mean)),
        },
        "deployment": mode,
        "hpa": _describe(hpa),
        "kpa": {**_describe(kpa), "activator": _activator_note(kpa)},
        "spike_advice": advice,
        "cron_prescale": None if cron is None else _cron_summary(cron),
        "consistency": consistency,
        "manifests": [str(p) for p in files],
        "summary": summary,
    }


def _bound_note(single: dict[str, Any]) -> str:
    """What a capacity that is not a measured figure means for the simulated settings."""
    bound = single.get("bound")
    if bound == "lower":
        return (
            f"one replica sustains at least {single['capacity_rps']:.1f} rps (the SLO never"
            " broke), so these replica counts and targets are upper bounds: a replica may"
            " carry more"
        )
    if bound == "extrapolated" or single.get("extrapolated"):
        return "the capacity is extrapolated beyond the measured load: so are these settings"
    return ""


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
    if not isinstance(spec, SpikeScenario) or "cannot keep up" not in advice:
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
    money = f" ({result.cost:,.2f} {currency})" if result.cost > 0 else ""
    text = (
        f"{policy.describe()} plus KEDA cron {need} replicas from '{windows[0].start}'"
        f" to '{windows[0].end}' (UTC): {verdict} in the simulation, worst sync phase;"
        f" {result.replica_seconds / 3600:.2f} replica-hours{money}, {extra / 3600:+.2f}"
        f" replica-hours against reactive scaling alone ({base.slo_violation_seconds:g} s"
        " violated)"
    )
    reason = f"{policy.describe()} + cron pre-scale to {need}: {verdict}; " + (
        f"{result.replica_seconds / 3600:.2f} replica-hours{money},"
        f" peak {result.max_replicas} replicas"
    )
    choice = Recommendation(policy=policy, result=result, chosen=True, reason=reason)
    return {"choice": choice, "windows": windows, "replicas": need, "text": text}


def _cron_summary(cron: dict[str, Any]) -> dict[str, Any]:
    window = cron["windows"][0]
    return {
        "start": window.start,
        "end": window.end,
        "desired_replicas": cron["replicas"],
        "result": cron["choice"].result.summary(),
        "text": cron["text"],
    }


def _activator_note(kpa: Recommendation) -> str:
    policy: KpaPolicy = kpa.policy  # type: ignore[assignment]
    seconds = kpa.result.activator_seconds
    total = float(len(kpa.result.t) * kpa.result.dt)
    share = seconds / total if total else 0.0
    return (
        f"target-burst-capacity {policy.target_burst_capacity:g}: the activator is in the"
        f" request path {share:.0%} of the time (while ready pods x target {policy.target:g}"
        " leave less spare in-flight room than that, or no pod is ready); it buffers"
        " requests, adds a proxy hop to each, and reports them as concurrency"
    )


def _mode_sentence(mode: str, hpa: Recommendation, kpa: Recommendation) -> str:
    def brief(choice: Recommendation) -> str:
        r = choice.result
        return f"{r.slo_violation_seconds:g} s violated, {r.replica_seconds / 3600:.2f} replica-h"

    if mode == RAW:
        return (
            f"RawDeployment + KEDA ({brief(hpa)}) over Serverless + KPA ({brief(kpa)}):"
            f" manifests/ holds the InferenceService and the ScaledObject; the KPA alternative"
            f" is in manifests/{ALTERNATIVE[RAW]}/ (apply one folder, never both)"
        )
    return (
        f"Serverless + KPA ({brief(kpa)}) over RawDeployment + KEDA ({brief(hpa)}):"
        f" manifests/ holds the InferenceService; the KEDA alternative is in"
        f" manifests/{ALTERNATIVE[SERVERLESS]}/ (apply one folder, never both)"
    )


def _consistency(
    chosen: Recommendation,
    recommended: int | None,
    model: ReplicaModel,
    headroom: float | None,
    traffic: Traffic,
) -> dict[str, Any] | None:
    """Replicas the chosen simulation runs at the peak against the headline count."""
    if recommended is None:
        return None
    result = chosen.result
    at_peak = result.offered >= result.offered.max() * (1 - 1e-9)
    simulated = int(result.replicas[at_peak].max())
    ready = int(result.ready[at_peak].max())
    peak_seconds = float(at_peak.sum() * result.dt)
    if simulated >= recommended:
        text = (
            f"at the peak the simulation runs {simulated} replicas ({ready} ready), at least"
            f" the {recommended} recommended"
        )
    else:
        why = []
        start = model.cold_start_s + result.control_period_s
        if peak_seconds < start:
            why.append(
                f"the peak lasts {peak_seconds:g} s, less than the {start:g} s a scale-up"
                " takes to serve"
            )
        why.append(
            f"the simulation judges each second by the per-replica rate against the capacity"
            f" ({model.capacity_rps:.1f} rps per replica) and the latency model, while the"
            f" headline keeps"
            f" {headroom or 0:.0%} headroom and checks the M/M/c tail"
        )
        if result.slo_violation_seconds > 0:
            why.append(f"the SLO is violated {result.slo_violation_seconds:g} s in the simulation")
        text = (
            f"at the peak the simulation runs {simulated} replicas, fewer than the"
            f" {recommended} recommended: {'; '.join(why)}"
        )
    return {
        "recommended": recommended,
        "simulated_at_peak": simulated,
        "ready_at_peak": ready,
        "at_least_recommended": simulated >= recommended,
        "text": text,
    }


def _write_timeline(run: RunDir, results: dict[str, SimResult]) -> None:
    """The simulated replica counts over time, for the report's timeline."""
    first = next(iter(results.values()))
    columns: dict[str, np.ndarray] = {"t": first.t, "offered_rps": first.offered}
    for name, result in results.items():
        columns[f"{name}_replicas"] = result.replicas
        columns[f"{name}_ready"] = result.ready
        columns[f"{name}_violated"] = result.violated
    with run.output(TIMELINE) as temporary:
        pq.write_table(pa.table(columns), temporary)


def _mark_chosen(
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


def _describe(choice: Recommendation) -> dict[str, Any]:
    policy = {k: v for k, v in vars(choice.policy).items() if isinstance(v, int | float | str)}
    return {"policy": policy, "result": choice.result.summary(), "reason": choice.reason}


def _spike_timing(spec: Any) -> dict[str, float]:
    if isinstance(spec, SpikeScenario):
        start = spec.period / 2 if spec.burst_at is None else spec.burst_at
        return {
            "period_s": spec.period,
            "burst_s": spec.rise_time + spec.burst_length,
            "phase_s": start,
        }
    return {}
