"""What a run gives the autoscaler simulation: its traffic at real time scale, one replica
(capacity, SLO-percentile curve, mean latency for Little's law, the cluster's pod start),
and the Prometheus counter each server kind exposes for a KEDA trigger to scale on."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import TypeAdapter, ValidationError

from benchctl.analysis.autoscaler_simulation import (
    MeanLatency,
    MeasuredMeans,
    ReplicaModel,
    Traffic,
)
from benchctl.analysis.cluster import ClusterSpec
from benchctl.analysis.fits import LatencyFit
from benchctl.analysis.scaling_model import rate_span
from benchctl.config import Scenario, load_scenario
from benchctl.errors import BenchctlError
from benchctl.plan.shapes import plan_scenario
from benchctl.targets.registry import GENERIC_COUNTER, SERVERS, ServerCounter

# Each server kind's counter is its entry's ``counter`` in benchctl.targets.registry.
SERVER_COUNTERS: dict[str, ServerCounter] = {
    kind: server.counter for kind, server in SERVERS.items()
}


def rate_query(
    kind: str, model: str, namespace: str, window_s: float, *, models: Sequence[str] = ()
) -> str:
    """``sum(rate(<counter>{namespace, model}[window]))``: the model's total request rate
    over all its pods, the number KEDA divides by the replica count.

    ``models``: a model mix's names (target ``models:``); with two or more the selector is
    ``label=~"a|b"`` (PromQL anchors a regex matcher; each name's metacharacters are
    escaped), so the query counts every model of the mix: the traffic the replicas serve,
    in the total rate the mix's capacity is sized in (``analysis.mix_sizing``). With fewer
    than two names: ``model`` alone.

    ``kind``: the server kind (picks its request counter and model label from SERVER_COUNTERS, else
    the generic counter); ``window_s``: the rate() window in seconds. Returns the PromQL text
    (requests/s). Raises nothing of its own.
    """
    counter = SERVER_COUNTERS.get(kind, GENERIC_COUNTER)
    names = list(dict.fromkeys(models))
    if len(names) >= 2:
        pattern = "|".join(_prom_regex_literal(name) for name in names)
        selector = f'{{namespace="{namespace}",{counter.model_label}=~"{pattern}"}}'
    else:
        selector = f'{{namespace="{namespace}",{counter.model_label}="{model}"}}'
    return f"sum(rate({counter.name}{selector}[{_prom_duration(window_s)}]))"


def _prom_regex_literal(name: str) -> str:
    """``name`` as an RE2 literal inside a PromQL double-quoted string: each regex
    metacharacter gets a backslash, written twice (the string's own escape)."""
    return "".join("\\\\" + char if char in _REGEX_META else char for char in name)


_REGEX_META = frozenset(".^$*+?()[]{}|\\")


def _prom_duration(seconds: float) -> str:
    return f"{seconds:g}s" if float(seconds).is_integer() else f"{round(seconds * 1000)}ms"


def traffic_for(
    info: dict[str, Any],
    scenario: str | None,
    config_dir: Path | None,
    peak_rps: float | None,
    run_json: Path | None = None,
) -> tuple[Traffic, Any] | None:
    """Real-time traffic (time scale 1) of ``scenario`` or of the run's own scenario,
    scaled so its peak is ``peak_rps`` when given. None for closed-loop scenarios. A
    replayed trace of arrival times gives the arrivals counted in each second.

    ``info``: run.json's object (read from ``run_json``, named in errors); ``scenario``: a
    scenario name or file (None: the run's own); ``config_dir``: the user's configuration
    folder; ``peak_rps``: requests/s. Returns (Traffic on a 1-second grid, requests/s; the
    scenario spec). Raises InputError (one line, file and field) for a scenario that cannot
    be loaded or a run's replay trace that cannot be read (``specs.path_fields``), pydantic's
    ValidationError or KeyError for a run.json without a valid scenario.
    """
    if scenario:
        spec, _ = load_scenario(scenario, config_dir=config_dir)
    else:
        stored = info["scenario"]["spec"]
        if isinstance(stored, dict) and stored.get("kind") == "replay":
            from benchctl.rundir.names import RUN_JSON
            from benchctl.specs.path_fields import check_stored_path

            where = run_json if run_json is not None else Path(RUN_JSON)
            trace = stored.get("trace")
            check_stored_path(where, "scenario.spec.trace", trace, "or give --traffic SCENARIO")
        spec = TypeAdapter(Scenario).validate_python(stored)
    plan = plan_scenario(spec, 1.0)
    if plan.profile is not None:
        t = np.arange(0.0, plan.duration, 1.0)
        rps = plan.profile.rate_at(t)
    elif plan.arrival_times is not None:  # a replayed trace of arrival times: open loop
        t, rps = _per_second(plan.arrival_times, plan.duration)
    else:
        return None
    if peak_rps and rps.max() > 0:
        rps = rps * (peak_rps / rps.max())
    return Traffic(t, rps), spec


def _per_second(arrival_times: np.ndarray, duration: float) -> tuple[np.ndarray, np.ndarray]:
    """(whole seconds 0, 1, ..., the arrivals in each) for arrival times in seconds."""
    seconds = max(1, math.ceil(duration))
    index = np.clip(np.floor(np.asarray(arrival_times, dtype=float)), 0, seconds - 1)
    counts = np.bincount(index.astype(np.int64), minlength=seconds)[:seconds]
    return np.arange(0.0, seconds, 1.0), counts.astype(float)


def scenario_peak(info: dict[str, Any]) -> float | None:
    """The peak rate (req/s) to size for: the busiest whole second of real time.

    A replay run whose trace can still be read: the most arrivals (or the highest rate) in
    one second of the trace, the traffic the autoscaler simulation runs (``traffic_for``).
    Otherwise run.json's open-loop plan curve (``curve_peak``). None for a closed-loop plan
    or one without a curve.
    """
    spec = ((info.get("scenario") or {}).get("spec")) or {}
    if isinstance(spec, dict) and spec.get("kind") == "replay":
        try:
            found = traffic_for(info, None, None, None)
        except (BenchctlError, ValidationError, KeyError, OSError, ValueError):
            found = None  # the trace is gone or unreadable: the plan's curve
        if found is not None and found[0].rps.size:
            return float(found[0].rps.max())
    return curve_peak(info)


def curve_peak(info: dict[str, Any]) -> float | None:
    """The peak rate (req/s) from run.json's open-loop plan curve: the busiest whole second
    of real time (windows of ``time_scale`` seconds of run time from the start); None for a
    closed-loop plan or one without a curve.

    The curve holds (bin start s, mean rate req/s) over bins of the planned duration, so
    the arrivals A(t) are piecewise linear and a window's rate is (A(t + w) - A(t)) / w
    (a last, partial window over w as well, as a count per second). When every bin is at
    least w wide, the busiest bin's rate (a spike scenario's 200 rps plateau stays
    200 rps, exactly as the curve says); bins narrower than
    w are summed over w, so a replayed trace of arrival times, whose curve counts arrivals
    in bins of duration / 60 (0.25 s for 15 s: 36 arrivals in a bin read as 144 rps), is
    sized for its busiest second, not a quarter of one.
    """
    plan = info.get("plan") or {}
    curve = plan.get("curve") or []
    if not curve or not plan.get("open_loop"):
        return None
    starts = np.array([float(point[0]) for point in curve])
    rates = np.array([float(point[1]) for point in curve])
    widths = np.diff(starts)
    duration = finite_or_none(plan.get("duration"))
    last = widths[-1] if widths.size else 1.0
    end = duration if duration is not None and duration > starts[-1] else starts[-1] + last
    edges = np.append(starts, end)
    mass = np.concatenate(([0.0], np.cumsum(rates * np.diff(edges))))
    scale = finite_or_none((info.get("scenario") or {}).get("time_scale"))
    window = scale if scale is not None and scale > 0 else 1.0
    if window <= np.diff(edges).min():  # every bin holds a window: the busiest bin's rate
        return float(rates.max())
    low = np.arange(edges[0], edges[-1], window)
    if low.size == 0 or low.size > 10_000_000:  # no window, or too many to count: the bins
        return float(rates.max())
    high = np.minimum(low + window, edges[-1])
    busiest = (np.interp(high, edges, mass) - np.interp(low, edges, mass)) / window
    return float(max(busiest.max(), 0.0))


def finite_or_none(value: Any) -> float | None:
    """``value`` as a finite float, else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def mean_latency(
    fit: LatencyFit | None, windows: pd.DataFrame | None, saturation: float
) -> tuple[MeanLatency | None, str]:
    """The mean-latency curve for Little's law and where it comes from.

    With windows that hold mean latencies: base + scale / (x_max - x) fitted to them by
    weighted least squares (relative residuals) with x_max = ``saturation``, the one
    saturation the replica model uses (``served_saturation``: the fit's asymptote only where
    analyze used it as the saturation rate; a rejected one, e.g. r² < 0.9, is not used:
    trial 7 modelled Knative's queueing at a 74.8 rps asymptote declared "not a saturation
    rate" while the run had served 70.2). Else, from the SLO-percentile fit, assuming the
    exponential tail of M/M/1 (mean = quantile part / ln(1 / (1 - q))). Without a fit: the
    measured mean latency (over the requests of every window that measured one, even one
    window: trial 8's 4 s run had one), constant up to ``saturation``; never the SLO bound
    while a mean was measured. (None, reason) with none of these.

    ``fit``: the SLO-percentile latency fit or None; ``windows``: the analysis windows
    (throughput_rps in requests/s, mean_latency_ms in ms) or None; ``saturation``: requests/s.
    Returns (MeanLatency: base in ms, scale in ms x requests/s, x_max in requests/s; the reason as a
    sentence). Raises nothing of its own.
    """
    x_max = saturation  # at least the most the run served (served_saturation, replica_model)
    if fit is None:
        return _measured_constant(measured_means(windows), x_max)
    if windows is not None and {"throughput_rps", "mean_latency_ms"} <= set(windows.columns):
        usable = windows[
            (windows["throughput_rps"] > 0)
            & windows["mean_latency_ms"].gt(0)
            & (windows["throughput_rps"] < x_max)
        ]
        if len(usable) >= 3:
            x = usable["throughput_rps"].to_numpy(float)
            y = usable["mean_latency_ms"].to_numpy(float)
            base, scale = _fit_base_scale(x, y, x_max)
            return MeanLatency(base, scale, x_max), (
                f"measured mean latency of {len(usable)} windows, fitted as base {base:.3g} ms"
                f" + {scale:.3g}/({x_max:.4g} - x){_served_note(fit, x_max)}"
            )
    tail = -math.log(1.0 - fit.quantile)
    return MeanLatency(fit.base_ms, fit.scale / tail, x_max), (
        f"the p{fit.quantile * 100:g} fit over ln(1/(1-q)) = {tail:.2f} (exponential tail)"
        f"{_served_note(fit, x_max)}"
    )


def _measured_constant(
    measured: MeasuredMeans | None, x_max: float
) -> tuple[MeanLatency | None, str]:
    """A constant mean latency up to ``x_max`` (req/s): the mean over the requests of the
    windows that measured one (ms); (None, reason) without any."""
    if measured is None:
        return None, "no latency curve and no mean latency measured: the SLO bound stands in"
    requests = measured.requests
    mean = float((requests * measured.ms).sum() / requests.sum())
    count = int(measured.rps.size)
    at = rate_span(float(measured.rps.min()), float(measured.rps.max()))
    return MeanLatency(mean, 0.0, x_max), (
        f"measured mean latency {mean:.3g} ms over the requests of {count} window"
        f"{'s' * (count != 1)} at {at};"
        " no latency curve fitted: constant up to saturation"
    )


STEADY_SHARE = 0.05  # a window is steady when it served what arrived in it within this share


def measured_means(windows: pd.DataFrame | None) -> MeasuredMeans | None:
    """The analysis windows' measured mean latencies (``MeasuredMeans``): each window with
    successes and a mean latency, its throughput (req/s), mean (ms) and successes
    (throughput x ``seconds``, the part of it measured; 1 s without that column). Where
    ``offered_rps`` is known, only the steady windows (served within ``STEADY_SHARE`` of what
    arrived) when any is: an overloaded window's mean, or a draining one's (it serves more
    than arrives), is a backlog's wait, not a pod's steady latency at that throughput (make
    demo's search: 69.4 rps served of 58.0 arriving at a 1,871 ms mean, against 52.5 ms at
    61.8 of 61.4). None without such a window."""
    if windows is None or not {"throughput_rps", "mean_latency_ms"} <= set(windows.columns):
        return None
    rps = windows["throughput_rps"].to_numpy(float)
    ms = windows["mean_latency_ms"].to_numpy(float)
    seconds = windows["seconds"].to_numpy(float) if "seconds" in windows else np.ones_like(rps)
    keep = np.isfinite(rps) & (rps > 0) & np.isfinite(ms) & (ms > 0) & (seconds > 0)
    if "offered_rps" in windows:
        offered = windows["offered_rps"].to_numpy(float)
        steady = keep & (np.abs(rps - offered) <= STEADY_SHARE * offered)
        keep = steady if steady.any() else keep
    if not keep.any():
        return None
    return MeasuredMeans(rps[keep], ms[keep], rps[keep] * seconds[keep])


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
    where its mean latency comes from.

    ``single``: capacity.json's single-replica section (capacity_rps, saturation_rps in requests/s);
    ``fit``: the latency fit or None; ``slo_ms``: the SLO bound (ms); ``cluster``: pod and node
    start times (s), pool size; ``windows``: the analysis windows. Returns (ReplicaModel; the mean
    latency's source). Raises KeyError without ``capacity_rps``.
    """
    capacity = single["capacity_rps"]
    saturation = served_saturation(single)
    mean, source = mean_latency(fit, windows, saturation)
    model = ReplicaModel(
        capacity_rps=capacity,
        max_rps=saturation,
        latency_ms=replica_latency(fit, capacity, slo_ms),
        cold_start_s=cluster.pod_start_s,
        slo_ms=slo_ms,
        mean=mean,
        node_start_s=cluster.node_provision,
        pool_pods=cluster.pool_pods,
        measured=measured_means(windows),
    )
    return model, source


def replica_latency(fit: LatencyFit | None, capacity: float, slo_ms: float) -> Any:
    """The SLO percentile (ms) of one replica at a per-replica rate, as the simulations
    judge it: never above ``slo_ms`` up to ``capacity`` (req/s, measured to meet the SLO:
    the run's own figure, at least what it served within the SLO), the fitted curve's
    value below that where lower and beyond it. A fitted asymptote below ``capacity`` is
    refuted by the run (trial 6, Triton spike: x_max 147.6 req/s, while the burst phase
    served 190.0 req/s at p99 14.7 ms, so the simulation called a replica at 150-190
    req/s saturated). Without a fit: ``slo_ms`` up to ``capacity``, inf beyond. Above
    capacity a step is violated whatever its latency (``scaling_steps``), and what a
    replica serves is capped by the model's ``max_rps``, not by this curve.

    Returns a function of a rate or an array of rates (req/s) giving ms. Raises nothing.
    """

    def latency(rate: Any) -> Any:
        x = np.asarray(rate, dtype=float)
        if fit is None:
            return np.where(x <= capacity, slo_ms, np.inf)
        predicted = np.asarray(fit.predict(x), dtype=float)
        out = np.where(x <= capacity, np.minimum(predicted, slo_ms), predicted)
        return float(out) if out.ndim == 0 else out

    return latency


def served_saturation(single: dict[str, Any]) -> float:
    """The rate (requests/s) one replica is modelled to serve at most: the larger of
    capacity.json ``single_replica``'s ``capacity_rps``, ``saturation_rps`` and
    ``saturation_at_least_rps`` (the most the run served, where the fit's asymptote was not
    used). Never below a throughput the run measured (trial 6: the Knative line modelled
    queueing at a fitted 147.6 req/s though the burst served 191.3). KeyError without
    ``capacity_rps``."""
    capacity = float(single["capacity_rps"])
    known = [single.get("saturation_rps"), single.get("saturation_at_least_rps")]
    return max([capacity] + [float(v) for v in known if v is not None and math.isfinite(v)])


def _served_note(fit: LatencyFit, x_max: float) -> str:
    """Why x_max is not the fit's asymptote (which lies below it, or was not used as a
    saturation rate); '' when x_max is the asymptote (to 4 significant digits)."""
    if f"{x_max:.4g}" == f"{fit.x_max:.4g}":
        return ""
    if x_max > fit.x_max:
        return (
            f"; {x_max:.4g} rps is the most the run served, a lower bound on saturation "
            f"(the fit's asymptote {fit.x_max:.4g} rps lies below it)"
        )
    return (
        f"; x_max {x_max:.4g} rps, the largest of the capacity, the saturation rate and the"
        f" most the run served (the fit's asymptote {fit.x_max:.4g} rps is not a saturation"
        " rate here)"
    )
