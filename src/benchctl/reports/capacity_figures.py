"""Capacity-report figures as inline SVG: latency vs throughput with its fit, the USL curve,
the simulated replica count, and telemetry over time. Matplotlib's object API only, through
the helpers of ``benchctl.reports.figures``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.ticker import FuncFormatter, MaxNLocator

from benchctl.reports.figures import LOG_RATIO, Phase, _figure, _finish, _svg, _time_figure

Series = tuple[str, str, str]  # column, legend label, colour

_COLORS = {
    "measured": "#1d232b",
    "fit": "#1f77b4",
    "slo": "#d62728",
    "capacity": "#2ca02c",
    "knee": "#9467bd",
    "limit": "#7f7f7f",
    "offered": "#c7c7c7",
    "needed": "#444444",
}
_BEYOND = {"facecolor": "none", "edgecolor": "#bdbdbd", "hatch": "///", "lw": 0, "zorder": 0}
_BEYOND_LABEL = "beyond the highest measured load (extrapolated)"
_GRID = 600
_TALL = (9.0, 4.4)  # room for a three-row legend
# autoscale.parquet prefix -> (legend label, colour)
_POLICIES = {
    "hpa": ("HPA (chosen)", "#1f77b4"),
    "kpa": ("Knative KPA (chosen)", "#9467bd"),
    "reactive": ("HPA, most reactive candidate", "#ff7f0e"),
}


@dataclass(frozen=True)
class LatencyFitCurve:
    """L(x) = base_ms + scale / (x_max - x); defined only below x_max."""

    base_ms: float
    scale: float
    x_max: float

    def latency(self, x: np.ndarray) -> np.ndarray:
        """The fitted latency (ms) at throughputs ``x`` (requests/s, any shape, each below
        ``x_max``): base_ms + scale / (x_max - x), the form of ``analysis.fits.LatencyFit``
        (for M/M/1 the q-quantile of response time is -ln(1-q) / (mu - x)). Same shape as
        ``x``; x >= x_max gives inf or a negative number (numpy, no error): the caller draws
        only below x_max.
        """
        return self.base_ms + self.scale / (self.x_max - x)


@dataclass(frozen=True)
class LatencyCurve:
    """What the latency-vs-throughput figure draws (from capacity.json)."""

    throughput: Sequence[float]
    latency_ms: Sequence[float]
    percentile: str  # "p99"
    slo_ms: float
    capacity_rps: float | None
    band: tuple[float, float] | None
    knee_rps: float | None
    measured_max_rps: float
    extrapolated: bool
    fit: LatencyFitCurve | None
    bound: str = "measured"  # "measured": band brackets the crossing; "lower": at least band[0]
    # ("upper": a model mix's capacity is below band[1], analysis/mix_sizing.py)
    upper_source: str = "first_bad_level"  # what sets band[1]; "none": unbounded above


@dataclass(frozen=True)
class UslCurve:
    """X(N) = λN / (1 + σ(N-1) + κN(N-1)) and the points it was fitted to."""

    concurrency: Sequence[float]
    throughput: Sequence[float]
    lambda_: float
    sigma: float
    kappa: float
    peak_concurrency: float
    measured_max_concurrency: float

    def predict(self, n: np.ndarray) -> np.ndarray:
        """Throughput (requests/s) at concurrencies ``n`` (in-flight requests, any shape) by
        Gunther's Universal Scalability Law, X(N) = lambda N / (1 + sigma (N-1) + kappa N (N-1)).
        Same shape as ``n``; raises nothing (numpy arithmetic).
        """
        return self.lambda_ * n / (1 + self.sigma * (n - 1) + self.kappa * n * (n - 1))


# --------------------------------------------------------------------------- latency curve


def latency_curve_figure(curve: LatencyCurve) -> str:
    """Measured percentile vs throughput, the fitted curve, SLO, capacity band and knee."""
    fig, ax = _figure(_TALL)
    right = _curve_right(curve)
    low, top, log = _latency_range(curve)
    if right > curve.measured_max_rps:
        ax.axvspan(curve.measured_max_rps, right, label=_BEYOND_LABEL, **_BEYOND)
    if curve.band is not None:
        low_rps, high_rps = curve.band
        ax.axvspan(
            low_rps,
            min(high_rps, right) if curve.bound in ("measured", "upper") else right,
            color=_COLORS["capacity"],
            alpha=0.15,
            lw=0,
            label=_band_label(curve, low_rps, high_rps, right),
        )
    if curve.fit is not None:
        _draw_latency_fit(ax, curve.fit, curve.measured_max_rps, right, top)
    slo = f"SLO {curve.percentile} ≤ {curve.slo_ms:g} ms"
    _rule(ax, "y", curve.slo_ms, "slo", slo, ls="--", lw=1.3)
    if curve.capacity_rps is not None:
        note = " (extrapolated)" if curve.extrapolated else ""
        at_least = "at least " if curve.bound == "lower" else ""
        capacity = f"capacity {at_least}{curve.capacity_rps:,.1f} req/s{note}"
        _rule(ax, "x", curve.capacity_rps, "capacity", capacity, lw=1.8)
    if curve.knee_rps is not None and curve.fit is not None and curve.knee_rps < right:
        knee = float(curve.fit.latency(np.array(curve.knee_rps)))
        label = f"knee {curve.knee_rps:,.1f} req/s (latency 2× zero-load)"
        _diamond(ax, curve.knee_rps, knee, label)
    _measured(ax, curve.throughput, curve.latency_ms, f"measured {curve.percentile}")
    ax.set_xlim(0, right)
    _latency_axis(ax, low, top, log, curve.percentile)
    title = f"{curve.percentile} latency vs throughput of one replica: measured and fitted"
    _finish(fig, ax, title, 0.0, xlabel="throughput (successful requests / s)", ncols=3)
    return _svg(fig, "curve", title)


def _curve_right(curve: LatencyCurve) -> float:
    """Right edge of the x axis: the measured range with a margin.

    The band's high end and the fit's x_max widen it only when they lie within 1.5× the
    measured range, so a far bound (or a runaway fit) never squeezes the data to x = 0.
    """
    values = [curve.measured_max_rps, *curve.throughput, curve.capacity_rps or 0.0]
    if curve.band is not None:
        values.append(curve.band[0])
    finite = [v for v in values if math.isfinite(v)]
    base = max(finite) if finite else 0.0
    if curve.band is not None and math.isfinite(curve.band[1]) and curve.band[1] <= base * 1.5:
        base = max(base, curve.band[1])
    if curve.fit is not None and curve.fit.x_max <= base * 1.5:
        base = max(base, curve.fit.x_max)
    return base * 1.12 if base > 0 else 1.0


def _band_label(curve: LatencyCurve, low: float, high: float, right: float) -> str:
    """What the shaded capacity band means, said plainly (an open band says so)."""
    if curve.bound == "measured":
        return f"SLO crossing between measured levels ({low:,.1f}–{high:,.1f} req/s)"
    if curve.bound == "upper":  # a model mix whose limiting model broke at every level
        return f"capacity < {high:,.1f} req/s: a model of the mix broke its SLO everywhere judged"
    if curve.upper_source == "none" or high <= low:
        return f"capacity ≥ {low:,.1f} req/s: unbounded above (the SLO never broke)"
    where = "" if high <= right else ", off the chart"
    return f"capacity ≥ {low:,.1f} req/s, ≤ {high:,.1f} (service demand{where})"


def _latency_range(curve: LatencyCurve) -> tuple[float, float, bool]:
    values = np.asarray([*curve.latency_ms, curve.slo_ms], dtype=float)
    values = values[np.isfinite(values) & (values > 0)]
    log = bool(len(values)) and values.max() / values.min() > LOG_RATIO
    if log:
        return values.min() / 1.5, values.max() * 1.5, True
    return 0.0, max(values.max() * 1.15, curve.slo_ms * 1.5), False


def _draw_latency_fit(
    ax: Axes, fit: LatencyFitCurve, measured_max: float, right: float, top: float
) -> None:
    """Solid over the measured range, dashed beyond it, never at or past x_max."""
    end = min(fit.x_max, right)
    xs = np.union1d(np.linspace(0.0, end, _GRID), [min(measured_max, end)])
    xs = xs[xs < fit.x_max]
    ys = fit.latency(xs)
    ys[ys > top * 1.05] = np.nan  # the curve climbs off the chart towards x_max
    inside = xs <= measured_max
    fit_label = "fit L(x) = base + scale / (x_max − x)"
    _fit_lines(ax, xs, ys, inside, fit_label, "fit, extrapolated", always=False)
    if fit.x_max <= right:
        saturation = f"x_max {fit.x_max:,.1f} req/s (the fit's asymptote)"  # not measured
        _rule(ax, "x", fit.x_max, "limit", saturation, ls=":", lw=1.2)


def _latency_axis(ax: Axes, low: float, top: float, log: bool, percentile: str) -> None:
    if log:
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
        ax.set_ylabel(f"{percentile} latency (ms, log scale)")
    else:
        ax.set_ylabel(f"{percentile} latency (ms)")
    ax.set_ylim(low, top)


def _fit_lines(
    ax: Axes,
    xs: np.ndarray,
    ys: np.ndarray,
    inside: np.ndarray,
    label: str,
    beyond_label: str,
    *,
    always: bool,
) -> None:
    """A fitted curve: solid where ``inside`` the measured range, dashed beyond it (drawn,
    with its legend entry, even when empty if ``always``)."""
    ax.plot(xs[inside], ys[inside], color=_COLORS["fit"], lw=1.8, label=label)
    if always or (~inside).any():
        ax.plot(xs[~inside], ys[~inside], color=_COLORS["fit"], lw=1.8, ls="--", label=beyond_label)


def _rule(ax: Axes, axis: str, at: float, color: str, label: str, **style: Any) -> None:
    """A labelled reference line across the plot: at y = ``at`` when ``axis`` is "y" (the
    SLO), else at x = ``at`` (a capacity, the fitted saturation); ``color`` a key of
    ``_COLORS``; ``style``: matplotlib line properties (``ls``, ``lw``)."""
    draw = ax.axhline if axis == "y" else ax.axvline
    draw(at, color=_COLORS[color], label=label, **style)


def _diamond(ax: Axes, x: float, y: float, label: str) -> None:
    """A marked point on a fitted curve (the knee, the USL peak)."""
    ax.plot([x], [y], "D", color=_COLORS["knee"], ms=7, zorder=6, label=label)


def _measured(ax: Axes, xs: Sequence[float], ys: Sequence[float], label: str) -> None:
    """The measured points, drawn above the fits."""
    ax.plot(xs, ys, "o", color=_COLORS["measured"], ms=5, zorder=7, label=label)


# --------------------------------------------------------------------------- USL


def usl_figure(usl: UslCurve) -> str:
    """Throughput vs concurrency: measured points, the USL fit (dashed beyond the data)."""
    fig, ax = _figure(_TALL)
    measured = usl.measured_max_concurrency
    right = measured * 1.5
    if math.isfinite(usl.peak_concurrency) and usl.peak_concurrency < measured * 3:
        right = max(right, usl.peak_concurrency * 1.15)
    ax.axvspan(measured, right, label=_BEYOND_LABEL, **_BEYOND)
    ns = np.union1d(np.linspace(1.0, right, _GRID), [measured])
    xs = usl.predict(ns)
    inside = ns <= measured
    ax.plot(ns, usl.lambda_ * ns, color=_COLORS["limit"], ls=":", lw=1, label="linear scaling (λN)")
    fit_label = f"USL fit (σ {usl.sigma:.3g}, κ {usl.kappa:.3g})"
    _fit_lines(ax, ns, xs, inside, fit_label, "USL fit, extrapolated", always=True)
    if math.isfinite(usl.peak_concurrency) and usl.peak_concurrency <= right:
        peak = float(usl.predict(np.array(usl.peak_concurrency)))
        label = f"peak {peak:,.1f} req/s at {usl.peak_concurrency:,.1f} in flight"
        _diamond(ax, usl.peak_concurrency, peak, label)
    _measured(ax, usl.concurrency, usl.throughput, "measured")
    top = max([*usl.throughput, float(np.nanmax(xs))])
    ax.set_xlim(0, right)
    ax.set_ylim(0, top * 1.2)
    ax.set_ylabel("throughput (successful requests / s)")
    title = "Throughput vs concurrency: Universal Scalability Law"
    _finish(fig, ax, title, 0.0, xlabel="concurrency (requests in flight)", ncols=3)
    return _svg(fig, "usl", title)


# --------------------------------------------------------------------------- autoscaling


def replicas_figure(frame: pd.DataFrame, capacity_rps: float | None) -> str:
    """Simulated replicas (and ready ones) of each autoscaler over the offered traffic."""
    fig, ax = _figure(_TALL)
    t = frame["t"].to_numpy(dtype=float)
    dt = float(np.median(np.diff(t))) if len(t) > 1 else 1.0
    offered = frame["offered_rps"].to_numpy(dtype=float)
    ax.fill_between(
        t,
        offered,
        step="post",
        color=_COLORS["offered"],
        alpha=0.6,
        lw=0,
        label="offered traffic (left axis)",
    )
    ax.set_ylabel("offered requests / s")
    ax.set_ylim(bottom=0)
    twin = ax.twinx()
    top = 1.0
    for name in _shown_policies(frame):
        top = max(top, _draw_policy(ax, twin, frame, name, dt))
    if capacity_rps:
        needed = np.maximum(1, np.ceil(offered / capacity_rps - 1e-9))
        twin.step(
            t,
            needed,
            where="post",
            color=_COLORS["needed"],
            ls="--",
            lw=1,
            label="replicas needed at capacity",
        )
        top = max(top, float(needed.max()))
    twin.set_ylabel("replicas")
    twin.set_ylim(0, top * 1.15 + 0.5)
    twin.yaxis.set_major_locator(MaxNLocator(integer=True))
    title = "Simulated replicas over the traffic (shaded: seconds the SLO is violated)"
    xlabel = "time in the simulated traffic (s, real time scale)"
    _finish(fig, ax, title, 0.0, extra=twin, xlabel=xlabel, ncols=3)
    ax.set_xlim(t[0], t[-1] + dt)
    return _svg(fig, "replicas", title)


def _shown_policies(frame: pd.DataFrame) -> list[str]:
    """Policies with columns; the reactive candidate only when it differs from the HPA."""
    names = [n for n in _POLICIES if f"{n}_replicas" in frame and f"{n}_ready" in frame]
    if {"hpa", "reactive"} <= set(names) and frame["reactive_replicas"].equals(
        frame["hpa_replicas"]
    ):
        names.remove("reactive")
    return names


def _draw_policy(ax: Axes, twin: Axes, frame: pd.DataFrame, name: str, dt: float) -> float:
    label, color = _POLICIES[name]
    t = frame["t"].to_numpy(dtype=float)
    replicas = frame[f"{name}_replicas"].to_numpy(dtype=float)
    twin.step(t, replicas, where="post", color=color, lw=1.7, label=f"{label}: replicas")
    twin.step(
        t, frame[f"{name}_ready"], where="post", color=color, lw=1, ls=":", label=f"{label}: ready"
    )
    column = f"{name}_violated"
    violated = frame[column].to_numpy(dtype=bool) if column in frame else np.zeros(len(t), bool)
    seconds = float(violated.sum() * dt)
    for index, (start, end) in enumerate(_runs(violated)):
        ax.axvspan(
            t[start],
            t[end - 1] + dt,
            color=color,
            alpha=0.18,
            lw=0,
            zorder=0,
            label=f"{label}: SLO violated ({seconds:g} s)" if index == 0 else "_nolegend_",
        )
    return float(np.nanmax(replicas)) if len(replicas) else 1.0


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) index ranges where ``mask`` is True."""
    padded = np.concatenate([[False], mask, [False]]).astype(int)
    changes = np.flatnonzero(np.diff(padded))
    return list(zip(changes[::2].tolist(), changes[1::2].tolist(), strict=True))


# --------------------------------------------------------------------------- telemetry


def present(frame: pd.DataFrame, series: Sequence[Series]) -> list[Series]:
    """The series whose column exists and holds at least one finite value."""
    return [s for s in series if s[0] in frame and np.isfinite(frame[s[0]].to_numpy(float)).any()]


def telemetry_figure(
    frame: pd.DataFrame,
    series: Sequence[Series],
    *,
    title: str,
    ylabel: str,
    prefix: str,
    phases: Sequence[Phase],
    duration: float,
    scale: float = 1.0,
) -> str:
    """Per-window telemetry lines (``present`` series only) on the run's time axis."""
    fig, ax = _time_figure(phases)
    t = frame["t"].to_numpy(dtype=float)
    width = float(np.median(np.diff(t))) if len(t) > 1 else 5.0
    peak = 0.0
    for column, label, color in present(frame, series):
        values = frame[column].to_numpy(dtype=float) * scale
        ax.plot(t + width / 2, values, color=color, lw=1.3, marker=".", ms=3, label=label)
        if np.isfinite(values).any():
            peak = max(peak, float(np.nanmax(values)))
    # A flat series (resident memory) would sit on the axis' top edge: leave room above it.
    ax.set_ylim(0, peak * 1.15 if peak > 0 else 1.0)
    ax.set_ylabel(ylabel)
    _finish(fig, ax, title, duration, ncols=2)
    return _svg(fig, prefix, title)
