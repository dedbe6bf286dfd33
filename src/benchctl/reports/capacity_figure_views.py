"""The figures of a run report's capacity parts and the notes shown in their place: the
latency-vs-throughput and USL curves from capacity.json, the simulated autoscaling timeline
from autoscale.parquet, the telemetry figures from telemetry_windows.parquet (drawn by
``capacity_figures``). Each never raises for a missing or damaged file: it says why instead.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from benchctl.analysis.slo import Slo
from benchctl.reports import capacity_figures as cf
from benchctl.reports.figures import Phase
from benchctl.reports.views import FigureView, as_dict, is_number, num
from benchctl.rundir import ABSENT, CAPACITY, read_optional_parquet
from benchctl.rundir import AUTOSCALE_TIMELINE as TIMELINE
from benchctl.rundir import TELEMETRY_WINDOWS as WINDOWS

MIB = 1024.0**2
GIB = 1024.0**3


@dataclass(frozen=True)
class TelemetrySpec:
    """One telemetry figure: its series (columns absent from the run are left out)."""

    title: str
    prefix: str
    ylabel: str  # "bytes": shown in MiB or GiB
    series: tuple[cf.Series, ...]
    caption: str


_CPU: tuple[cf.Series, ...] = (
    ("host_cpu_percent", "host, % of all cores", "#7f7f7f"),
    ("server_cpu_percent", "server process tree, % of one core", "#1f77b4"),
    ("generator_cpu_percent", "load generator (busiest process), % of one core", "#ff7f0e"),
)
_GPU: tuple[cf.Series, ...] = (
    ("gpu_utilization_percent", "GPU utilization (mean over the host's GPUs)", "#2ca02c"),
)
_SERVER: tuple[cf.Series, ...] = (
    ("server_queue_ms", "queued", "#d62728"),
    ("server_compute_ms", "computing", "#1f77b4"),
)
_MEMORY: tuple[cf.Series, ...] = (
    ("server_rss_bytes", "server process tree RSS", "#1f77b4"),
    ("gpu_memory_used_bytes", "GPU memory used (all GPUs)", "#2ca02c"),
)
_TELEMETRY = (
    TelemetrySpec("CPU utilization", "tel-cpu", "CPU percent", _CPU,
        "Host CPU is a share of all cores; the server tree and the generator are per core "
        "(200% = two cores busy). A generator near 100% of a core makes the latencies its own."),
    TelemetrySpec("GPU utilization", "tel-gpu", "percent of time busy", _GPU,
        "NVML utilization: the share of time a kernel was running, not how full the GPU was."),
    TelemetrySpec("Server time per request: queued vs computing", "tel-server", "ms per request",
        _SERVER, "As the server reports it (Prometheus metrics). Queue time rising while "
        "compute time stays flat is saturation."),
    TelemetrySpec("Memory", "tel-memory", "bytes", _MEMORY,
        "Resident memory of the server's process tree, and GPU memory in use when sampled."),
)  # fmt: skip


def curve_figures(doc: dict[str, Any], slo: Slo | None) -> tuple[list[FigureView], list[str]]:
    """From capacity.json (``doc``): the latency-vs-throughput curve (with the SLO line when
    ``slo`` parses) and the USL curve of closed-loop levels; notes for those not drawn."""
    notes: list[str] = []
    figures = []
    curve = _latency_curve(doc, slo)
    if curve is None:
        notes.append(f"No latency curve: {CAPACITY} has no measured points or no valid SLO.")
    else:
        figures.append(
            FigureView(
                "Latency vs throughput", cf.latency_curve_figure(curve), _curve_caption(doc, curve)
            )
        )
    usl = as_dict(doc.get("usl"))
    if usl.get("error"):
        notes.append(f"No USL curve: the fit failed ({usl['error']}).")
    elif usl and (usl_curve := _usl_curve(doc, usl)) is not None:
        caption = (
            f"Dots: throughput measured at each concurrency level; line: the Universal "
            f"Scalability Law fit (r² {usl.get('r2', float('nan')):.3f}), dashed and hatched "
            "beyond the highest measured concurrency. σ measures contention, κ coherency cost."
        )
        figures.append(FigureView("Throughput vs concurrency", cf.usl_figure(usl_curve), caption))
    return figures, notes


def _latency_curve(doc: dict[str, Any], slo: Slo | None) -> cf.LatencyCurve | None:
    points, single = as_dict(doc.get("points")), as_dict(doc.get("single_replica"))
    xs, ys = _numbers(points.get("throughput_rps")), _numbers(points.get("latency_ms"))
    if slo is None or not xs or len(xs) != len(ys):
        return None
    fit = as_dict(single.get("fit"))
    fitted = None
    if all(is_number(fit.get(k)) for k in ("base_ms", "scale", "x_max")):
        fitted = cf.LatencyFitCurve(fit["base_ms"], fit["scale"], fit["x_max"])
    measured_max = fit.get("measured_max_throughput")
    lower, upper = single.get("lower_rps"), single.get("upper_rps")
    return cf.LatencyCurve(
        throughput=xs,
        latency_ms=ys,
        percentile=slo.column,
        slo_ms=slo.threshold_ms,
        capacity_rps=num(single.get("capacity_rps")),
        band=(lower, upper) if is_number(lower) and is_number(upper) else None,
        knee_rps=num(single.get("knee_rps")),
        measured_max_rps=measured_max if is_number(measured_max) else max(xs),
        extrapolated=bool(single.get("extrapolated")),
        fit=fitted,
        bound=str(single.get("bound") or "measured"),
        upper_source=str(single.get("upper_bound_source") or "first_bad_level"),
    )


def _curve_caption(doc: dict[str, Any], curve: cf.LatencyCurve) -> str:
    source = as_dict(doc.get("points")).get("source")
    # trial 8: a search's points ("search") were captioned "one per window"
    per = {"levels": "load level", "search": "search level"}.get(str(source), "window")
    text = f"Dots: the measured {curve.percentile} of successful requests, one per {per}. "
    if curve.fit is None:
        return text + "No curve was fitted; the capacity is the highest measured point meeting it."
    fit = as_dict(as_dict(doc.get("single_replica")).get("fit"))
    r2 = fit.get("r2")
    quality = f" (r² {r2:.3f}, {fit.get('n_points', '?')} points)" if is_number(r2) else ""
    return text + (
        f"Line: the fit L(x) = base + scale / (x_max − x){quality}, dashed where it is "
        "extrapolated (hatched: beyond the highest measured throughput) and never drawn past "
        "x_max, where it diverges. Green: the capacity under the SLO with its 5–95% band; "
        "diamond: the knee, where latency reaches twice its zero-load value."
    )


def _usl_curve(doc: dict[str, Any], usl: dict[str, Any]) -> cf.UslCurve | None:
    points = as_dict(doc.get("points"))
    labels = [str(label) for label in points.get("labels") or []]
    found = [re.fullmatch(r"c=(\d+)", label) for label in labels]
    xs = _numbers(points.get("throughput_rps"))
    needed = ("lambda_", "sigma", "kappa", "measured_max_concurrency")
    if not found or not all(found) or len(xs) != len(found):
        return None
    if not all(is_number(usl.get(k)) for k in needed):
        return None
    peak = usl.get("peak_concurrency")
    return cf.UslCurve(
        concurrency=[float(m.group(1)) for m in found if m],
        throughput=xs,
        lambda_=usl["lambda_"],
        sigma=usl["sigma"],
        kappa=usl["kappa"],
        peak_concurrency=peak if is_number(peak) else float("inf"),
        measured_max_concurrency=usl["measured_max_concurrency"],
    )


def scaling_figure(
    run_dir: Path, doc: dict[str, Any] | None, command: str
) -> tuple[FigureView | None, str | None]:
    """The simulated replicas over time (autoscale.parquet) against one replica's capacity
    from capacity.json (``doc``), or None and why not (naming ``command`` to make it)."""
    frame = _read_parquet(run_dir / TIMELINE)
    if isinstance(frame, str):
        skipped = as_dict(as_dict(doc).get("autoscaling")).get("skipped") if doc else None
        if skipped:
            return None, f"No autoscaler simulation: {skipped}."
        return None, f"No autoscaler simulation: {frame}. Run `{command}` to simulate HPA and KPA."
    if frame.empty or not {"t", "offered_rps"} <= set(frame.columns):
        return None, f"No autoscaler simulation: {TIMELINE} holds no timeline."
    capacity = num(as_dict(as_dict(doc).get("single_replica")).get("capacity_rps"))
    seconds = as_dict(as_dict(doc).get("autoscaling")).get("cold_start_s")
    cold = f" with a {seconds:g} s cold start" if is_number(seconds) else ""
    caption = (
        f"The autoscaler settings the analysis chose, simulated against the scenario's traffic at "
        f"real time scale{cold}. Solid: replicas that exist (billed); dotted: replicas ready "
        "to serve; dashed: replicas needed at one replica's capacity. Shaded: seconds in which "
        "the SLO was violated."
    )
    return FigureView("Simulated autoscaling", cf.replicas_figure(frame, capacity), caption), None


def telemetry_figures(
    run_dir: Path, phases: Sequence[Phase], duration: float
) -> tuple[list[FigureView], str | None]:
    """One figure per telemetry group with data in telemetry_windows.parquet (``phases``
    shaded, x axis 0..``duration`` s), or [] and why not."""
    frame = _read_parquet(run_dir / WINDOWS)
    if isinstance(frame, str):
        return [], (
            f"No telemetry: {frame}. `benchctl run` records it (host, server processes, GPU, "
            "server metrics) unless `--no-telemetry` is given."
        )
    if "t" not in frame or frame.empty:
        return [], f"No telemetry: {WINDOWS} holds no windows."
    views = []
    for spec in _TELEMETRY:
        if not cf.present(frame, spec.series):
            continue
        ylabel, scale = _unit(frame, spec)
        svg = cf.telemetry_figure(
            frame,
            spec.series,
            title=spec.title,
            ylabel=ylabel,
            prefix=spec.prefix,
            phases=phases,
            duration=duration,
            scale=scale,
        )
        caption = f"Mean per {_width(frame):g} s window. {spec.caption}"
        views.append(FigureView(spec.title, svg, caption))
    note = None if views else f"No telemetry: every series in {WINDOWS} is empty."
    return views, note


def _unit(frame: pd.DataFrame, spec: TelemetrySpec) -> tuple[str, float]:
    """The y label and the factor to it; bytes become MiB or GiB."""
    if spec.ylabel != "bytes":
        return spec.ylabel, 1.0
    peak = max(float(frame[column].max()) for column, _, _ in cf.present(frame, spec.series))
    return ("GiB", 1 / GIB) if peak >= GIB else ("MiB", 1 / MIB)


def _width(frame: pd.DataFrame) -> float:
    times = frame["t"].to_numpy(dtype=float)
    return float(pd.Series(times).diff().median()) if len(times) > 1 else 5.0


def _read_parquet(path: Path) -> pd.DataFrame | str:
    """The table at ``path``, or why it could not be read."""
    read = read_optional_parquet(path)
    if read.problem == ABSENT:
        return f"{path.name} is absent"
    if read.problem is not None:
        exc = read.error
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return f"{path.name} could not be read ({first})"
    return read.frame


def _numbers(value: Any) -> list[float]:
    items = value if isinstance(value, list) else []
    return [float(v) for v in items if is_number(v)]
