"""Report figures as inline SVG strings: matplotlib's object API only (no pyplot, no rcParams).

Every figure shares the time axis (seconds since run start, by intended send time) and the
phase shading, and takes the per-window frame of ``benchctl.analysis.summary.windows``.
"""

from __future__ import annotations

import html
import io
import re
from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

Phase = tuple[str, float, float]  # name, start s, end s
Point = tuple[float, float]  # time s, target rate or concurrency

WIDTHS = (1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)
MAX_WINDOWS = 200
LOG_RATIO = 50.0  # latency axis turns logarithmic above this max/min ratio
TIME_LABEL = "time since start (s)"

_SIZE = (9.0, 3.4)
_COLORS = {
    "target": "#555555",
    "offered": "#1f77b4",
    "achieved": "#2ca02c",
    "p50": "#1f77b4",
    "p95": "#ff7f0e",
    "p99": "#d62728",
    "errors": "#d62728",
    "dropped": "#f0a030",
}
# Phase name -> (fill colour, legend label); other phases get a dotted boundary line.
_SHADES = {
    "warmup": ("#d9d9d9", "warm-up (excluded)"),
    "burst": ("#fdd49e", "burst"),
    "rise": ("#feedd6", "rise / fall"),
    "fall": ("#feedd6", "rise / fall"),
}


def window_width(duration: float) -> float:
    """Window length (s) from WIDTHS that gives at most MAX_WINDOWS windows (about 60-200)."""
    for width in WIDTHS:
        if duration / width <= MAX_WINDOWS:
            return float(width)
    return float(WIDTHS[-1])


def rate_figure(
    win: pd.DataFrame | None,
    width: float,
    *,
    curve: Sequence[Point],
    phases: Sequence[Phase],
    duration: float,
    open_loop: bool,
) -> str:
    """Target (plan) vs offered vs achieved request rate; closed loop: concurrency on the right."""
    fig, ax = _time_figure(phases)
    twin = None
    times = [t for t, _ in curve]
    values = [v for _, v in curve]
    if curve and open_loop:
        ax.plot(times, values, color=_COLORS["target"], ls="--", lw=1.4, label="target (plan)")
    if win is not None and not win.empty:
        mid = win["t"] + width / 2
        ax.plot(mid, win["offered_rps"], color=_COLORS["offered"], lw=1.2, label="offered")
        ax.plot(mid, win["achieved_rps"], color=_COLORS["achieved"], lw=1.4, label="achieved (ok)")
    if curve and not open_loop:
        twin = ax.twinx()
        end = max(duration, times[-1])
        twin.step(
            [*times, end],
            [*values, values[-1]],
            where="post",
            color=_COLORS["target"],
            ls="--",
            lw=1.4,
            label="concurrency (plan)",
        )
        twin.set_ylabel("concurrent requests")
        twin.set_ylim(bottom=0)
        twin.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("requests / s")
    ax.set_ylim(bottom=0)
    title = "Request rate: " + (
        "target vs offered vs achieved" if open_loop else "offered vs achieved, planned concurrency"
    )
    _finish(fig, ax, title, duration, extra=twin)
    return _svg(fig, "rate", title)


def latency_figure(
    win: pd.DataFrame, width: float, *, phases: Sequence[Phase], duration: float
) -> str:
    """p50/p95/p99 latency per window (ms), logarithmic when the range is wide."""
    fig, ax = _time_figure(phases)
    mid = win["t"] + width / 2
    for name in ("p50", "p95", "p99"):
        ax.plot(mid, win[name], color=_COLORS[name], lw=1.3, label=name)
    latency_axis(ax, win[["p50", "p95", "p99"]].to_numpy(dtype=float).ravel())
    title = f"Latency percentiles per {width:g} s window (successful requests)"
    _finish(fig, ax, title, duration)
    return _svg(fig, "latency", title)


def errors_figure(
    win: pd.DataFrame, width: float, *, phases: Sequence[Phase], duration: float
) -> str:
    """Errors and dropped requests per window, stacked."""
    fig, ax = _time_figure(phases)
    errors = win["errors"].to_numpy(dtype=float)
    dropped = win["dropped"].to_numpy(dtype=float)
    bars = {"width": width, "align": "edge", "linewidth": 0}
    ax.bar(win["t"], errors, color=_COLORS["errors"], label="errors", **bars)
    ax.bar(win["t"], dropped, bottom=errors, color=_COLORS["dropped"], label="dropped", **bars)
    if not (errors.any() or dropped.any()):
        ax.set_ylim(0, 1)
        ax.text(0.5, 0.5, "no errors, nothing dropped", transform=ax.transAxes, ha="center")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel(f"requests per {width:g} s window")
    title = "Errors and dropped requests"
    _finish(fig, ax, title, duration)
    return _svg(fig, "errors", title)


def latency_axis(ax: Axes, values: np.ndarray) -> None:
    """A latency y axis (ms) for ``values``: logarithmic when the positive finite ones span
    more than LOG_RATIO (max / min), else linear from 0."""
    values = values[np.isfinite(values) & (values > 0)]
    if len(values) and values.max() / values.min() > LOG_RATIO:
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
        ax.set_ylabel("latency (ms, log scale)")
    else:
        ax.set_ylim(bottom=0)
        ax.set_ylabel("latency (ms)")


def _time_figure(phases: Sequence[Phase]) -> tuple[Figure, Axes]:
    """A figure over the run's time axis with its phases shaded."""
    fig, ax = _figure()
    _shade(ax, phases)
    return fig, ax


def _figure(size: tuple[float, float] = _SIZE) -> tuple[Figure, Axes]:
    fig = Figure(figsize=size, layout="constrained")
    FigureCanvasSVG(fig)
    ax = fig.add_subplot()
    ax.grid(True, color="#e6e6e6", lw=0.6)
    ax.set_axisbelow(True)
    return fig, ax


def _shade(ax: Axes, phases: Sequence[Phase]) -> None:
    """Background spans for warm-up and bursts; a dotted line where other phases change."""
    seen: set[str] = set()
    previous = None
    for name, start, end in phases:
        if name in _SHADES:
            color, label = _SHADES[name]
            ax.axvspan(
                start,
                end,
                color=color,
                alpha=0.6,
                lw=0,
                zorder=0,
                label=label if label not in seen else "_nolegend_",
            )
            seen.add(label)
        elif previous is not None and name != previous:
            ax.axvline(start, color="#999999", ls=":", lw=0.8, zorder=0)
        previous = name


def _finish(
    fig: Figure,
    ax: Axes,
    title: str,
    duration: float,
    extra: Axes | None = None,
    *,
    xlabel: str = TIME_LABEL,
    ncols: int = 6,
) -> None:
    """Title, x label, the time range (when ``duration`` > 0) and one legend below with at
    most ``ncols`` entries a row."""
    ax.set_title(title, loc="left", fontsize="medium")
    ax.set_xlabel(xlabel)
    if duration > 0:
        ax.set_xlim(0, duration)
    handles, labels = ax.get_legend_handles_labels()
    if extra is not None:
        more = extra.get_legend_handles_labels()
        handles, labels = handles + more[0], labels + more[1]
    if handles:
        fig.legend(
            handles,
            labels,
            loc="outside lower center",
            ncols=min(len(handles), ncols),
            fontsize="small",
            frameon=False,
        )


def _svg(fig: Figure, prefix: str, title: str) -> str:
    """The figure as an ``<svg>`` element; ids prefixed so several can share one page."""
    buffer = io.StringIO()
    fig.savefig(
        buffer, format="svg", metadata={"Date": None, "Creator": None, "Format": None, "Type": None}
    )
    text = buffer.getvalue()
    text = text[text.index("<svg") :]  # drop the XML prolog and DOCTYPE
    text = re.sub(r'\bid="', f'id="{prefix}-', text)
    text = re.sub(r'(href="#|url\(#)', rf"\g<1>{prefix}-", text)
    label = html.escape(title, quote=True)
    return text.replace("<svg ", f'<svg role="img" aria-label="{label}" ', 1)
