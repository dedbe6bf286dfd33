"""The autoscaling part of ``benchctl analyze``: simulate HPA (KEDA) and Knative candidates
against the scenario's traffic at real time scale, with the metric the manifests measure and
the cluster's pod start; pick one deployment (RawDeployment + KEDA/HPA, or Serverless + KPA),
advise on spikes (cron pre-scaling simulated, with its cost), check the result against the
headline replica count, and write the manifests for the choice (the alternative in its own
folder).

Inputs: the run's run.json, the capacity of one replica and the SLO-percentile fit from
``capacity.py``, and optionally the analysis windows (for the mean latency). Output: the
``autoscaling`` section of capacity.json, ``autoscale.parquet`` and ``manifests/``.
"""

from __future__ import annotations

import math
import shutil
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import TypeAdapter, ValidationError

from benchctl.analysis.autoscale import (
    HpaPolicy,
    KpaPolicy,
    MeanLatency,
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
from benchctl.analysis.fits import LatencyFit
from benchctl.analysis.manifests import keda_manifest, kserve_manifest
from benchctl.config import ReplayScenario, Scenario, SpikeScenario, load_scenario
from benchctl.errors import BenchctlError
from benchctl.load.shapes import plan_scenario
from benchctl.store import RunDir

TIMELINE = "autoscale.parquet"
MANIFESTS = "manifests"
PROMETHEUS_URL = "http://prometheus.monitoring.svc:9090"
RAW, SERVERLESS = "RawDeployment", "Serverless"
ALTERNATIVE = {RAW: "alternative-serverless-kpa", SERVERLESS: "alternative-rawdeployment-keda"}
ISVC_FILE, KEDA_FILE, README = "kserve-inferenceservice.yaml", "keda-scaledobject.yaml", "README.md"
_OLD_FILES = ("hpa.yaml", "keda.yaml", ISVC_FILE, KEDA_FILE, README)


@dataclass(frozen=True)
class ServerCounter:
    """The Prometheus counter a KEDA trigger can scale on for one server kind."""

    name: str
    model_label: str
    counts: str  # "offered": counted on arrival; "completions": when a request finishes
    what: str


SERVER_COUNTERS = {
    "triton": ServerCounter(
        "nv_inference_request_success", "model", "completions", "successful requests, on completion"
    ),
    "torchserve": ServerCounter(
        "ts_inference_requests_total", "model_name", "offered", "requests, counted when received"
    ),
    "kserve": ServerCounter(
        "request_predict_seconds_count", "model_name", "completions", "predict calls, on completion"
    ),
    "tfserving": ServerCounter(
        ":tensorflow:serving:request_count", "model_name", "completions", "requests, on completion"
    ),
    "mlserver": ServerCounter(
        "model_infer_request_success", "model", "completions", "successful requests, on completion"
    ),
}
GENERIC_COUNTER = ServerCounter("requests_total", "model", "completions", "requests, on completion")
RUNTIME = {
    "triton": "kserve-tritonserver",
    "torchserve": "kserve-torchserve",
    "tfserving": "kserve-tensorflow-serving",
    "mlserver": "kserve-mlserver",
    "kserve": "kserve-custom",
}


def rate_query(kind: str, model: str, namespace: str, window_s: float) -> str:
    """``sum(rate(<counter>{namespace, model}[window]))``: the model's total request rate
    over all its pods, the number KEDA divides by the replica count."""
    counter = SERVER_COUNTERS.get(kind, GENERIC_COUNTER)
    selector = f'{{namespace="{namespace}",{counter.model_label}="{model}"}}'
    return f"sum(rate({counter.name}{selector}[{_prom_duration(window_s)}]))"


def _prom_duration(seconds: float) -> str:
    return f"{seconds:g}s" if float(seconds).is_integer() else f"{round(seconds * 1000)}ms"


def traffic_for(
    info: dict[str, Any], scenario: str | None, config_dir: Path | None, peak_rps: float | None
) -> tuple[Traffic, Any] | None:
    """Real-time traffic (time scale 1) of ``scenario`` or of the run's own scenario,
    scaled so its peak is ``peak_rps`` when given. None for closed-loop scenarios."""
    if scenario:
        spec, _ = load_scenario(scenario, config_dir=config_dir)
    else:
        spec = TypeAdapter(Scenario).validate_python(info["scenario"]["spec"])
    plan = plan_scenario(spec, 1.0)
    if plan.profile is None:
        return None
    t = np.arange(0.0, plan.duration, 1.0)
    rps = plan.profile.rate_at(t)
    if peak_rps and rps.max() > 0:
        rps = rps * (peak_rps / rps.max())
    return Traffic(t, rps), spec


def mean_latency(
    fit: LatencyFit | None, windows: pd.DataFrame | None, saturation: float
) -> tuple[MeanLatency | None, str]:
    """The mean-latency curve for Little's law and where it comes from.

    With windows that hold mean latencies: base + scale / (x_max - x) fitted to them by
    weighted least squares (relative residuals) with x_max the SLO fit's saturation (one
    saturation for both curves). Else, from the SLO-percentile fit, assuming the
    exponential tail of M/M/1 (mean = quantile part / ln(1 / (1 - q))). Else the median
    measured mean latency, constant up to ``saturation``. (None, reason) with none of these.
    """
    x_max = fit.x_max if fit is not None else saturation
    if windows is not None and {"throughput_rps", "mean_latency_ms"} <= set(windows.columns):
        usable = windows[
            (windows["throughput_rps"] > 0)
            & windows["mean_latency_ms"].gt(0)
            & (windows["throughput_rps"] < x_max)
        ]
        if len(usable) >= 3:
            x = usable["throughput_rps"].to_numpy(float)
            y = usable["mean_latency_ms"].to_numpy(float)
            if fit is None:
                return MeanLatency(float(np.median(y)), 0.0, x_max), (
                    "median measured mean latency (no curve fitted)"
                )
            base, scale = _fit_base_scale(x, y, x_max)
            return MeanLatency(base, scale, x_max), (
                f"measured mean latency of {len(usable)} windows, fitted as base {base:.3g} ms"
                f" + {scale:.3g}/({x_max:.4g} - x)"
            )
    if fit is not None:
        tail = -math.log(1.0 - fit.quantile)
        return MeanLatency(fit.base_ms, fit.scale / tail, fit.x_max), (
            f"the p{fit.quantile * 100:g} fit over ln(1/(1-q)) = {tail:.2f} (exponential tail)"
        )
    return None, "no latency curve: zero-load latency at every load below saturation"


def _fit_base_scale(x: np.ndarray, y: np.ndarray, x_max: float) -> tuple[float, float]:
    """Weighted least squares of y = base + scale * r, r = 1/(x_max - x), both >= 0."""
    r, w = 1.0 / (x_max - x), 1.0 / y**2
    sw, sr, srr = w.sum(), (w * r).sum(), (w * r * r).sum()
    sy, sry = (w * y).sum(), (w * r * y).sum()
    det = sw * srr - sr**2
    base = (srr * sy - sr * sry) / det if det > 0 else -1.0
    scale = (sw * sry - sr * sy) / det if det > 0 else -1.0
    if base < 0:
        return 0.0, float(max(sry / srr, 0.0))
    if scale < 0:
        return float(sy / sw), 0.0
    return float(base), float(scale)


def replica_model(
    single: dict[str, Any],
    fit: LatencyFit | None,
    slo_ms: float,
    cluster: ClusterSpec,
    windows: pd.DataFrame | None = None,
) -> tuple[ReplicaModel, str]:
    """One replica as the simulations see it (SLO percentile, mean latency, pod start), and
    where its mean latency comes from."""
    capacity = single["capacity_rps"]
    saturation = max(single.get("saturation_rps") or capacity, capacity)
    if fit is not None:
        latency = fit.predict
    else:  # no curve: within capacity the SLO holds, beyond it does not

        def latency(rate: Any) -> Any:
            return np.where(np.asarray(rate, dtype=float) <= capacity, slo_ms, np.inf)

    mean, source = mean_latency(fit, windows, saturation)
    model = ReplicaModel(
        capacity_rps=capacity,
        max_rps=saturation,
        latency_ms=latency,
        cold_start_s=cluster.pod_start_s,
        slo_ms=slo_ms,
        mean=mean,
        node_start_s=cluster.node_provision,
        pool_pods=cluster.pool_pods,
    )
    return model, source


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
    hpa_ranked = recommend(
        traffic,
        model,
        candidates=default_hpa_candidates(model, peak, template=template, max_share=share),
        phases=phases,
        **options,
    )
    kpa_ranked = recommend(
        traffic, model, candidates=default_kpa_candidates(model, peak), **options
    )
    hpa, kpa = _chosen(hpa_ranked), _chosen(kpa_ranked)
    bursty = isinstance(spec, SpikeScenario | ReplayScenario)
    reactive = _best_reactive(hpa_ranked, model.replicas_for(peak))
    window = getattr(reactive.policy, "rate_window_s", 0.0)
    advice = (
        spike_advice(traffic, model, reactive.result, metric_window_s=window, **_spike_timing(spec))
        if bursty
        else ""
    )
    cron = _cron_option(traffic, model, spec, reactive, advice, phases, price, currency)
    if cron is not None and _better(cron["choice"].result, hpa.result):
        hpa = cron["choice"]
    mode = RAW if _better(hpa.result, kpa.result, tie=True) else SERVERLESS
    name = _isvc_name(str(target.get("model", "model")), kind)
    namespace = cluster.namespace
    query = rate_query(kind, str(target.get("model", "model")), namespace, cluster.rate_window)
    files = _write_manifests(
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


def _isvc_name(model: str, kind: str) -> str:
    """An InferenceService name (DNS-1035 label): KServe derives <name>-predictor from it."""
    raw = f"{model}-{kind}".lower()
    name = "".join(c if c.isalnum() else "-" for c in raw).strip("-")
    name = "-".join(filter(None, name.split("-")))
    if not name or not name[0].isalpha():
        name = f"m-{name}".rstrip("-")
    return name[:45].rstrip("-")


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
) -> dict[str, Any] | None:
    """The reactive policy plus the KEDA cron pre-scale the advice recommends, simulated."""
    if not isinstance(spec, SpikeScenario) or "cannot keep up" not in advice:
        return None
    timing = _spike_timing(spec)
    pattern = detect_spikes(traffic)
    need = model.replicas_for(pattern.peak_rps if pattern else traffic.peak)
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


def _write_manifests(
    run: RunDir,
    mode: str,
    *,
    name: str,
    namespace: str,
    kind: str,
    hpa: Recommendation,
    kpa: Recommendation,
    query: str,
    counter: ServerCounter,
    cron: dict[str, Any] | None,
) -> list[Path]:
    """The chosen deployment's files in manifests/, the other one's in its own folder."""
    folder = run.mkdir(MANIFESTS)
    for old in _OLD_FILES:  # files an earlier analyze wrote
        path = folder / old
        if path.is_file() and not path.is_symlink():
            path.unlink()
    for old in ALTERNATIVE.values():
        path = folder / old
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
    raw = _raw_files(name, namespace, kind, hpa, query, counter, cron)
    serverless = _serverless_files(name, namespace, kind, kpa)
    chosen, other = (raw, serverless) if mode == RAW else (serverless, raw)
    alternative = ALTERNATIVE[mode]
    other_mode = SERVERLESS if mode == RAW else RAW
    chosen[README] = _readme(mode, name, alternative, chosen=True)
    other[README] = _readme(other_mode, name, alternative, chosen=False)
    paths = []  # the YAML files (each folder also gets a README.md saying what it holds)
    for filename, text in chosen.items():
        path = run.write_text(f"{MANIFESTS}/{filename}", text)
        paths.extend([path] if filename != README else [])
    for filename, text in other.items():
        path = run.write_text(f"{MANIFESTS}/{alternative}/{filename}", text)
        paths.extend([path] if filename != README else [])
    return paths


def _raw_files(
    name: str,
    namespace: str,
    kind: str,
    hpa: Recommendation,
    query: str,
    counter: ServerCounter,
    cron: dict[str, Any] | None,
) -> dict[str, str]:
    policy: HpaPolicy = hpa.policy  # type: ignore[assignment]
    deployment = f"{name}-predictor"
    windows = cron["windows"] if cron is not None and cron["choice"] is hpa else None
    return {
        ISVC_FILE: kserve_manifest(
            name,
            namespace,
            runtime=RUNTIME.get(kind, "kserve-custom"),
            storage_uri="s3://CHANGE-ME/models/" + name,
            hpa=policy,
            reason=f"RawDeployment for the KEDA ScaledObject in {KEDA_FILE}: {hpa.reason}",
        ),
        KEDA_FILE: keda_manifest(
            name,
            namespace,
            prometheus_url=PROMETHEUS_URL,
            query=query,
            threshold=policy.target,
            min=policy.min_replicas,
            max=policy.max_replicas,
            cron=windows,
            deployment=deployment,
            behavior=policy,
            reason=hpa.reason,
            notes=[
                f"the query counts {counter.what} ({counter.name}); simulated with the same"
                f" rate() window, {policy.scrape_interval_s:g} s scrapes and the worst HPA"
                " sync phase",
                f"KServe creates Deployment {deployment} for InferenceService {name}"
                " (RawDeployment, KServe >= 0.11); KEDA creates HPA keda-hpa-" + name,
            ],
        ),
    }


def _serverless_files(name: str, namespace: str, kind: str, kpa: Recommendation) -> dict[str, str]:
    policy: KpaPolicy = kpa.policy  # type: ignore[assignment]
    return {
        ISVC_FILE: kserve_manifest(
            name,
            namespace,
            runtime=RUNTIME.get(kind, "kserve-custom"),
            storage_uri="s3://CHANGE-ME/models/" + name,
            kpa=policy,
            reason=f"Serverless (Knative KPA): {kpa.reason}",
        )
    }


def _readme(mode: str, name: str, alternative: str, *, chosen: bool) -> str:
    what = (
        f"InferenceService {name} in RawDeployment mode (KServe creates Deployment"
        f" {name}-predictor and no autoscaler) and a KEDA ScaledObject that scales it (KEDA"
        f" creates HPA keda-hpa-{name})."
        if mode == RAW
        else f"InferenceService {name} in Serverless mode: Knative's KPA scales revision"
        f" {name}-predictor-<n> with the annotations written in it."
    )
    head = (
        "# The recommended deployment (benchctl analyze)\n\n"
        f"Apply the YAML files in this folder together (`kubectl apply -f .`, not -R): {what}\n\n"
        f"The alternative, simulated but not chosen, is in `{alternative}/`. Apply one of the"
        " two, never both: they describe the same InferenceService.\n"
        if chosen
        else "# The alternative deployment (not chosen by benchctl analyze)\n\n"
        f"{what}\n\nUse it instead of the files in the parent folder, never with them.\n"
    )
    return head
