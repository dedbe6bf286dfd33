"""The rate one replica saturates at (capacity.json ``single_replica.saturation_*``): what a
level that could not keep up served, else the fitted curve's asymptote when nothing the run
measured refutes it.

A level was overloaded when the search said so (``overloaded``: achieved below its
tolerance of what arrived) or when it served clearly less than arrived
(``clearly_overloaded``): short by over 5%, and over its judged seconds T arrivals minus
completions exceed the requests that could still be in flight at its end if each took the
level's SLO-percentile latency W (Little's law, L = lambda x W): its queue grew, so the
server could not serve what arrived, and what it served there is its saturation rate,
measured. A fitted asymptote
above that is refuted by the measurement (make demo: the fit's 81.6 rps while level4@80rps
served 74.2 of the 79.8 rps that arrived).
"""

from __future__ import annotations

import math
from typing import Any

from benchctl.analysis.bounds import CapacityBound
from benchctl.analysis.fits import CapacityEstimate, LatencyFit
from benchctl.analysis.measured_rates import MeasuredRates

# A level served clearly less than arrived only when short by more than this share too: a
# few requests left unanswered at a low rate are a larger share of no queue (make demo's
# level2@20rps: 20.3 of 20.6 rps, 3 requests over 10 s).
MIN_SHORTFALL = 0.05


def clearly_overloaded(search: dict[str, Any] | None) -> list[tuple[str, float, float]]:
    """(name, served req/s, arrived req/s) of each search level that served clearly less
    than arrived: achieved < (1 - ``MIN_SHORTFALL``) x arrived and (arrived - achieved) x T
    > arrived x W + 1 request, T = judged_to - judged_from (s), W its SLO-percentile
    ``latency_ms`` / 1000 (s). [] without a search or such a level; levels missing any
    field are skipped. Raises nothing."""
    found = []
    for level in (search or {}).get("levels") or []:
        values = [level.get(k) for k in ("arrived_rps", "achieved_rps", "latency_ms")]
        begin, end = level.get("judged_from"), level.get("judged_to")
        numbers = [*values, begin, end]
        if not all(isinstance(v, int | float) and math.isfinite(v) for v in numbers):
            continue
        arrived, achieved, latency_ms = (float(v) for v in values)
        seconds = float(end) - float(begin)
        in_flight = arrived * latency_ms / 1000.0 + 1.0
        short = achieved < (1.0 - MIN_SHORTFALL) * arrived
        if short and seconds > 0 and (arrived - achieved) * seconds > in_flight:
            found.append((str(level.get("name")), achieved, arrived))
    return found


def saturation(
    found: CapacityBound,
    estimate: CapacityEstimate | None,
    fit: LatencyFit | None,
    distrust: str | None,
    rates: MeasuredRates,
    search: dict[str, Any] | None = None,
) -> tuple[float | None, str | None]:
    """(the rate one replica saturates at, or None; why the fit's asymptote is not it, or
    None): what an overloaded level served (at least the best good level's rate and the
    most the run served; a level the search flagged, else one ``clearly_overloaded``),
    else the fit's asymptote x_max when its crossing is not extrapolated, the fit is trusted
    and x_max lies above the most the run served (a saturation below a measured throughput
    is refuted by it). Whenever a fit with a finite asymptote is not used for want of a
    measurement, the reason is returned (every reason that applies, joined by "; "), so
    that capacity.json's ``saturation_at_least_rps`` holds the most served instead (trial
    6: a Triton spike whose fit was distrusted and extrapolated left both null though its
    burst served 191.3)."""
    measured = overloaded_rps(found, search)
    if measured is not None:  # it served at least the best good level and the run's most
        return max(measured, found.best_good.throughput_rps, rates.served_rps or 0.0), None
    if fit is None or not math.isfinite(fit.x_max):
        return None, None
    reasons = []
    if distrust is not None:
        reasons.append(distrust)
    served = rates.served_rps
    if served is not None and fit.x_max <= served:
        reasons.append(f"it lies below the most the run served ({served:,.1f} rps)")
    if estimate is None:
        reasons.append("it does not cross the SLO")
    elif estimate.extrapolated:
        reasons.append("its SLO crossing lies beyond every measured level")
    if not reasons:
        return fit.x_max, None
    asymptote = f"the fitted curve's asymptote ({fit.x_max:,.1f} rps) is not a saturation rate"
    return None, f"{asymptote}: {'; '.join(reasons)}"


def overloaded_rps(found: CapacityBound, search: dict[str, Any] | None) -> float | None:
    """The most an overloaded level served (req/s): the search's flagged levels
    (``found.saturation_rps``), else those ``clearly_overloaded``; None without either."""
    if found.saturation_rps is not None:
        return found.saturation_rps
    clear = clearly_overloaded(search)
    return max(served for _, served, _ in clear) if clear else None


def saturation_fields(
    found: CapacityBound,
    fit: LatencyFit | None,
    value: float | None,
    not_used: str | None,
    rates: MeasuredRates,
    search: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """capacity.json ``single_replica``'s saturation rate ``value`` (requests/s), where it
    comes from, a fitted asymptote the measurement refutes, and the fit's knee (none from a
    refuted fit), in its key order."""
    refuted = _fit_refuted(found, fit, value, search)
    knee = fit.knee() if fit is not None and fit.r2 >= 0.9 and value and not refuted else None
    return {
        "saturation_rps": value,
        "saturation_source": _source(found, value, search),
        "saturation_where": _where(found, value, rates, search),
        # a fitted asymptote not used as the saturation rate: why, and the bound the run
        # measured instead (the most it served: it saturates above that)
        "saturation_not_used": not_used,
        "saturation_at_least_rps": rates.served_rps if not_used else None,
        "saturation_at_least_where": rates.served_where if not_used else None,
        "saturation_fit_refuted": refuted,
        "knee_rps": knee,  # the fit's, unless the measurement refutes its asymptote
        # the most a phase served within the SLO (measured_rates.met_rps) and which phase
        "served_within_slo_rps": rates.met_rps,
        "served_within_slo_where": rates.met_where,
    }


def _where(
    found: CapacityBound,
    value: float | None,
    rates: MeasuredRates,
    search: dict[str, Any] | None,
) -> str | None:
    """Where a measured saturation rate was served: ``rates.served_where`` (the most the
    run served), a clearly overloaded level ("NAME, which served S of the A rps
    that arrived"), else "the NAME level" (the best good level); None for a search-flagged
    overloaded level's rate (bounds keeps no name), a fitted one or none."""
    measured = overloaded_rps(found, search)
    if measured is None or value is None:
        return None
    for name, served, arrived in clearly_overloaded(search) if found.saturation_rps is None else []:
        if served == value:
            return f"{name}, which served {served:,.1f} of the {arrived:,.1f} rps that arrived"
    if value == rates.served_rps and rates.served_where:
        return rates.served_where
    if value == found.best_good.throughput_rps:
        return f"the {found.best_good.label} level"
    return None


def _source(found: CapacityBound, value: float | None, search: dict[str, Any] | None) -> str | None:
    """Where the saturation rate came from: an overloaded level, the most the run served
    (more than any overloaded level: the best good level, or a level, window or phase of
    ``measured_rates``), the fit, or nowhere."""
    measured = overloaded_rps(found, search)
    if measured is not None:
        return "overloaded level" if value == measured else "most served"
    return "fit" if value is not None else None


def _fit_refuted(
    found: CapacityBound,
    fit: LatencyFit | None,
    value: float | None,
    search: dict[str, Any] | None,
) -> str | None:
    """Why the fit's asymptote, above a measured saturation ``value``, is not the
    saturation (an overloaded level served less); None when it is not above it."""
    if fit is None or value is None or overloaded_rps(found, search) is None:
        return None
    if not math.isfinite(fit.x_max) or fit.x_max <= value:
        return None
    return (
        f"the fitted curve's asymptote ({fit.x_max:,.1f} rps) lies above that measurement, "
        "so it is not used"
    )
