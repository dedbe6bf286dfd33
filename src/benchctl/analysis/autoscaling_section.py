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

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import ValidationError

from benchctl.analysis.analyze_options import AnalyzeOptions
from benchctl.analysis.autoscaler_simulation import (
    KpaPolicy,
    Recommendation,
    ReplicaModel,
    SimResult,
    Traffic,
)
from benchctl.analysis.autoscaling_choice import (
    Choice,
    choose_deployment,
    cron_summary,
    mark_chosen,
)
from benchctl.analysis.autoscaling_verdict import judge
from benchctl.analysis.bounds import LOWER
from benchctl.analysis.cluster import ClusterSpec
from benchctl.analysis.deployment import ALTERNATIVE, RAW, SERVERLESS, isvc_name, write_manifests
from benchctl.analysis.fits import LatencyFit
from benchctl.analysis.scaling_inputs import (
    GENERIC_COUNTER,
    SERVER_COUNTERS,
    ServerCounter,
    mean_latency,
    rate_query,
    replica_model,
    traffic_for,
)
from benchctl.errors import BenchctlError, InputError
from benchctl.rundir import AUTOSCALE_TIMELINE, RUN_JSON, RunDir

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
    options: AnalyzeOptions,
    *,
    windows: pd.DataFrame | None = None,
    recommended_replicas: int | None = None,
) -> dict[str, Any]:
    """Simulate, choose, check and write; the JSON-ready ``autoscaling`` section.

    ``run_dir`` (manifests/, autoscale.parquet) and its run.json ``info``; ``single``/``fit``:
    the single_replica dict and latency model; ``options``: the SLO, the traffic (``traffic``
    or the run's scenario, ``peak_rps``), price, currency, headroom (caps the HPA targets at
    1 - headroom of capacity, as the headline) and the cluster (default ClusterSpec() with
    ``cold_start_s`` as the whole pod start). ``windows``: the analysis windows (the mean
    latency). ``recommended_replicas`` (the headline count) is checked against the simulated
    peak. {"skipped": why, "summary": []} without traffic; InputError: --peak-rps > 150k pods.
    """
    scenario, peak_rps, headroom = options.traffic, options.peak_rps, options.headroom
    found = _traffic(info, scenario, options.config_dir, peak_rps, run_dir / RUN_JSON)
    if isinstance(found, dict):
        return found  # skipped, with the reason
    traffic, spec = found
    cluster = _cluster(options.cluster, options.cold_start_s)
    model, mean_source = replica_model(single, fit, options.slo.threshold_ms, cluster, windows)
    setting = _setting(info, traffic, model, mean_source, cluster)
    peak = float(traffic.rps.max())
    # One figure: the headline count (headroom and the M/M/c tail) is what min replicas,
    # the cron pre-scale and min scale are sized from; ceil(peak / capacity) without one.
    need = recommended_replicas or model.replicas_for(peak)
    if need > KUBERNETES_MAX_PODS:  # a pod list per simulation step could not even exist
        return _too_many_pods(peak, need, peak_rps)
    choice = choose_deployment(
        traffic,
        spec,
        model,
        cluster,
        setting.counter,
        need=need,
        need_reason=_need_reason(peak, recommended_replicas),
        headroom=headroom,
        price=options.price_per_hour or 0.0,
        currency=options.currency,
        capacity_is_bound=single.get("bound") == LOWER,
    )
    files = _write(RunDir(run_dir), choice, setting)
    hpa, kpa = mark_chosen(choice.hpa, choice.kpa, choice.mode)
    choice = replace(choice, hpa=hpa, kpa=kpa)
    chosen = hpa if choice.mode == RAW else kpa
    consistency = _consistency(chosen, recommended_replicas, model, headroom, traffic)
    name = scenario or info["scenario"]["name"]
    summary = _summary(choice, setting, single, consistency, files, advice_heading(name))
    section = _document(choice, setting, name, consistency)
    raw = _traffic(info, scenario, options.config_dir, None, run_dir / RUN_JSON)  # unscaled
    raw_peak = float(raw[0].rps.max()) if isinstance(raw, tuple) else None
    section = {**section, "manifests": [str(p) for p in files], "summary": summary}
    return judge(section, own=not scenario, raw_peak=raw_peak, cluster=cluster)


@dataclass(frozen=True)
class _Setting:
    """What the simulations ran with: the traffic, the replica model and where its mean
    latency came from, the cluster, the server's counter, the target and the KEDA query."""

    traffic: Traffic
    model: ReplicaModel
    mean_source: str
    cluster: ClusterSpec
    counter: ServerCounter
    kind: str
    model_name: str
    query: str


def _cluster(cluster: ClusterSpec | None, cold_start_s: float | None) -> ClusterSpec:
    """The given cluster, else the defaults, or the --cold-start shortcut when it differs."""
    if cluster is not None:
        return cluster
    default = ClusterSpec()
    same = cold_start_s is None or cold_start_s == default.pod_start_s
    return default if same else ClusterSpec(cold_start=cold_start_s)


def _setting(
    info: dict[str, Any],
    traffic: Traffic,
    model: ReplicaModel,
    mean_source: str,
    cluster: ClusterSpec,
) -> _Setting:
    """The run's target (server kind, model, its counter and KEDA query) with the rest."""
    target = info.get("target", {}).get("spec", {})
    kind = str(target.get("kind", "kserve"))
    name = str(target.get("model", "model"))
    query = rate_query(
        kind, name, cluster.namespace, cluster.rate_window, models=_mix_names(target)
    )
    counter = SERVER_COUNTERS.get(kind, GENERIC_COUNTER)
    return _Setting(traffic, model, mean_source, cluster, counter, kind, name, query)


def _mix_names(target: dict[str, Any]) -> list[str]:
    """The names of a model mix (target ``models:``), in its order; [] for one model. The
    replicas serve every model of the mix, so its KEDA query counts them all."""
    found = target.get("models") if isinstance(target, dict) else None
    shares = found if isinstance(found, list) else []
    return [str(share["name"]) for share in shares if isinstance(share, dict) and share.get("name")]


def _need_reason(peak: float, recommended: int | None) -> str | None:
    """Why min replicas is the headline count (None without one)."""
    if not recommended:
        return None
    return f"the recommended count for the {peak:,.0f} rps peak, headroom kept"


def _traffic(
    info: dict[str, Any],
    scenario: str | None,
    config_dir: Path | None,
    peak_rps: float | None,
    run_json: Path,
) -> tuple[Traffic, Any] | dict[str, Any]:
    """(the traffic to simulate, its scenario), or the skipped section saying why not."""
    try:
        found = traffic_for(info, scenario, config_dir, peak_rps, run_json)
    except (BenchctlError, ValidationError) as exc:
        reason = str(exc).splitlines()[0]
        return {"skipped": f"no traffic to simulate: {reason}", "summary": []}
    if found is None:
        return {
            "skipped": "closed-loop scenario: pass --traffic SCENARIO to simulate autoscalers",
            "summary": [],
        }
    return found


def _too_many_pods(peak: float, need: int, peak_rps: float | None) -> dict[str, Any]:
    """The skipped section for a peak beyond one cluster; InputError when --peak-rps asked."""
    too_many = (
        f"the {peak:,.6g} rps peak needs {need:,} replicas, more than Kubernetes' "
        f"{KUBERNETES_MAX_PODS:,} pods per cluster"
    )
    if peak_rps:
        raise InputError(f"--peak-rps {peak_rps:g}: {too_many}; give a peak one cluster serves")
    return {"skipped": f"no autoscaler to simulate: {too_many}", "summary": []}


def _write(run: RunDir, choice: Choice, setting: _Setting) -> list[Path]:
    """The manifests of the chosen deployment (and the alternative), and the timeline."""
    files = write_manifests(
        run,
        choice,
        name=isvc_name(setting.model_name, setting.kind),
        namespace=setting.cluster.namespace,
        kind=setting.kind,
        query=setting.query,
        counter=setting.counter,
    )
    results = {"hpa": choice.hpa, "kpa": choice.kpa, "reactive": choice.reactive}
    _write_timeline(run, {name: found.result for name, found in results.items()})
    return files


def _summary(
    choice: Choice,
    setting: _Setting,
    single: dict[str, Any],
    consistency: dict[str, Any] | None,
    files: list[Path],
    heading: str = "Spike",
) -> list[str]:
    """The section's sentences, one per line of the report's autoscaling summary
    (``heading``: the burst advice's, ``advice_heading``)."""
    hpa, kpa, cluster = choice.hpa, choice.kpa, setting.cluster
    return [
        f"HPA: {hpa.reason}",
        f"Knative (KServe): {kpa.reason}; {_activator_note(kpa)}",
        *([f"{heading}: {choice.advice}"] if choice.advice else []),
        *([f"Cron pre-scale: {choice.cron['text']}"] if choice.cron else []),
        f"Deployment: {_mode_sentence(choice.mode, hpa, kpa)}",
        f"Metric: KEDA scales on {setting.query} ({setting.counter.what}); simulated with the same"
        f" rate[{cluster.rate_window:g}s] and {cluster.scrape_interval:g} s scrapes,"
        f" the worst of {choice.phases} HPA sync phases.",
        f"Knative concurrency: Little's law from the mean latency ({setting.mean_source}),"
        " queueing included beyond saturation.",
        cluster.describe(),
        *([f"Bound: {bound_note}"] if (bound_note := _bound_note(single)) else []),
        *([f"Consistency: {consistency['text']}"] if consistency else []),
        f"Manifests: {', '.join(str(p) for p in files)}",
    ]


def advice_heading(scenario: str) -> str:
    """The heading of the burst advice's line, named by the simulated scenario: "Spike" for
    the spike scenario, else "Bursts in <scenario>" (a replay's trace is no spike)."""
    return "Spike" if scenario == "spike" else f"Bursts in {scenario}"


def _document(
    choice: Choice, setting: _Setting, scenario: str, consistency: dict[str, Any] | None
) -> dict[str, Any]:
    """The section's numbers (all but manifests and summary), in capacity.json's order."""
    traffic, model, cluster = setting.traffic, setting.model, setting.cluster
    counter = setting.counter
    return {
        "traffic": {
            "seconds": float(len(traffic.t)),
            "peak_rps": float(traffic.rps.max()),
            "scenario": scenario,
        },
        "cold_start_s": model.cold_start_s,
        "cluster": {**cluster.model_dump(), "pod_start_s": cluster.pod_start_s},
        "metric": {
            "query": setting.query,
            "counter": counter.name,
            "counts": counter.counts,
            "rate_window_s": cluster.rate_window,
            "scrape_interval_s": cluster.scrape_interval,
            "sync_phases": choice.phases,
        },
        "mean_latency": {
            "source": setting.mean_source,
            **({} if model.mean is None else vars(model.mean)),
        },
        "deployment": choice.mode,
        "hpa": _describe(choice.hpa),
        "kpa": {**_describe(choice.kpa), "activator": _activator_note(choice.kpa)},
        "spike_advice": choice.advice,
        "cron_prescale": None if choice.cron is None else cron_summary(choice.cron),
        "consistency": consistency,
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


def _describe(choice: Recommendation) -> dict[str, Any]:
    policy = {k: v for k, v in vars(choice.policy).items() if isinstance(v, int | float | str)}
    return {"policy": policy, "result": choice.result.summary(), "reason": choice.reason}
