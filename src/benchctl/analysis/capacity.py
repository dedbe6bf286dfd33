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
from benchctl.analysis.bounds import LOWER, Level, capacity_bound
from benchctl.analysis.cluster import ClusterSpec
from benchctl.analysis.contradictions import (
    BUSY_HOST,
    CONTRADICTED,
    busy_host,
    traffic_contradictions,
)
from benchctl.analysis.cost import HOURS_PER_MONTH, cost_per_million, monthly_cost
from benchctl.analysis.fits import (
    LatencyFit,
    fit_latency_curve,
    fit_service_demand,
    fit_usl,
)
from benchctl.analysis.model_capacity import model_capacities
from benchctl.analysis.points import Points, measured_points
from benchctl.analysis.queueing import size_replicas
from benchctl.analysis.slo import Slo
from benchctl.analysis.windows import littles_law_gap
from benchctl.errors import InputError
from benchctl.rundir import CAPACITY, REQUESTS, RUN_JSON, SEARCH, SUMMARY, RunDir
from benchctl.rundir.requests import WARMUP


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
    currency: str = "USD"
    cluster: ClusterSpec | None = None  # pod start and metric pipeline (autoscaling.py)


def analyze_run(run: RunDir, options: AnalyzeOptions) -> dict[str, Any]:
    """The capacity document of one run (also written to its capacity.json).

    The single-replica capacity comes from the run's capacity search when it has one (its
    own levels, or the search run named in run.json ``capacity_search``), else from the
    run's own load levels or windows. See ``capacity_fields`` for the headline fields.
    """
    info = run.read_json(RUN_JSON)
    if not (run.path / REQUESTS).is_file():
        raise InputError(f"{run.path}: no {REQUESTS}: the run recorded nothing to analyze")
    slo = options.slo
    source_dir, source_info, search = _capacity_source(run, info)
    own_points, own_windows = measured_points(run.path, info, slo.quantile, options.window_s)
    points, windows = own_points, own_windows
    if search is not None:
        points = search_points(search)
        if source_dir != run.path:  # the search's windows span its levels: the load range
            _, windows = measured_points(source_dir, source_info, slo.quantile, options.window_s)
    if not len(points):
        raise InputError(_no_points(run.path, slo))
    warnings = _warnings(info, own_windows)  # about this run's own traffic
    demand = _service_demand(windows, source_info)
    single, fit = _single_replica(points, slo, warnings, search, demand)
    checks = _own_traffic_checks(run, info, single, slo, own_windows)
    warnings[:0] = checks  # first: they decide whether the answer holds at all
    own_search = search is not None and source_dir == run.path
    # A search's levels are not traffic to size for: only an explicit peak counts there.
    peak = options.peak_rps or (None if own_search else _scenario_peak(info))
    replicas = _replicas(single, peak, options)
    document = {
        "schema_version": 2,
        "run": run.name,
        "slo": str(slo),
        **capacity_fields(single, source_dir if source_dir != run.path else None),
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
        "cost": _cost(single, replicas, options.price_per_hour, options.currency),
        "warnings": warnings,
    }
    skip = own_search and options.traffic is None
    document["autoscaling"] = (
        {
            "skipped": "a capacity search has no traffic of its own to simulate autoscalers "
            "against: pass --traffic SCENARIO (or run SCENARIO --slo for the whole job)"
        }
        if skip
        else autoscaling_section(
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
            cluster=options.cluster,
            windows=windows,
            recommended_replicas=(replicas or {}).get("recommended"),
            headroom=options.headroom,
            currency=options.currency,
        )
    )
    if any(CONTRADICTED in text for text in checks):
        _withdraw_keeps_up(document["autoscaling"])
    if document["cost"] is not None:
        document["cost"].update(_autoscaled_cost(document["autoscaling"], options.price_per_hour))
    document["confidence"] = _confidence(single, points, warnings)
    mix = model_capacities(
        source_dir, source_info, slo, source=points.source, search=search, window_s=options.window_s
    )
    if mix is not None:  # a model mix: each model's capacity at this mix (issue 21)
        document["models"] = mix
    run.write_json(CAPACITY, document)
    return document


def capacity_fields(single: dict[str, Any], search_run: Path | None) -> dict[str, Any]:
    """The headline fields of capacity.json (schema 2), documented in the README.

    ``capacity_rps``: one replica's capacity under the SLO (req/s), never extrapolated.
    ``capacity_band_rps``: [low, high], finite; the crossing lies inside it (``measured``)
    or the capacity is at least ``low`` (``lower``; ``high`` is the service-demand bound,
    or equals ``low`` when nothing bounds it above).
    ``bound``: ``measured`` or ``lower``. ``upper_bound_source``: what sets ``high``.
    ``demand_upper_rps``: cores / CPU-seconds per request, the rate at which the server's
    CPU would be fully busy (an upper bound), or null. ``extrapolated``: a fit's crossing
    beyond the measured range (a secondary figure) or null. ``capacity_search_run``: the
    search run the figure came from, or null. ``latency_model``: the fitted SLO-percentile
    curve and the saturation rate the replicas and simulations use, or null.
    """
    return {
        "capacity_rps": single["capacity_rps"],
        "capacity_band_rps": [single["lower_rps"], single["upper_rps"]],
        "bound": single["bound"],
        "upper_bound_source": single["upper_bound_source"],
        "demand_upper_rps": single.get("demand_upper_rps"),
        "extrapolated": single.get("extrapolation"),
        "capacity_search_run": str(search_run) if search_run else None,
        "latency_model": _latency_model(single),
    }


def _latency_model(single: dict[str, Any]) -> dict[str, Any] | None:
    """The one latency model every downstream number uses (replicas, simulations): the SLO
    percentile vs throughput fit, with the saturation rate and where that came from."""
    fit = single.get("fit")
    if not fit:
        return None
    return {
        "model": fit["model"],
        "base_ms": fit["base_ms"],
        "scale": fit["scale"],
        "x_max": fit["x_max"],
        "r2": fit["r2"],
        "saturation_rps": single.get("saturation_rps"),
        "saturation_source": single.get("saturation_source"),
    }


def _capacity_source(
    run: RunDir, info: dict[str, Any]
) -> tuple[Path, dict[str, Any], dict[str, Any] | None]:
    """(run folder the capacity comes from, its run.json, its search.json or None)."""
    linked = (info.get("capacity_search") or {}).get("run")
    if linked:
        path = Path(linked)
        if not path.is_absolute():
            path = (run.path / path).resolve()
        if not (path / SEARCH).is_file():
            raise InputError(
                f"{run.path}/{RUN_JSON}: capacity_search.run {linked!r} has no {SEARCH}"
            )
        other = RunDir.open(path)
        return other.path, other.read_json(RUN_JSON), other.read_json(SEARCH)
    if (run.path / SEARCH).is_file():
        return run.path, info, run.read_json(SEARCH)
    return run.path, info, None


def search_points(search: dict[str, Any]) -> Points:
    """One point per measured level of a capacity search (achieved rps, SLO percentile)."""
    levels = [lv for lv in search.get("levels", []) if lv.get("latency_ms") is not None]
    levels.sort(key=lambda lv: lv["offered_rps"])
    return Points(
        "search",
        np.array([lv["achieved_rps"] for lv in levels], dtype=float),
        np.array([lv["latency_ms"] for lv in levels], dtype=float),
        None,
        [lv["name"] for lv in levels],
    )


def _levels(points: Points, slo: Slo, search: dict[str, Any] | None) -> list[Level]:
    if search is None:
        return [
            Level(label, float(x), float(x), float(lat), bool(lat <= slo.threshold_ms))
            for label, x, lat in zip(
                points.labels, points.throughput, points.latency_ms, strict=True
            )
        ]
    return [
        Level(
            lv["name"],
            float(lv["offered_rps"]),
            float(lv["achieved_rps"]),
            float(lv["latency_ms"]),
            bool(lv["good"]),
            bool(lv.get("overloaded")),
        )
        for lv in search.get("levels", [])
        if lv.get("latency_ms") is not None
    ]


def _single_replica(
    points: Points,
    slo: Slo,
    warnings: list[str],
    search: dict[str, Any] | None,
    demand: dict[str, Any],
) -> tuple[dict[str, Any], LatencyFit | None]:
    levels = _levels(points, slo, search)
    fit: LatencyFit | None = None
    estimate = None
    try:
        fit = fit_latency_curve(points.throughput, points.latency_ms, slo.quantile)
        estimate = fit.capacity_at(slo.threshold_ms)
    except ValueError as exc:
        warnings.append(f"no latency curve fitted ({exc}); capacity comes from the levels alone")
    crossing = estimate.throughput if estimate is not None else None
    demand_upper = _demand_upper(demand)
    found = capacity_bound(
        levels, slo.threshold_ms, demand_upper_rps=demand_upper, fitted_crossing_rps=crossing
    )
    if found is None:
        best = int(np.argmin(points.latency_ms))
        raise InputError(
            f"no measured point meets {slo}: the best was {points.latency_ms[best]:.1f} ms at "
            f"{points.throughput[best]:.1f} rps; relax the SLO or measure at lower load"
        )
    if found.non_monotone:
        warnings.append(
            f"{len(found.non_monotone)} level(s) below the best good one broke the SLO "
            f"({', '.join(found.non_monotone[:3])}): the server's latency was not steady"
        )
    extrapolation, dropped = None, None
    if estimate is not None and fit is not None and estimate.throughput > found.band[1]:
        extrapolation = {
            "capacity_rps": estimate.throughput,
            "band_rps": [_finite(estimate.lower), _finite(estimate.upper)],
            "r2": fit.r2,
            "n_points": fit.n_points,
            "note": "a fit's crossing beyond every measured level: not a measurement",
        }
        dropped = _extrapolation_ceiling(estimate.throughput, found, demand_upper)
        if dropped:
            extrapolation = None
    if found.bound == LOWER:
        warnings.append(
            f"the SLO never broke: capacity is at least {found.capacity_rps:.1f} rps (the best "
            "level measured); measure higher load (a capacity search, or a higher max_rate) "
            "for the crossing"
        )
    saturation = found.saturation_rps
    if saturation is not None:  # the server served at least the best good level
        saturation = max(saturation, found.best_good.throughput_rps)
    fit_saturates = estimate is not None and not estimate.extrapolated
    if saturation is None and fit is not None and fit_saturates and math.isfinite(fit.x_max):
        saturation = fit.x_max
    result: dict[str, Any] = {
        "capacity_rps": found.capacity_rps,
        "bound": found.bound,
        "lower_rps": found.band[0],
        "upper_rps": found.band[1],
        "upper_bound_source": found.upper_source,
        "demand_upper_rps": demand_upper,
        "measured_capacity_rps": found.best_good.throughput_rps,
        "best_good_level": found.best_good.label,
        "first_bad_level": found.first_bad.label if found.first_bad else None,
        "extrapolated": False,  # the headline never is; see "extrapolation"
        "extrapolation": extrapolation,
        "extrapolation_dropped": dropped,
        "saturation_rps": saturation,
        "saturation_source": (
            "overloaded level"
            if found.saturation_rps is not None
            else "fit"
            if saturation is not None
            else None
        ),
        "knee_rps": fit.knee() if fit is not None and fit.r2 >= 0.9 and saturation else None,
        "level_stability": [
            (lv["name"], bool(lv.get("stable"))) for lv in (search or {}).get("levels", [])
        ],
        "fit": _fit_summary(fit) if fit is not None else None,
    }
    return result, fit  # the latency model the simulations use (capped by saturation)


def _demand_upper(demand: dict[str, Any]) -> float | None:
    first = demand.get("saturates_first")
    value = (demand.get(first) or {}).get("saturates_at_rps") if first else None
    return float(value) if value is not None and math.isfinite(value) and value > 0 else None


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
    upper_bound = single.get("bound") == LOWER
    qualifier = "at most " if upper_bound else ""
    why_bound = (
        f"; capacity is a lower bound (at least {capacity:.1f} rps), so this count is an "
        "upper bound"
        if upper_bound
        else ""
    )
    saturation = single.get("saturation_rps")
    if not saturation or not math.isfinite(saturation):
        return {
            "recommended": by_capacity,
            "by_capacity": by_capacity,
            "is_upper_bound": upper_bound,
            "table": [],
            "reason": f"{qualifier}peak {peak:g} rps / ({capacity:.1f} rps per replica × "
            f"{1 - options.headroom:.0%}){why_bound}",
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
        "is_upper_bound": upper_bound,
        "table": [asdict(option) for option in table],
        "reason": (
            f"{qualifier}peak {peak:g} rps at ≤{1 - options.headroom:.0%} of the "
            f"{capacity:.1f} rps one replica sustains under {options.slo}, checked with "
            f"an M/M/c tail (service rate {saturation:.1f} rps per replica){why_bound}"
        ),
    }


def _cost(
    single: dict[str, Any], replicas: dict[str, Any] | None, price: float | None, currency: str
) -> dict[str, Any] | None:
    """Cost in ``currency``; None (never zero) when no price was given."""
    if price is None:
        return None
    result = {
        "currency": currency,
        "price_per_replica_hour": price,
        "per_million_at_capacity": cost_per_million(price, single["capacity_rps"]),
        "per_million_is_upper_bound": single.get("bound") == LOWER,
    }
    if replicas:
        result["per_month"] = monthly_cost(replicas["recommended"], price)
        result["per_month_replicas"] = replicas["recommended"]  # always on, 730 h a month
        result["per_month_is_upper_bound"] = bool(replicas.get("is_upper_bound"))
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
    if points.source == "search":  # measured levels decide; the fit is only a sketch
        unstable = [label for label, stable in single.get("level_stability", []) if not stable]
        if unstable:
            reasons.append(f"{len(unstable)} level(s) never became stable")
    elif fit is None:
        reasons.append("no curve fitted")
    elif fit["r2"] < 0.9:
        reasons.append(f"fit r² {fit['r2']:.2f} < 0.9")
    if single.get("bound") == LOWER:
        reasons.append("the SLO never broke: capacity is a lower bound")
    if len(points) < 5 and points.source != "search":
        reasons.append(f"only {len(points)} measured points")
    if any("generator_saturated" in w or "interrupted" in w for w in warnings):
        reasons.append("the run itself is flagged")
    contradicted = any(CONTRADICTED in w for w in warnings)
    if contradicted:
        reasons.append("this run's own traffic broke the SLO at or below the searched capacity")
    if any(w.startswith(BUSY_HOST) for w in warnings):
        reasons.append("the host's CPU was busy with other processes")
    level = "high" if not reasons else "medium" if len(reasons) == 1 else "low"
    if contradicted:
        level = "low"
    return {"level": level, "reasons": reasons}


def _no_points(run_dir: Path, slo: Slo) -> str:
    """Why no level or window gave a point: no successes at all, or too few for the SLO's
    percentile (a point needs ceil(2 / (1 - q)) successes: 200 for p99, 2,000 for p99.9)."""
    import pyarrow.parquet as pq

    from benchctl.analysis.points import min_samples

    table = pq.read_table(run_dir / REQUESTS, columns=["ok", "phase"]).to_pandas()
    ok = int((table["ok"].astype(bool) & (table["phase"].astype(str) != WARMUP)).sum())
    need = min_samples(slo.quantile)
    if ok == 0:
        return f"{run_dir}: no successful requests after the warm-up: nothing to fit"
    return (
        f"{run_dir}: too few samples for {slo.column}: a level or window needs at least "
        f"{need:,} successful requests (2 / (1 - {slo.quantile:g})), and this run has "
        f"{ok:,} after the warm-up in all; use a lower percentile "
        f"(p99 needs {min_samples(0.99):,}) or a longer run"
    )


def _extrapolation_ceiling(crossing: float, found: Any, demand_upper: float | None) -> str | None:
    """Why a fitted crossing above the measured band is not shown, or None to show it: it
    lies above what was measured to bound the capacity (the first level that broke the
    SLO, the most an overloaded level served, or the service-demand upper bound)."""
    ceilings = []
    if found.first_bad is not None:
        ceilings.append(("the first level that broke the SLO", found.band[1]))
    if found.saturation_rps is not None:
        saturation = max(found.saturation_rps, found.best_good.throughput_rps)
        ceilings.append(("the measured saturation", saturation))
    if demand_upper is not None and math.isfinite(demand_upper):
        ceilings.append(("the service-demand upper bound", demand_upper))
    above = [(name, value) for name, value in ceilings if crossing > value]
    if not above:
        return None
    name, value = min(above, key=lambda item: item[1])
    return f"the fitted curve's SLO crossing lies above {name} ({value:,.1f} rps): not shown"


def _own_traffic_checks(
    run: RunDir, info: dict[str, Any], single: dict[str, Any], slo: Slo, windows: pd.DataFrame
) -> list[str]:
    """Warnings from checking the answer against this run: its phases (summary.json) that
    broke the SLO at or below the capacity, and a host kept busy by other processes."""
    found = []
    if (run.path / SUMMARY).is_file():
        summary = run.read_json(SUMMARY)
        phases = summary.get("phases") if isinstance(summary, dict) else None
        phases = phases if isinstance(phases, dict) else {}
        capacity = _finite(single.get("capacity_rps"))
        found += traffic_contradictions(phases, capacity, slo, info.get("plan"))
    busy = busy_host(windows, (info.get("host") or {}).get("cpus"))
    return found + ([busy] if busy else [])


def _autoscaled_cost(scaling: dict[str, Any], price: float | None) -> dict[str, Any]:
    """What the simulated (chosen) autoscaler costs beside the always-on figure:
    mean replicas = replica-seconds / traffic seconds of the chosen deployment's simulation;
    per month = mean replicas x price x 730 h (if that traffic repeated all month)."""
    mode, seconds = scaling.get("deployment"), (scaling.get("traffic") or {}).get("seconds")
    key = {"RawDeployment": "hpa", "Serverless": "kpa"}.get(str(mode))
    result = ((scaling.get(key) or {}) if key else {}).get("result") or {}
    if price is None or not seconds or result.get("replica_seconds") is None:
        return {}
    mean = float(result["replica_seconds"]) / float(seconds)
    name = "RawDeployment + KEDA" if key == "hpa" else "Serverless + KPA"
    return {
        "autoscaled": {
            "deployment": name,
            "mean_replicas": mean,
            "traffic_seconds": float(seconds),
            "per_month": mean * price * HOURS_PER_MONTH,
        }
    }


def _withdraw_keeps_up(section: dict[str, Any]) -> None:
    """A simulation that says reactive scaling keeps up is not shown when the run's own
    traffic broke the SLO below the capacity it was simulated with: say so instead."""
    advice = section.get("spike_advice") or ""
    if "keeps up" not in advice or "cannot keep up" in advice:
        return
    withdrawn = (
        "Not shown that reactive scaling keeps up: this run's own bursts broke the SLO at "
        "or below the searched capacity the simulation assumes (see the warning); "
        f"the simulation alone said: {advice}"
    )
    section["spike_advice"] = withdrawn
    section["summary"] = [
        f"Spike: {withdrawn}" if line == f"Spike: {advice}" else line
        for line in section.get("summary") or []
    ]


def _scenario_peak(info: dict[str, Any]) -> float | None:
    curve = info.get("plan", {}).get("curve") or []
    if not curve or not info.get("plan", {}).get("open_loop"):
        return None
    return float(max(rate for _, rate in curve))


def _finite(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)
