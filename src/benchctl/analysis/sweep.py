"""A closed-loop sweep's levels (``c=N``: N requests in flight) as capacity levels, and the
Universal Scalability Law fit of its throughput.

In a closed loop, load is the concurrency, not the throughput: a saturated server serves
*less* at more concurrency (retrograde throughput, contention and coherency), so levels are
ordered by concurrency (``bounds.Level.load``). A level with more requests in flight than
the best one that met the SLO, which broke it, is more load: it bounds the capacity from
above even when it served fewer requests per second. When throughput fell at higher
concurrency, the sweep measured saturation: every level from the throughput peak onward is
overloaded, and the peak is the saturation rate (``bounds.CapacityBound.saturation_rps``).

USL (Gunther, *Guerrilla Capacity Planning*, 2007): X(N) = λN / (1 + σ(N − 1) + κN(N − 1)),
peak at N* = sqrt((1 − σ) / κ), fitted by ``fits.fit_usl``.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import numpy as np

from benchctl.analysis.bounds import CapacityBound, Level
from benchctl.analysis.fits import fit_usl
from benchctl.analysis.points import Points


def rps_text(value: float | None) -> str:
    """A rate in req/s as ``1,234.5 rps``; "—" for None (as ``answer.rps_text``)."""
    return "—" if value is None else f"{value:,.1f} rps"


def sweep_levels(points: Points, threshold_ms: float) -> list[Level] | None:
    """The levels of a closed-loop sweep (``points.concurrency`` set), or None otherwise.

    Each level's ``rate_rps`` and ``throughput_rps`` are what it served (req/s), ``load``
    its concurrency; good when its SLO percentile (ms) is at most ``threshold_ms``. When some
    level served less than one with fewer requests in flight (retrograde), every level at or
    above the concurrency of the throughput peak is ``overloaded``. Raises nothing."""
    if points.concurrency is None:
        return None
    order = np.argsort(points.concurrency, kind="stable")
    rates = [float(points.throughput[i]) for i in order]
    peak = int(np.argmax(rates))
    retrograde = any(rate < rates[peak] for rate in rates[peak + 1 :])
    return [
        Level(
            points.labels[i],
            rates[k],
            rates[k],
            float(points.latency_ms[i]),
            bool(points.latency_ms[i] <= threshold_ms),
            overloaded=retrograde and k >= peak,
            load=float(points.concurrency[i]),
        )
        for k, i in enumerate(order)
    ]


def sweep_fields(levels: list[Level] | None, found: CapacityBound) -> dict[str, Any] | None:
    """capacity.json ``single_replica.sweep``: the level that met the SLO with the most
    requests in flight (label, req/s served), the next one up that broke it (or None) and
    what it served, and whether throughput fell at higher concurrency (``retrograde``:
    saturation measured). None for a run that is not a closed-loop sweep."""
    if levels is None:
        return None
    bad = found.first_bad
    return {
        "met_level": found.best_good.label,
        "met_rps": found.best_good.throughput_rps,
        "broke_level": bad.label if bad else None,
        "broke_rps": bad.throughput_rps if bad else None,
        "retrograde": any(level.overloaded for level in levels),
    }


def sweep_sentence(sweep: dict[str, Any], slo: str) -> str:
    """The measured headline of a closed-loop sweep (``sweep_fields``) under ``slo``."""
    met, broke = sweep["met_rps"], sweep["broke_rps"]
    text = (
        f"(measured in a closed-loop sweep: {sweep['met_level']} met it serving "
        f"{rps_text(met)}; more load, {sweep['broke_level']}, broke it serving {rps_text(broke)}"
    )
    if sweep.get("retrograde") and broke is not None and broke <= met:
        return (
            f"{text}: throughput fell as concurrency rose, so the server saturated; "
            f"{rps_text(met)} is the most it served within the SLO)."
        )
    return f"{text})."


def usl_summary(points: Points) -> dict[str, Any] | None:
    """The Universal Scalability Law fit of throughput against concurrency (``fits.fit_usl``)
    as capacity.json ``usl``: its numeric fields and peak_extrapolated; {"error": why} when
    it does not fit; None without 3 distinct concurrency levels (open-loop runs)."""
    if points.concurrency is None or len(np.unique(points.concurrency)) < 3:
        return None
    try:
        fit = fit_usl(points.concurrency.astype(float), points.throughput)
    except ValueError as exc:
        return {"error": str(exc)}
    data = {k: v for k, v in asdict(fit).items() if isinstance(v, int | float)}
    return {**data, "peak_extrapolated": fit.peak_extrapolated}


def usl_sentence(usl: dict[str, Any] | None) -> str | None:
    """ "USL fit: throughput peaks at X rps near N requests in flight (…)" from capacity.json
    ``usl``; why there is no fit when it failed; None for an open-loop run."""
    if not usl:
        return None
    if usl.get("error"):
        return f"USL fit (closed-loop sweep): none ({usl['error']})."
    peak, top = usl.get("peak_concurrency"), usl.get("max_throughput")
    where = (
        f"beyond the highest concurrency measured ({usl.get('measured_max_concurrency', 0):g}): "
        "extrapolated, not measured"
        if usl.get("peak_extrapolated")
        else "a fit, not a measurement"
    )
    if not isinstance(peak, int | float) or not isinstance(top, int | float) or peak != peak:
        return f"USL fit (closed-loop sweep): no peak (σ {usl.get('sigma', 0):.3g}, κ 0)."
    return (
        f"USL fit (closed-loop sweep): peak concurrency {peak:,.1f} in flight, max throughput "
        f"{rps_text(top)} (σ {usl.get('sigma', 0):.3g}, κ {usl.get('kappa', 0):.3g}, "
        f"r² {usl.get('r2', float('nan')):.2f}, {usl.get('n_points', 0)} levels; {where})."
    )
