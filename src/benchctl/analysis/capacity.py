"""``benchctl analyze``: from measured runs to replicas, autoscaler settings and cost.

For each run: the measured points (per load level or per window), a queueing-shaped fit of
the SLO percentile against throughput, the capacity of one replica under the SLO (with its
band, never silently extrapolated), service demand per resource, replicas for a peak rate
checked with an M/M/c tail, and autoscaling settings simulated against the traffic.
Writes capacity.json and manifests/ into the run directory.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchctl.analysis.analyze_options import AnalyzeOptions
from benchctl.analysis.autoscaling_section import autoscaling_section
from benchctl.analysis.bounds import LOWER
from benchctl.analysis.contradictions import (
    BUSY_HOST,
    CONTRADICTED,
    busy_host,
    search_level_phases,
    traffic_contradictions,
)
from benchctl.analysis.fits import LatencyFit
from benchctl.analysis.measured_rates import measured_rates
from benchctl.analysis.mix_sizing import size_mix
from benchctl.analysis.model_capacity import model_capacities, with_model_bounds
from benchctl.analysis.points import Points, measured_points
from benchctl.analysis.replica_sizing import (
    autoscaled_cost,
    cost_section,
    replicas_for_peak,
    sizing_peak,
)
from benchctl.analysis.search_rejudge import rejudge_search
from benchctl.analysis.single_replica import finite, service_demand, single_replica, usl_summary
from benchctl.analysis.slo import Slo
from benchctl.analysis.windows import littles_law_gap
from benchctl.errors import InputError
from benchctl.rundir import CAPACITY, REQUESTS, RUN_JSON, SEARCH, SUMMARY, RunDir, read_parquet
from benchctl.rundir.requests import WARMUP
from benchctl.rundir.search_link import resolve_search


def analyze_run(run: RunDir, options: AnalyzeOptions) -> dict[str, Any]:
    """The capacity document of one run (also written to its capacity.json).

    The single-replica capacity comes from the run's capacity search when it has one (its
    own levels, or the search run named in run.json ``capacity_search``), else from the
    run's own load levels or windows. See ``capacity_fields`` for the headline fields.
    Also writes manifests/ and autoscale.parquet (``autoscaling_section``). InputError
    (exit 2): no requests.parquet, too few samples for any point, no measured point meets
    the SLO, a linked search run without search.json, a --peak-rps beyond one cluster.
    """
    info = _run_info(run)
    slo = options.slo
    source_dir, source_info, search, search_notes = _judged_source(run, info, slo)
    points, windows, own_windows = _measured(run, info, source_dir, source_info, search, options)
    warnings = _warnings(info, own_windows)  # about this run's own traffic
    warnings += search_notes
    demand = service_demand(windows, source_info, search)  # per level when a search
    # A model mix: each model's capacity at this mix (issue 21); None for one model.
    mix = model_capacities(
        source_dir, source_info, slo, source=points.source, search=search, window_s=options.window_s
    )
    try:
        ran = own_windows if source_dir != run.path else None  # served beside a linked search
        rates = measured_rates(source_dir, source_info, points, search, options.window_s, slo, ran)
        single, fit = single_replica(points, slo, warnings, search, demand, rates, windows)
    except InputError as exc:  # a model mix still says what each model sustains
        raise with_model_bounds(exc, mix) from None
    if mix is not None:  # one basis for a mix: every model within its own SLO (mix_sizing)
        single, fit = size_mix(single, fit, mix, slo, warnings)
    own = search if search is not None and source_dir == run.path else None
    checks = _own_traffic_checks(run, info, single, slo, own_windows, own_search=own)
    warnings[:0] = checks  # first: they decide whether the answer holds at all
    own_search = search is not None and source_dir == run.path
    peak = sizing_peak(info, options, own_search=own_search)  # --peak-rps, --traffic, own
    replicas = replicas_for_peak(single, peak, slo, options.headroom, options.price_per_hour)
    document = {
        "schema_version": 2,
        "run": run.name,
        "slo": str(slo),
        **capacity_fields(single, source_dir if source_dir != run.path else None),
        "points": _points_section(points),
        "single_replica": single,
        "service_demand": demand,
        "usl": usl_summary(points),
        "peak_rps": peak,
        "replicas": replicas,
        "cost": cost_section(single, replicas, options.price_per_hour, options.currency),
        "warnings": warnings,
    }
    document["autoscaling"] = _autoscaling(
        run, info, single, fit, windows, replicas, own_search=own_search, options=options
    )
    _settle(document, contradicted=any(CONTRADICTED in text for text in checks), options=options)
    document["confidence"] = _confidence(single, points, warnings)
    if mix is not None:
        document["models"] = mix
    run.write_json(CAPACITY, document)
    return document


def _settle(document: dict[str, Any], *, contradicted: bool, options: AnalyzeOptions) -> None:
    """After the simulation: withdraw a "keeps up" verdict the run's own traffic contradicts,
    and add the chosen autoscaler's cost beside the always-on cost."""
    if contradicted:
        _withdraw_keeps_up(document["autoscaling"])
    document["warnings"] += document["autoscaling"].get("warnings", [])  # autoscaling_verdict
    if document["cost"] is not None:
        document["cost"].update(autoscaled_cost(document["autoscaling"], options.price_per_hour))


def _run_info(run: RunDir) -> dict[str, Any]:
    """``run``'s run.json. InputError (exit 2) when it is damaged, the run is still in
    progress, or its requests.parquet is missing or damaged (``rundir.recorded``)."""
    from benchctl.rundir.recorded import refuse_unreadable

    info = run.read_json(RUN_JSON)
    refuse_unreadable(run.path, info, "analyze")
    return info


def _measured(
    run: RunDir,
    info: dict[str, Any],
    source_dir: Path,
    source_info: dict[str, Any],
    search: dict[str, Any] | None,
    options: AnalyzeOptions,
) -> tuple[Points, pd.DataFrame, pd.DataFrame]:
    """(the points the capacity comes from: the search's levels, else this run's levels or
    windows; the windows of the load range; this run's own windows). InputError (exit 2)
    when there is no point (too few samples at every level and in every window)."""
    quantile, width = options.slo.quantile, options.window_s
    own_points, own_windows = measured_points(run.path, info, quantile, width)
    points, windows = own_points, own_windows
    if search is not None:
        points = search_points(search)
        if source_dir != run.path:  # the search's windows span its levels: the load range
            _, windows = measured_points(source_dir, source_info, quantile, width)
    if not len(points):
        raise InputError(_no_points(run.path, options.slo))
    return points, windows, own_windows


def _points_section(points: Points) -> dict[str, Any]:
    """capacity.json ``points``: where they came from, labels, achieved rps, SLO-percentile ms."""
    return {
        "source": points.source,
        "labels": points.labels,
        "throughput_rps": points.throughput.tolist(),
        "latency_ms": points.latency_ms.tolist(),
    }


def _autoscaling(
    run: RunDir,
    info: dict[str, Any],
    single: dict[str, Any],
    fit: LatencyFit | None,
    windows: pd.DataFrame,
    replicas: dict[str, Any] | None,
    *,
    own_search: bool,
    options: AnalyzeOptions,
) -> dict[str, Any]:
    """capacity.json ``autoscaling``: simulated against the traffic (``autoscaling_section``),
    or skipped for a capacity search analysed without ``--traffic``."""
    if single.get("capacity_rps") is None:  # a mix whose limiting model broke everywhere
        return {"skipped": _NO_FIGURE, "summary": []}
    skip = own_search and options.traffic is None
    return (
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
            options,
            windows=windows,
            recommended_replicas=(replicas or {}).get("recommended"),
        )
    )


_NO_FIGURE = (
    "no capacity figure to size autoscalers by: a model of the mix broke its SLO at every "
    "level where it was judged (see the per-model lines); measure lower load"
)


def capacity_fields(single: dict[str, Any], search_run: Path | None) -> dict[str, Any]:
    """The headline fields of capacity.json (schema 2), documented in the README.

    ``capacity_rps``: one replica's capacity under the SLO (req/s), never extrapolated.
    ``capacity_band_rps``: [low, high], finite; the crossing lies inside it (``measured``)
    or the capacity is at least ``low`` (``lower``; ``high`` is the service-demand bound,
    or equals ``low`` when nothing bounds it above). ``capacity_band_rates``: what kind of
    rate its ends are (``arrived``: a search level's arrivals per second in the windows it
    was judged on; ``offered``; ``throughput``; ``arrived/offered``, below);
    ``capacity_band_offered_rps``: the same levels' offered (scheduled) rates, or null.
    ``capacity_band_arrived_rps``: [met, broke], the arrived rates of the level that met the
    SLO and of the one that broke it when they do not order them (the broken one saw no
    more arrivals: arrival noise exceeded the search's step); the figure and ``low`` are
    then the lesser of the met level's offered and arrived rates and ``high`` the broken
    level's offered rate (``bounds.capacity_bound``); else null.
    ``bound``: ``measured`` or ``lower``. ``capacity_source``: what the figure is
    (``fit``: the fitted curve's SLO crossing, inside the band and below every rate a level
    that broke the SLO was measured at; ``best_good_level``: the band's low end; ``mix``: a
    model mix sized on its limiting model, ``mix_sizing``), or null (an older document);
    ``capacity_source_note``: why a fitted crossing inside the band was not
    used (a level broke the SLO at a lower rate), or null.
    ``upper_bound_source``: what sets ``high``.
    ``demand_upper_rps``: cores / CPU-seconds per request, the rate at which the server's
    CPU would be fully busy (an upper bound), or null. ``extrapolated``: a fit's crossing
    beyond the measured range (a secondary figure) or null. ``capacity_search_run``: the
    search run the figure came from, or null. ``latency_model``: the fitted SLO-percentile
    curve and the saturation rate the replicas and simulations use, or null.
    """
    return {
        "capacity_rps": single["capacity_rps"],
        "capacity_band_rps": [single["lower_rps"], single["upper_rps"]],
        "capacity_band_rates": single.get("band_rates"),  # arrived, offered, throughput, ...
        "capacity_band_offered_rps": single.get("offered_band_rps"),
        "capacity_band_arrived_rps": single.get("arrived_band_rps"),
        "bound": single["bound"],
        "capacity_source": _figure_source(single),
        "capacity_source_note": single.get("fit_not_used"),
        "upper_bound_source": single["upper_bound_source"],
        "demand_upper_rps": single.get("demand_upper_rps"),
        "extrapolated": single.get("extrapolation"),
        "capacity_search_run": str(search_run) if search_run else None,
        "latency_model": _latency_model(single),
    }


def _figure_source(single: dict[str, Any]) -> str | None:
    """capacity.json ``capacity_source``: ``mix`` for a mix sized on its own basis, else
    single_replica's (``fit`` or ``best_good_level``); None for an older document."""
    return "mix" if single.get("basis") == "mix" else single.get("capacity_source")


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
) -> tuple[Path, dict[str, Any], dict[str, Any] | None, list[str]]:
    """(run folder the capacity comes from, its run.json, its search.json or None, notes):
    run.json's ``capacity_search`` found as ``rundir.search_link.resolve_search`` says."""
    linked = (info.get("capacity_search") or {}).get("run")
    if linked:
        path, note = resolve_search(run.path, str(linked))
        other = RunDir.open(path)
        return other.path, other.read_json(RUN_JSON), other.read_json(SEARCH), [note] * bool(note)
    if (run.path / SEARCH).is_file():
        return run.path, info, run.read_json(SEARCH), []
    return run.path, info, None, []


def search_points(search: dict[str, Any]) -> Points:
    """One point per measured level of a capacity search, in order of offered rate.

    ``search``: search.json's object (``levels``: each with name, offered_rps and achieved_rps in
    requests/s and latency_ms, the SLO percentile in ms; levels without a latency, and levels
    a stop signal ended before they were decided (``interrupted``), are left out).
    Returns Points (x: achieved requests/s, y: ms, labels: level names). KeyError for a level
    without those keys.
    """
    levels = [
        lv
        for lv in search.get("levels", [])
        if lv.get("latency_ms") is not None and not lv.get("interrupted")
    ]
    levels.sort(key=lambda lv: lv["offered_rps"])
    return Points(
        "search",
        np.array([lv["achieved_rps"] for lv in levels], dtype=float),
        np.array([lv["latency_ms"] for lv in levels], dtype=float),
        None,
        [lv["name"] for lv in levels],
    )


def _judged_source(
    run: RunDir, info: dict[str, Any], slo: Slo
) -> tuple[Path, dict[str, Any], dict[str, Any] | None, list[str]]:
    """``_capacity_source`` with the search's levels judged under ``slo`` (``rejudge_search``:
    a search decided under another SLO) and the notes about the search for the warnings."""
    source_dir, source_info, search, notes = _capacity_source(run, info)
    if search is None:
        return source_dir, source_info, None, notes
    search, rejudged = rejudge_search(search, slo, source_dir)
    notes += [rejudged] * bool(rejudged) + _search_stop_notes(search)
    return source_dir, source_info, search, notes


def _search_stop_notes(search: dict[str, Any] | None) -> list[str]:
    """A search that stopped before its resolution (``max_duration``, or interrupted): the
    band between its best good and first bad level is wider than the search asked for."""
    reason = str((search or {}).get("stop_reason") or "")
    if not reason or reason.startswith(("resolution reached", "reached max_rate")):
        return []
    resolution = ((search or {}).get("settings") or {}).get("resolution")
    asked = f" ({resolution:.0%})" if isinstance(resolution, int | float) else ""
    return [
        f"the capacity search stopped before its resolution{asked}: {reason}; the band is "
        "wider than a finished search gives (raise max_duration, or rerun the search)"
    ]


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
    from benchctl.analysis.points import min_samples

    table = read_parquet(run_dir / REQUESTS, ["ok", "phase"])
    ok = int((table["ok"].astype(bool) & (table["phase"].astype(str) != WARMUP)).sum())
    need = min_samples(slo.quantile)
    if ok == 0:
        return f"{run_dir}: no successful requests after the warm-up: nothing to fit"
    return (
        f"{run_dir}: too few samples for {slo.column}: a level or window needs at least "
        f"{need:,} successful requests (2 / (1 - {slo.quantile:g})), and none of this run's "
        f"holds that many ({ok:,} after the warm-up, spread over all of them); use a lower "
        f"percentile (p99 needs {min_samples(0.99):,}) or longer levels"
    )


def _own_traffic_checks(
    run: RunDir,
    info: dict[str, Any],
    single: dict[str, Any],
    slo: Slo,
    windows: pd.DataFrame,
    *,
    own_search: dict[str, Any] | None = None,
) -> list[str]:
    """Warnings from checking the answer against this run: its phases (summary.json) that
    broke the SLO at or below the capacity, and a host kept busy by other processes. A
    capacity search run (``own_search``: its search.json, as judged under ``slo``) is checked
    on its levels' own figures, over the windows the search judged, never on summary.json's
    percentile over each whole level (other windows, another number)."""
    found = []
    if own_search is not None:
        capacity = finite(single.get("capacity_rps"))
        phases = search_level_phases(own_search, slo)
        found += traffic_contradictions(phases, capacity, slo, info.get("plan"))
    elif (run.path / SUMMARY).is_file():
        summary = run.read_json(SUMMARY)
        phases = summary.get("phases") if isinstance(summary, dict) else None
        phases = phases if isinstance(phases, dict) else {}
        capacity = finite(single.get("capacity_rps"))
        found += traffic_contradictions(phases, capacity, slo, info.get("plan"))
    busy = busy_host(windows, (info.get("host") or {}).get("cpus"))
    return found + ([busy] if busy else [])


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
        f"{line[: -len(advice) - 2]}: {withdrawn}" if line.endswith(f": {advice}") else line
        for line in section.get("summary") or []
    ]
