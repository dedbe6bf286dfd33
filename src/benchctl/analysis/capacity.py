"""``benchctl analyze``: from measured runs to replicas, autoscaler settings and cost.

For each run: the measured points (per load level or per window), a queueing-shaped fit of
the SLO percentile against throughput, the capacity of one replica under the SLO (with its
band, never silently extrapolated), service demand per resource, replicas for a peak rate
checked with an M/M/c tail, and autoscaling settings simulated against the traffic.
Writes capacity.json and manifests/ into the run directory.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchctl.analysis.autoscaling import autoscaling_section
from benchctl.analysis.cost import cost_per_million, monthly_cost
from benchctl.analysis.fits import (
    LatencyFit,
    capacity_from_points,
    fit_latency_curve,
    fit_service_demand,
    fit_usl,
)
from benchctl.analysis.points import Points, measured_points
from benchctl.analysis.queueing import size_replicas
from benchctl.analysis.slo import Slo
from benchctl.analysis.windows import littles_law_gap
from benchctl.errors import InputError
from benchctl.store import RunDir

CAPACITY = "capacity.json"


@dataclass(frozen=True)
class AnalyzeOptions:
    slo: Slo
    peak_rps: float | None = None
    traffic: str | None = None  # scenario name/path; default: the run's own scenario
    price_per_hour: float | None = None
    cold_start_s: float = 45.0
    window_s: float = 5.0
    headroom: float = 0.2
    config_dir: Path | None = None


def analyze_run(run: RunDir, options: AnalyzeOptions) -> dict[str, Any]:
    """The capacity document of one run (also written to its capacity.json)."""
    info = run.read_json("run.json")
    if not (run.path / "requests.parquet").is_file():
        raise InputError(f"{run.path}: no requests.parquet: the run recorded nothing to analyze")
    slo = options.slo
    points, windows = measured_points(run.path, info, slo.quantile, options.window_s)
    if not len(points):
        raise InputError(
            f"{run.path}: no successful requests after the warm-up (or too few "
            f"per window for {slo.column}): nothing to fit"
        )
    warnings = _warnings(info, windows)
    single, fit = _single_replica(points, slo, warnings)
    demand = _service_demand(windows, info)
    peak = options.peak_rps or _scenario_peak(info)
    replicas = _replicas(single, peak, options)
    document = {
        "schema_version": 1,
        "run": run.name,
        "slo": str(slo),
        "points": {
            "source": points.source,
            "labels": points.labels,
            "throughput_rps": points.throughput.tolist(),
            "latency_ms": points.latency_ms.tolist(),
        },
        "single_replica": single,
        "service_demand": demand,
        "usl": _usl(points),
        "peak_rps": peak,
        "replicas": replicas,
        "cost": _cost(single, replicas, options.price_per_hour),
        "warnings": warnings,
    }
    document["autoscaling"] = autoscaling_section(
        run.path,
        info,
        single,
        fit,
        slo_ms=slo.threshold_ms,
        cold_start_s=options.cold_start_s,
        price_per_hour=options.price_per_hour,
        peak_rps=options.peak_rps,
        scenario=options.traffic,
        config_dir=options.config_dir,
    )
    document["confidence"] = _confidence(single, points, warnings)
    run.write_json(CAPACITY, document)
    return document


def _single_replica(
    points: Points, slo: Slo, warnings: list[str]
) -> tuple[dict[str, Any], LatencyFit | None]:
    measured = capacity_from_points(points.throughput, points.latency_ms, slo.threshold_ms)
    best = int(np.argmin(points.latency_ms))
    if measured is None:
        raise InputError(
            f"no measured point meets {slo}: the best was {points.latency_ms[best]:.1f} ms at "
            f"{points.throughput[best]:.1f} rps; relax the SLO or measure at lower load"
        )
    result: dict[str, Any] = {"measured_capacity_rps": measured, "fit": None}
    try:
        fit = fit_latency_curve(points.throughput, points.latency_ms, slo.quantile)
        estimate = fit.capacity_at(slo.threshold_ms)
    except ValueError as exc:
        warnings.append(
            f"no latency curve fitted ({exc}); capacity is the highest measured "
            "throughput that met the SLO"
        )
        result.update(
            capacity_rps=measured,
            lower_rps=None,
            upper_rps=None,
            extrapolated=False,
            saturation_rps=None,
            knee_rps=None,
        )
        return result, None
    if estimate.extrapolated:
        warnings.append(
            f"the capacity ({estimate.throughput:.1f} rps) lies beyond the highest measured "
            f"throughput ({fit.measured_max_throughput:.1f} rps): it is extrapolated; measure "
            "higher load (the step scenario) to confirm"
        )
    result.update(
        capacity_rps=estimate.throughput,
        lower_rps=_finite(estimate.lower),
        upper_rps=_finite(estimate.upper),
        extrapolated=estimate.extrapolated,
        saturation_rps=fit.x_max,
        knee_rps=fit.knee(),
        fit=_fit_summary(fit),
    )
    return result, fit


def _fit_summary(fit: LatencyFit) -> dict[str, Any]:
    return {
        "model": "L(x) = base + scale / (x_max - x)",
        "base_ms": fit.base_ms,
        "scale": fit.scale,
        "x_max": fit.x_max,
        "base_se": fit.base_se,
        "scale_se": fit.scale_se,
        "x_max_se": fit.x_max_se,
        "r2": fit.r2,
        "n_points": fit.n_points,
        "measured_max_throughput": fit.measured_max_throughput,
    }


def _usl(points: Points) -> dict[str, Any] | None:
    if points.concurrency is None or len(np.unique(points.concurrency)) < 3:
        return None
    try:
        fit = fit_usl(points.concurrency.astype(float), points.throughput)
    except ValueError as exc:
        return {"error": str(exc)}
    data = {k: v for k, v in asdict(fit).items() if isinstance(v, int | float)}
    return {**data, "peak_extrapolated": fit.peak_extrapolated}


def _service_demand(windows: pd.DataFrame, info: dict[str, Any]) -> dict[str, Any]:
    """CPU (and GPU) seconds per request, and which saturates first."""
    resources: dict[str, Any] = {}
    cores = float(info.get("host", {}).get("cpus") or 1)
    for name, column, scale, capacity in (
        ("server_cpu", "server_cpu_percent", 0.01, cores),
        ("gpu", "gpu_utilization_percent", 0.01, 1.0),
    ):
        if column not in windows or windows[column].notna().sum() < 3:
            continue
        usable = windows[windows[column].notna()]
        try:
            fit = fit_service_demand(
                usable["throughput_rps"].to_numpy(), usable[column].to_numpy() * scale
            )
        except ValueError:
            continue
        resources[name] = {
            "ms_per_request": fit.ms_per_request,
            "r2": fit.r2,
            "capacity_units": capacity,
            "saturates_at_rps": _finite(fit.saturation_throughput(capacity)),
        }
    if resources:
        first = min(resources, key=lambda n: resources[n]["saturates_at_rps"] or math.inf)
        resources["saturates_first"] = first
    return resources


def _replicas(
    single: dict[str, Any], peak: float | None, options: AnalyzeOptions
) -> dict[str, Any] | None:
    if not peak:
        return None
    capacity = single["capacity_rps"]
    by_capacity = math.ceil(peak / (capacity * (1 - options.headroom)))
    saturation = single.get("saturation_rps")
    if not saturation or not math.isfinite(saturation):
        return {
            "recommended": by_capacity,
            "by_capacity": by_capacity,
            "table": [],
            "reason": f"peak {peak:g} rps / ({capacity:.1f} rps per replica × "
            f"{1 - options.headroom:.0%})",
        }
    queue_n, table = size_replicas(
        peak_rps=peak,
        service_time_ms=1000.0 / saturation,
        slo_quantile=options.slo.quantile,
        slo_ms=options.slo.threshold_ms,
        headroom=options.headroom,
        price_per_replica_hour=options.price_per_hour,
    )
    recommended = max(by_capacity, queue_n or by_capacity)
    return {
        "recommended": recommended,
        "by_capacity": by_capacity,
        "by_erlang_c": queue_n,
        "table": [asdict(option) for option in table],
        "reason": (
            f"peak {peak:g} rps at ≤{1 - options.headroom:.0%} of the "
            f"{capacity:.1f} rps one replica sustains under {options.slo}, checked with "
            f"an M/M/c tail (service rate {saturation:.1f} rps per replica)"
        ),
    }


def _cost(
    single: dict[str, Any], replicas: dict[str, Any] | None, price: float | None
) -> dict[str, Any] | None:
    if price is None:
        return None
    result = {
        "price_per_replica_hour": price,
        "per_million_at_capacity": cost_per_million(price, single["capacity_rps"]),
    }
    if replicas:
        result["per_month"] = monthly_cost(replicas["recommended"], price)
    return result


def _warnings(info: dict[str, Any], windows: pd.DataFrame) -> list[str]:
    warnings = []
    if info.get("status") != "completed":
        warnings.append(f"the run is {info.get('status')}: {info.get('reason', '')}".rstrip(": "))
    if info.get("generator", {}).get("saturated"):
        warnings.append("generator_saturated: latencies include the load generator's own delay")
    if not windows.empty:
        gap = littles_law_gap(windows)
        if gap is not None and gap > 0.1:
            warnings.append(
                f"in-flight counts disagree with Little's law by {gap:.0%}: "
                "windows may be too short for these latencies"
            )
        if windows["dropped"].sum():
            warnings.append(
                f"{int(windows['dropped'].sum())} requests were dropped by the "
                "generator (in-flight cap): the server could not keep up"
            )
    return warnings


def _confidence(single: dict[str, Any], points: Points, warnings: list[str]) -> dict[str, Any]:
    fit = single.get("fit")
    reasons = []
    if fit is None:
        reasons.append("no curve fitted")
    elif fit["r2"] < 0.9:
        reasons.append(f"fit r² {fit['r2']:.2f} < 0.9")
    if single.get("extrapolated"):
        reasons.append("extrapolated beyond measured load")
    if len(points) < 5:
        reasons.append(f"only {len(points)} measured points")
    if any("generator_saturated" in w or "interrupted" in w for w in warnings):
        reasons.append("the run itself is flagged")
    level = "high" if not reasons else "medium" if len(reasons) == 1 else "low"
    return {"level": level, "reasons": reasons}


def _scenario_peak(info: dict[str, Any]) -> float | None:
    curve = info.get("plan", {}).get("curve") or []
    if not curve or not info.get("plan", {}).get("open_loop"):
        return None
    return float(max(rate for _, rate in curve))


def _finite(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)
