"""One replica's capacity under the SLO, from measured points: the levels' bound (measured
crossing or lower bound, ``bounds.capacity_bound``), the fitted SLO-percentile curve
(``fits.fit_latency_curve``, a secondary figure only), the saturation rate, service demand
per resource and the USL fit of closed-loop runs.

Output: the ``single_replica`` dict of capacity.json and the fitted latency model.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from benchctl.analysis.bounds import (
    LOWER,
    CapacityBound,
    Level,
    capacity_bound,
    search_levels,
    served_within,
    unsettled,
)
from benchctl.analysis.fits import (
    CapacityEstimate,
    LatencyFit,
    fit_latency_curve,
)
from benchctl.analysis.measured_rates import MeasuredRates
from benchctl.analysis.points import Points
from benchctl.analysis.saturation import saturation as saturation_rate
from benchctl.analysis.saturation import saturation_fields
from benchctl.analysis.service_demand import service_demand as demand_across_levels
from benchctl.analysis.slo import Slo
from benchctl.analysis.sweep import sweep_fields, sweep_levels
from benchctl.analysis.sweep import usl_summary as usl_summary  # capacity.py's import
from benchctl.analysis.thin_windows import thin_windows_note
from benchctl.errors import InputError

# Highest / lowest window throughput a service-demand fit needs: below it the windows saw one
# offered rate and differ by arrival noise, so the slope (CPU per request) is not measured.
MIN_THROUGHPUT_SPAN = 1.5
# An extrapolation's 5-95% band wider than this many times its crossing (or not finite) is
# no information (trial 6: [0.0, 9.6e303] rps): said as unbounded, never written as numbers.
EXTRAPOLATION_BAND_MAX_RATIO = 100.0
# Rates are printed to 0.1 req/s: a crossing must exceed the band by more to read as above it.
PRINTED_RPS = 0.1


def single_replica(
    points: Points,
    slo: Slo,
    warnings: list[str],
    search: dict[str, Any] | None,
    demand: dict[str, Any],
    rates: MeasuredRates | None = None,
    windows: pd.DataFrame | None = None,
) -> tuple[dict[str, Any], LatencyFit | None]:
    """One replica's capacity under ``slo`` and the fitted latency model.

    ``points``: achieved rps and SLO-percentile latency (ms) per level or window (a sweep's
    by concurrency); ``search``: search.json (its levels decide) or None;
    ``demand``: the service_demand dict (its first saturating resource bounds the capacity
    above); notes are appended to ``warnings``; ``rates``: the points' rate resolution and
    the most the run served (``measured_rates``), or None; ``windows``: the window table,
    to name windows that met the SLO with too few successes (``thin_windows``), or None. The
    fitted crossing is the figure only when trusted (``LatencyFit.distrust``) and
    ``bounds.capacity_bound`` allows it; the fit's asymptote is the saturation rate only
    then, and only above the most the run served (else ``saturation_not_used`` says why and
    ``saturation_at_least_rps`` is the bound the run measured). A lower bound is at least
    what a phase served within the SLO (``bounds.served_within``). Returns (capacity.json
    ``single_replica``; the LatencyFit or None). InputError: no point meets the SLO.
    """
    levels, swept = _levels(points, slo, search)
    fit, estimate = _fitted(points, slo, warnings)
    crossing = estimate.throughput if estimate is not None else None
    rates = rates or MeasuredRates(0.0)
    distrust = _distrust(fit, crossing, slo, rates)
    demand_upper = _demand_upper(demand)
    found = capacity_bound(
        levels,
        slo.threshold_ms,
        demand_upper_rps=demand_upper,
        fitted_crossing_rps=crossing,
        resolution_rps=rates.resolution_rps,
        fit_distrust=distrust,
    )
    if found is None:
        raise _nothing_met(points, slo, levels, thin_windows_note(windows, slo))
    found = served_within(found, rates.met_rps, rates.met_where)  # a lower bound only
    warnings += _bound_warnings(found) + unsettled_warnings(levels, slo)
    extrapolation, dropped = _extrapolation(estimate, fit, found, demand_upper, rates, distrust)
    saturation, saturation_not_used = saturation_rate(found, estimate, fit, distrust, rates, search)
    result: dict[str, Any] = {
        **_band_fields(found, search),
        "demand_upper_rps": demand_upper,
        "measured_capacity_rps": found.best_good.throughput_rps,
        **_figure_fields(found, crossing),
        "extrapolated": False,  # the headline never is; see "extrapolation"
        "extrapolation": extrapolation,
        "extrapolation_dropped": dropped,
        **saturation_fields(found, fit, saturation, saturation_not_used, rates, search),
        "level_stability": [
            (lv["name"], bool(lv.get("stable"))) for lv in (search or {}).get("levels", [])
        ],
        "fit": _fit_summary(fit) if fit is not None else None,
        "sweep": sweep_fields(swept, found),
    }
    return result, fit  # the latency model the simulations use (capped by saturation)


def _distrust(
    fit: LatencyFit | None, crossing: float | None, slo: Slo, rates: MeasuredRates
) -> str | None:
    """Why the fit's SLO ``crossing`` cannot be a figure (``LatencyFit.distrust``), or None
    when it can or there is none."""
    if fit is None or crossing is None:
        return None
    return fit.distrust(slo.threshold_ms, rates.resolution_rps)


def _figure_fields(found: CapacityBound, crossing: float | None) -> dict[str, Any]:
    """What the figure is: "fit" (the fitted ``crossing``, req/s) or "best_good_level" (the
    band's low end), why a crossing inside the band was not used (bounds.py), and the levels
    that bound the band; capacity.json ``single_replica``'s keys in its order."""
    return {
        "capacity_source": found.figure_source,
        "fitted_crossing_rps": finite(crossing),
        "fit_not_used": found.fit_not_used,
        "best_good_level": found.best_good.label,
        "first_bad_level": found.first_bad.label if found.first_bad else None,
    }


def unsettled_warnings(levels: list[Level], slo: Slo) -> list[str]:
    """One warning naming a search's levels that were within ``slo`` pooled but never
    stable (``bounds.unsettled``): not judged, so they bound the capacity on neither side
    (the confidence counts them as never stable). [] when there are none."""
    loose = [lv for lv in levels if lv.unsettled]
    if not loose:
        return []
    names = ", ".join(f"{lv.label} ({slo.column} {lv.latency_ms:.1f} ms)" for lv in loose)
    return [
        f"{len(loose)} level(s) of the capacity search unsettled: {names}: within {slo} over "
        "all its windows pooled, but never stable (its windows did not agree, or held too "
        "few successes for the percentile, before it ended); not judged (neither met nor "
        "broke the SLO), so the answer rests on the other levels"
    ]


def _band_fields(found: CapacityBound, search: dict[str, Any] | None) -> dict[str, Any]:
    """capacity.json ``single_replica``'s figure and band (requests/s), in its key order."""
    return {
        "capacity_rps": found.capacity_rps,
        "bound": found.bound,
        "lower_rps": found.band[0],
        "upper_rps": found.band[1],
        # the band's rates: arrivals/s in a search's judged windows, and beside them the
        # same levels' offered (scheduled) rates (bounds.py: one kind of rate in a band)
        "band_rates": _band_rates(found, search),
        # a search's levels only: other points' rates are what they served (README)
        "offered_band_rps": list(found.offered_band) if found.offered_band and search else None,
        # (met, broke) arrived rates that could not order the levels (see _band_rates)
        "arrived_band_rps": list(found.arrived_band) if found.arrived_band else None,
        "upper_bound_source": found.upper_source,
        # a search's levels within the SLO pooled but never stable: neither met nor broke it
        "unsettled_levels": [
            lv["name"] for lv in (search or {}).get("levels", []) if unsettled(lv)
        ],
    }


def _nothing_met(
    points: Points, slo: Slo, levels: list[Level], thin: str | None = None
) -> InputError:
    """The error when no measured point meets ``slo``: the best point's latency and rate;
    when a search's levels that were within it never settled (``bounds.unsettled``), that
    no level was judged to meet it, which, and what to change."""
    loose = [lv for lv in levels if lv.unsettled]
    if loose:
        names = ", ".join(f"{lv.label} ({lv.latency_ms:.1f} ms)" for lv in loose[:3])
        return InputError(
            f"no level of the capacity search was judged to meet {slo}: {names} stayed "
            "within it over all its windows pooled, but never became stable (its windows did "
            "not agree, or held too few successes for the percentile, before it ended), so it "
            "neither met nor broke it; give each level more time (raise max_duration and "
            "max_hold) or run on a quieter host"
        )
    best = int(np.argmin(points.latency_ms))
    advice = thin or "relax the SLO or measure at lower load"  # thin_windows: try --window
    return InputError(
        f"no measured point meets {slo}: the best was {points.latency_ms[best]:.1f} ms at "
        f"{points.throughput[best]:.1f} rps; {advice}"
    )


def _band_rates(found: CapacityBound, search: dict[str, Any] | None) -> str:
    """Which rate the band's ends are: "arrived" (a search's judged windows), "offered"
    (a search's scheduled rates), "arrived/offered" (arrivals could not order the search's
    levels: the low end is what arrived at the level that met the SLO, less than it was
    offered, the high end the broken level's offered rate; ``bounds.capacity_bound``) or
    "throughput" (a run's own levels or windows)."""
    if found.best_good.arrived_rps and not found.arrived_band:
        return "arrived"
    if found.arrived_band and found.band[0] < found.best_good.rate_rps:
        return "arrived/offered"
    return "offered" if search else "throughput"


def _fitted(
    points: Points, slo: Slo, warnings: list[str]
) -> tuple[LatencyFit | None, CapacityEstimate | None]:
    """The SLO-percentile curve and its crossing of the SLO; None for what could not be
    computed (with a warning)."""
    fit: LatencyFit | None = None
    try:
        fit = fit_latency_curve(points.throughput, points.latency_ms, slo.quantile)
        return fit, fit.capacity_at(slo.threshold_ms)
    except (ValueError, OverflowError) as exc:  # OverflowError: the solver diverged
        why = str(exc) if isinstance(exc, ValueError) else "the fit diverged"
        warnings.append(f"no latency curve fitted ({why}); capacity comes from the levels alone")
        return fit, None


def _bound_warnings(found: CapacityBound) -> list[str]:
    """Levels below the best good one that broke the SLO; a capacity that is a lower bound."""
    notes = []
    if found.non_monotone:
        notes.append(
            f"{len(found.non_monotone)} level(s) below the best good one broke the SLO "
            f"({', '.join(found.non_monotone[:3])}): the server's latency was not steady"
        )
    if found.bound == LOWER:
        what = f"what {found.served_phase} served within it" if found.served_phase else ""
        notes.append(
            f"the SLO never broke: capacity is at least {found.capacity_rps:.1f} rps "
            f"({what or 'the best level measured'}); measure higher load (a capacity search, "
            "or a higher max_rate) for the crossing"
        )
    return notes


def _extrapolation(
    estimate: CapacityEstimate | None,
    fit: LatencyFit | None,
    found: CapacityBound,
    demand_upper: float | None,
    rates: MeasuredRates,
    distrust: str | None = None,
) -> tuple[dict[str, Any] | None, str | None]:
    """(the fit's crossing beyond the measured band, or None; why it is not shown, or None).

    A fit that is not trusted (``distrust``: ``LatencyFit.distrust``'s reasons) is not
    shown beyond the measured range either (its reason is returned instead).

    A crossing within the points' rate resolution (``rates.resolution_rps``, at least the
    0.1 req/s rates are printed to) above the band's high end is the highest level measured,
    not an extrapolation (trial 6: "extrapolates 147.6 rps" beside a lower bound of 147.6):
    None. The band is ``band_rps`` [5%, 95%] (req/s) only when both ends are finite and the
    high end is at most ``EXTRAPOLATION_BAND_MAX_RATIO`` times the crossing; else
    ``band_rps`` is null and ``band_unbounded`` true (trial 6: [0.0, 9.6e303])."""
    step = max(rates.resolution_rps, PRINTED_RPS)
    if estimate is None or fit is None or estimate.throughput <= found.band[1] + step:
        return None, None
    if distrust is not None:
        return None, f"the fitted curve is not trusted ({distrust})"
    dropped = extrapolation_ceiling(estimate.throughput, found, demand_upper)
    if dropped:
        return None, dropped
    band = [finite(estimate.lower), finite(estimate.upper)]
    bounded = (
        band[0] is not None
        and band[1] is not None
        and band[1] <= EXTRAPOLATION_BAND_MAX_RATIO * estimate.throughput
    )
    extrapolation = {
        "capacity_rps": estimate.throughput,
        "band_rps": band if bounded else None,
        "band_unbounded": not bounded,
        "r2": fit.r2,
        "n_points": fit.n_points,
        "note": "a fit's crossing beyond every measured level: not a measurement",
    }
    return extrapolation, None


def _levels(
    points: Points, slo: Slo, search: dict[str, Any] | None
) -> tuple[list[Level], list[Level] | None]:
    """(the levels the capacity is bounded on; the same when they are a closed-loop sweep's,
    ordered by concurrency (``sweep.sweep_levels``), else None)."""
    if search is not None:
        return search_levels(search), None
    swept = sweep_levels(points, slo.threshold_ms)
    if swept is not None:
        return swept, swept
    levels = [
        Level(label, float(x), float(x), float(lat), bool(lat <= slo.threshold_ms))
        for label, x, lat in zip(points.labels, points.throughput, points.latency_ms, strict=True)
    ]
    return levels, None


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


def extrapolation_ceiling(
    crossing: float, found: CapacityBound, demand_upper: float | None
) -> str | None:
    """Why a fitted crossing above the measured band is not shown, or None to show it: it
    lies above what was measured to bound the capacity (the first level that broke the
    SLO, the most an overloaded level served, or the service-demand upper bound).

    ``crossing``: the fitted SLO crossing (requests/s); ``found``: the measured bound;
    ``demand_upper``: the service-demand limit (requests/s) or None. Returns the reason, naming the
    lowest ceiling it exceeds (requests/s), or None. Raises nothing.
    """
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


def service_demand(
    windows: pd.DataFrame, info: dict[str, Any], search: dict[str, Any] | None = None
) -> dict[str, Any]:
    """CPU (and GPU) seconds per request and which resource saturates first: the service demand
    law with background, U = U0 + D x X, across a search's levels or the windows
    (``analysis.service_demand.service_demand``, which documents inputs, output and errors)."""
    return demand_across_levels(windows, info, search)


def finite(value: float | None) -> float | None:
    """``value`` as a float, or None when it is None, infinite or NaN (JSON has neither). Raises
    TypeError for a value that is not a real number.
    """
    return None if value is None or not math.isfinite(value) else float(value)
