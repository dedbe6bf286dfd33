"""The autoscaling part of ``benchctl analyze``: simulate HPA and Knative candidates against
the scenario's traffic at real time scale, pick the cheapest that holds the SLO, advise on
spikes, and write the manifests.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import TypeAdapter, ValidationError

from benchctl.analysis.autoscale import (
    HpaPolicy,
    KpaPolicy,
    Recommendation,
    ReplicaModel,
    SimResult,
    Traffic,
    default_hpa_candidates,
    default_kpa_candidates,
    prescale_windows,
    recommend,
    spike_advice,
)
from benchctl.analysis.fits import LatencyFit
from benchctl.analysis.manifests import hpa_manifest, keda_manifest, kserve_manifest
from benchctl.config import ReplayScenario, Scenario, SpikeScenario, load_scenario
from benchctl.errors import BenchctlError
from benchctl.load.shapes import plan_scenario
from benchctl.store import RunDir, atomic_output, write_atomic

NAMESPACE = "default"
TIMELINE = "autoscale.parquet"
PROMETHEUS_URL = "http://prometheus.monitoring.svc:9090"
# Per server kind: the request-rate query KEDA scales on, and the KServe runtime name.
REQUEST_RATE = {
    "triton": "sum(rate(nv_inference_request_success[1m]))",
    "torchserve": "sum(rate(ts_inference_requests_total[1m]))",
    "kserve": "sum(rate(request_predict_seconds_count[1m]))",
    "tfserving": "sum(rate(:tensorflow:serving:request_count[1m]))",
    "mlserver": "sum(rate(model_infer_request_success[1m]))",
}
RUNTIME = {
    "triton": "kserve-tritonserver",
    "torchserve": "kserve-torchserve",
    "tfserving": "kserve-tensorflow-serving",
    "mlserver": "kserve-mlserver",
    "kserve": "kserve-custom",
}


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


def replica_model(
    single: dict[str, Any], fit: LatencyFit | None, slo_ms: float, cold_start_s: float
) -> ReplicaModel:
    capacity = single["capacity_rps"]
    saturation = single.get("saturation_rps") or capacity
    if fit is not None:
        latency = fit.predict
    else:  # no curve: within capacity the SLO holds, beyond it does not

        def latency(rate: float) -> float:
            return slo_ms if rate <= capacity else math.inf

    return ReplicaModel(
        capacity_rps=capacity,
        max_rps=max(saturation, capacity),
        latency_ms=latency,
        cold_start_s=cold_start_s,
        slo_ms=slo_ms,
    )


def autoscaling_section(
    run_dir: Path,
    info: dict[str, Any],
    single: dict[str, Any],
    fit: LatencyFit | None,
    *,
    slo_ms: float,
    cold_start_s: float,
    price_per_hour: float | None,
    peak_rps: float | None,
    scenario: str | None,
    config_dir: Path | None,
) -> dict[str, Any]:
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
    model = replica_model(single, fit, slo_ms, cold_start_s)
    peak = float(traffic.rps.max())
    price = price_per_hour or 0.0
    hpa_ranked = recommend(
        traffic, model, price_per_hour=price, candidates=default_hpa_candidates(model, peak)
    )
    hpa = _chosen(hpa_ranked)
    kpa = _chosen(
        recommend(
            traffic, model, price_per_hour=price, candidates=default_kpa_candidates(model, peak)
        )
    )
    bursty = isinstance(spec, SpikeScenario | ReplayScenario)
    reactive = _best_reactive(hpa_ranked, model.replicas_for(peak))
    advice = spike_advice(traffic, model, reactive.result, **_spike_timing(spec)) if bursty else ""
    files = _write_manifests(run_dir, info, model, hpa, kpa, spec, advice, peak)
    _write_timeline(
        run_dir / TIMELINE, {"hpa": hpa.result, "kpa": kpa.result, "reactive": reactive.result}
    )
    summary = [
        f"HPA: {hpa.reason}",
        f"Knative (KServe): {kpa.reason}",
        *([f"Spike: {advice}"] if advice else []),
        f"Manifests: {', '.join(str(p) for p in files)}",
    ]
    return {
        "traffic": {
            "seconds": float(len(traffic.t)),
            "peak_rps": peak,
            "scenario": scenario or info["scenario"]["name"],
        },
        "cold_start_s": cold_start_s,
        "hpa": _describe(hpa),
        "kpa": _describe(kpa),
        "spike_advice": advice,
        "manifests": [str(p) for p in files],
        "summary": summary,
    }


def _best_reactive(ranked: list[Recommendation], peak_replicas: int) -> Recommendation:
    """The candidate that relies most on scaling (min replicas below what the peak needs)
    with the fewest SLO-violation seconds: the fair test of "can reactive scaling keep up"."""
    reactive = [r for r in ranked if getattr(r.policy, "min_replicas", 0) < peak_replicas]
    if not reactive:
        return _chosen(ranked)
    return min(reactive, key=lambda r: (r.result.slo_violation_seconds, r.result.replica_seconds))


def _write_timeline(path: Path, results: dict[str, SimResult]) -> None:
    """The simulated replica counts over time, for the report's timeline."""
    first = next(iter(results.values()))
    columns: dict[str, np.ndarray] = {"t": first.t, "offered_rps": first.offered}
    for name, result in results.items():
        columns[f"{name}_replicas"] = result.replicas
        columns[f"{name}_ready"] = result.ready
        columns[f"{name}_violated"] = result.violated
    with atomic_output(path) as temporary:  # never through a planted symlink
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
    run_dir: Path,
    info: dict[str, Any],
    model: ReplicaModel,
    hpa: Recommendation,
    kpa: Recommendation,
    spec: Any,
    advice: str,
    peak: float,
) -> list[Path]:
    folder = RunDir(Path(run_dir)).mkdir("manifests")  # refuses a symlinked folder
    target = info.get("target", {}).get("spec", {})
    kind = target.get("kind", "kserve")
    name = f"{target.get('model', 'model')}-{kind}".replace("_", "-").lower()
    hpa_policy: HpaPolicy = hpa.policy  # type: ignore[assignment]
    kpa_policy: KpaPolicy = kpa.policy  # type: ignore[assignment]
    cron = []
    if isinstance(spec, SpikeScenario) and "cannot keep up" in advice:
        timing = _spike_timing(spec)
        cron = prescale_windows(
            timing["period_s"],
            timing["burst_s"],
            lead_s=model.cold_start_s + hpa.result.control_period_s,
            replicas=model.replicas_for(peak),
            phase_s=timing["phase_s"],
        )
    texts = {
        "hpa.yaml": hpa_manifest(
            name, NAMESPACE, hpa_policy, deployment=f"{name}-predictor", reason=hpa.reason
        ),
        "keda.yaml": keda_manifest(
            name,
            NAMESPACE,
            prometheus_url=PROMETHEUS_URL,
            query=REQUEST_RATE.get(kind, "sum(rate(requests_total[1m]))"),
            threshold=hpa_policy.target
            if hpa_policy.metric == "rps_per_replica"
            else model.capacity_rps * 0.8,
            min=hpa_policy.min_replicas,
            max=hpa_policy.max_replicas,
            cron=cron or None,
            deployment=f"{name}-predictor",
            behavior=hpa_policy,
            reason=hpa.reason,
        ),
        "kserve-inferenceservice.yaml": kserve_manifest(
            name,
            NAMESPACE,
            runtime=RUNTIME.get(kind, "kserve-custom"),
            storage_uri="s3://CHANGE-ME/models/" + name,
            kpa=kpa_policy,
            reason=kpa.reason,
        ),
    }
    paths = []
    for filename, text in texts.items():
        path = folder / filename
        write_atomic(path, text)
        paths.append(path)
    return paths
