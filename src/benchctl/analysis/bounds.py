"""The honest capacity of one replica: a measured crossing, a lower bound, never a guess.

Input: measured load levels (or windows), each with its throughput, its SLO percentile and
whether it met the SLO. Output: ``capacity_rps`` with a finite band ``[low, high]`` and a
``bound`` saying what the data supports:

* ``measured``: a level met the SLO and a higher one broke it, so the SLO crossing lies
  between two measured levels. The figure is the crossing of the fitted latency curve when
  it falls inside that band, the fit is trusted (``fits.LatencyFit.distrust``: r2 >= 0.9,
  a curve, not a step at the highest point) and the crossing lies below every rate at which
  a level above was measured to break the SLO (arrived or served: ``make demo``'s fit
  crossed at 75.0 req/s, but the level that broke it served 74.5) by more than a rate's
  measurement resolution (trial 5: a step fit crossed at 147.5999998 req/s, the window that
  broke the SLO served 147.6, measured to 0.2 req/s); else the best level measured to meet
  it (the band's low end).
* ``lower``: the SLO never broke; capacity is at least the best good level. The band's high
  end is the service-demand bound (cores / CPU-seconds per request) when telemetry gave
  one, else equal to the low end (``upper_source`` ``"none"``: nothing bounds it above).

An extrapolated crossing from a fit is kept by the caller as a secondary figure only.

One kind of rate: the band's ends and the figure are the rates the levels were tested at,
never an achieved rate at one end and an offered rate at the other. For a search level
that is the rate that *arrived* in the windows the search judged (``Level.arrived_rps``:
Poisson arrivals draw around the scheduled rate, e.g. 33.5 req/s arrived of 40 offered,
and the server met the SLO under the 33.5 that came, not under 40); the scheduled (offered)
rates are kept beside (``CapacityBound.offered_band``) and levels are ordered by them (the
search's own decisions). When the arrived rates do not order the two levels that set a
measured band (the level that broke the SLO saw no more arrivals than the one that met it:
arrival noise exceeded the search's step), they cannot separate them. The figure is then
what the data supports and no more: the smaller of the met level's offered and arrived
rates (``make demo``: 28 offered, 25.856 arrived: 25.856, never the 28 that did not
arrive), and the band runs from it to the broken level's offered rate (the search's own
order; the fitted crossing is not used, as the levels' throughputs do not order them
either). The arrived rates are kept beside (``CapacityBound.arrived_band``) to be named.
For windows and step levels, and
search levels without an arrived rate (older search.json), it is ``Level.rate_rps``
(throughput, or the offered rate). A good level's achieved rate is within the search's
tolerance of its arrived rate by definition.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

MEASURED, LOWER, EXTRAPOLATED = "measured", "lower", "extrapolated"


@dataclass(frozen=True)
class Level:
    """One measured point: ``rate_rps`` orders levels (offered rate for a search's levels,
    throughput otherwise); ``throughput_rps`` is what was served; ``good`` is the verdict
    (SLO percentile, error rate and achieved-vs-offered all within bounds)."""

    label: str
    rate_rps: float
    throughput_rps: float
    latency_ms: float
    good: bool
    overloaded: bool = False  # achieved fell short of offered: the server was saturated
    arrived_rps: float | None = None  # a search level: arrivals/s in its judged windows
    # a search level that ended without becoming stable (``unsettled``): neither
    # met nor broke the SLO, so it bounds the capacity on neither side
    unsettled: bool = False
    # a closed-loop sweep's level: requests in flight; orders the levels (more load) in
    # place of ``rate_rps``, since a saturated server serves less at more concurrency
    load: float | None = None

    @property
    def order(self) -> float:
        """What orders levels by load: ``load`` (concurrency) when set, else ``rate_rps``."""
        return self.rate_rps if self.load is None else self.load

    @property
    def tested_rps(self) -> float:
        """The rate the level was tested at: ``arrived_rps`` when known (> 0), else
        ``rate_rps``."""
        if self.arrived_rps is not None and self.arrived_rps > 0:
            return self.arrived_rps
        return self.rate_rps


@dataclass(frozen=True)
class CapacityBound:
    """The capacity the measured levels support under the SLO (``capacity_bound``): a figure,
    its band [low, high] in req/s, whether it is measured or a lower bound, and why."""

    capacity_rps: float
    band: tuple[float, float]
    bound: str  # MEASURED or LOWER
    best_good: Level
    first_bad: Level | None
    upper_source: str  # "first_bad_level", "service_demand" or "none"
    saturation_rps: float | None  # highest throughput served at an overloaded level
    non_monotone: list[str]  # bad levels below the best good one (noise or a hiccup)
    offered_band: tuple[float, float] | None = None  # the same levels' ``rate_rps``
    # (met, broke) arrived rates when they did not order the levels: the band then runs
    # from min(met offered, met arrived) to the broken level's offered rate
    arrived_band: tuple[float, float] | None = None
    # why a fitted crossing inside the band is not the figure (it is not below every rate
    # at which a level above the best good one broke the SLO), or None
    fit_not_used: str | None = None
    # a lower bound raised to what a phase of the run served within the SLO ("its burst
    # phase"; ``served_within``), or None
    served_phase: str | None = None

    @property
    def figure_source(self) -> str:
        """What the figure is: ``"fit"`` (the fitted curve's SLO crossing),
        ``"best_good_level"`` (the rate the best level that met the SLO was tested at) or
        ``"served_phase"`` (a lower bound: what a phase served within the SLO)."""
        if self.served_phase is not None:
            return "served_phase"
        return "best_good_level" if self.capacity_rps == self.band[0] else "fit"


def served_within(found: CapacityBound, rps: float | None, where: str | None) -> CapacityBound:
    """``found`` with a lower bound raised to ``rps`` (req/s), what a phase of the run
    (``where``, e.g. "its burst phase") served within the SLO, when that is more: one replica
    was measured to sustain it (trial 6, Triton spike: every 5 s window met p99<=20ms, the
    best at 147.6 req/s, a window mixing the 3 s burst with the base rate; the burst phase
    served 190.0 req/s at p99 14.7 ms). The band's high end is at least the new low end
    (a lower service-demand bound is refuted by the served rate: ``upper_source`` "none").
    A measured crossing is never moved: ``found`` itself."""
    if found.bound != LOWER or rps is None or where is None or rps <= found.capacity_rps:
        return found
    high, source = found.band[1], found.upper_source
    if high < rps:
        high, source = rps, "none"
    return replace(
        found, capacity_rps=rps, band=(rps, high), upper_source=source, served_phase=where
    )


def capacity_bound(
    levels: Sequence[Level],
    slo_ms: float,
    *,
    demand_upper_rps: float | None = None,
    fitted_crossing_rps: float | None = None,
    resolution_rps: float = 0.0,
    fit_distrust: str | None = None,
) -> CapacityBound | None:
    """The capacity bound of ``levels`` under ``slo_ms``; None when no level is good.

    ``fitted_crossing_rps`` (a latency fit's SLO crossing, on the achieved-throughput axis)
    is used as the figure only when it lies inside the measured band and below every rate at
    which a level above the best good one was measured to break the SLO, arrived or served,
    by more than ``resolution_rps`` (``crossing_above_broken``), and when the fit is trusted
    (``fit_distrust``, ``fits.LatencyFit.distrust``'s reason, is None); else the figure is
    the band's low end, and ``CapacityBound.fit_not_used`` says why. Throughputs are req/s,
    latencies ms.

    ``levels``: the measured load levels (offered ``rate_rps`` and achieved ``throughput_rps``, good
    when their SLO percentile met ``slo_ms``); ``demand_upper_rps``: the service-demand limit used
    as the upper end when no level was bad. Returns a CapacityBound (figure and band in requests/s,
    MEASURED or LOWER, the levels behind it). Raises nothing of its own.
    """
    good = [level for level in levels if level.good]
    if not good:
        return None
    best = max(good, key=lambda level: (level.order, level.throughput_rps))
    judged = [lv for lv in levels if not lv.good and not lv.unsettled]  # broke the SLO
    above = [lv for lv in judged if lv.order > best.order]
    below = [lv.label for lv in judged if lv.order <= best.order]
    overloaded = [lv.throughput_rps for lv in levels if lv.overloaded]
    saturation = max(overloaded) if overloaded else None
    if above:
        crossing = _Crossing(fitted_crossing_rps, resolution_rps, fit_distrust)
        return _measured_bound(best, above, crossing, saturation, below)
    low = best.tested_rps
    usable = demand_upper_rps is not None and math.isfinite(demand_upper_rps)
    high = max(demand_upper_rps, low) if usable else low  # type: ignore[type-var]
    source = "service_demand" if usable else "none"
    offered = (best.rate_rps, best.rate_rps)
    return CapacityBound(
        low, (low, float(high)), LOWER, best, None, source, saturation, below, offered
    )


@dataclass(frozen=True)
class _Crossing:
    """A fitted SLO crossing (req/s, or None), the rate resolution (req/s) it must clear
    below a broken level, and why the fit is not trusted (or None)."""

    rps: float | None
    resolution_rps: float = 0.0
    distrust: str | None = None

    def not_used(self, above: Sequence[Level]) -> str | None:
        """Why the crossing is not the figure, or None when it is."""
        if self.distrust is not None and self.rps is not None:
            return (
                f"the fitted curve (crossing the SLO at {self.rps:,.1f} rps) is not used: "
                f"{self.distrust}; the figure is the best level measured to meet it"
            )
        return crossing_above_broken(self.rps or 0.0, above, self.resolution_rps)


def _measured_bound(
    best: Level,
    above: Sequence[Level],
    crossing: _Crossing,
    saturation: float | None,
    below: list[str],
) -> CapacityBound:
    """``capacity_bound`` when some level above the ``best`` good one broke the SLO
    (``above``, not empty): the band runs from the best good level's tested rate to the first
    broken level's; the figure is its low end, or the fitted crossing where it may be used.
    Rates in requests/s."""
    low = best.tested_rps  # tested, as the first bad level's rate (one kind of rate)
    not_used = None
    bad = min(above, key=lambda level: level.order)
    offered = (best.rate_rps, max(bad.rate_rps, best.rate_rps))
    arrived = None
    if bad.tested_rps <= low and (best.arrived_rps or 0) > 0:
        # arrivals cannot separate the levels: claim no more than the met level both was
        # offered and received; the broken level's offered rate bounds it above
        arrived = (low, bad.tested_rps)
        low = min(best.rate_rps, low)
        high, figure = max(bad.rate_rps, low), low
    else:
        high = max(bad.tested_rps, low)
        figure = low  # what was measured to meet the SLO; the crossing is within the band
        if crossing.rps is not None and low <= crossing.rps <= high:
            not_used = crossing.not_used(above)
            figure = crossing.rps if not_used is None else low
    return CapacityBound(
        figure,
        (low, high),
        MEASURED,
        best,
        bad,
        "first_bad_level",
        saturation,
        below,
        offered,
        arrived,
        not_used,
    )


def crossing_above_broken(
    crossing: float, broken: Sequence[Level], resolution_rps: float = 0.0
) -> str | None:
    """Why a fitted SLO crossing cannot be the figure, or None when it can: it is not below
    every rate at which one of ``broken`` (levels above the best good one, each broke the
    SLO) was measured, the rate that arrived in it or the throughput it served, whichever
    is lower, by more than ``resolution_rps`` (the finest rate difference the levels were
    measured to: one request over the shortest window or level). The fit's axis is the
    served throughput, so a level that broke the SLO while serving 74.5 req/s (78.0
    arrived) refutes a crossing at 75.0 (``make demo``), and a 5 s window that broke it
    serving 147.6 req/s (measured to 0.2) refutes one at 147.5999998 (trial 5).

    ``crossing``, ``resolution_rps``: req/s; ``broken``: the levels. Returns the reason
    naming the level and its rate, or None. Raises nothing.
    """
    rates = [
        (min(level.tested_rps, level.throughput_rps), level) for level in broken if not level.good
    ]
    if not rates:
        return None
    rate, level = min(rates, key=lambda item: item[0])
    if crossing < rate - resolution_rps:
        return None
    if level.throughput_rps <= level.tested_rps:
        arrived = f" ({level.tested_rps:,.1f} rps arrived)" if level.arrived_rps else ""
        what = f"the {rate:,.1f} rps {level.label} served{arrived}"
    else:
        what = f"the {rate:,.1f} rps that arrived at {level.label}"
    if crossing < rate:  # below, but by no more than a rate is measured to
        return (
            f"the fitted curve crosses the SLO at {crossing:,.1f} rps, less than the "
            f"{resolution_rps:g} rps a rate was measured to below {what} when it broke the "
            "SLO: the figure is the best level measured to meet it"
        )
    return (
        f"the fitted curve crosses the SLO at {crossing:,.1f} rps, not below {what} when it "
        "broke the SLO: the figure is the best level measured to meet it"
    )


def search_levels(search: dict[str, Any]) -> list[Level]:
    """The decided levels of a capacity search (search.json): offered, achieved and arrived
    req/s, SLO-percentile ms and verdict per level; levels without a latency, or that a
    stop signal ended before they were decided (``interrupted``), are left out. A level
    ``unsettled`` (said good though never stable) is kept, neither good nor broken. KeyError
    for a level without name, offered_rps, achieved_rps or good."""
    return [
        Level(
            lv["name"],
            float(lv["offered_rps"]),
            float(lv["achieved_rps"]),
            float(lv["latency_ms"]),
            bool(lv["good"]) and not unsettled(lv),
            bool(lv.get("overloaded")),
            arrived_rps(lv),
            unsettled(lv),
        )
        for lv in search.get("levels", [])
        if lv.get("latency_ms") is not None and not lv.get("interrupted")  # undecided: no verdict
    ]


def unsettled(level: dict[str, Any]) -> bool:
    """Is this search.json level unsettled: within every bound over all its windows pooled
    (``good``) but never ``stable`` (max_hold, or the search's max_duration, came before
    ``stable_windows`` windows agreed on throughput and percentile with 2 / (1 - q)
    successes; trial 6: a 40 s search's
    only level, p99 19.5 ms of 20 over 4 windows that disagreed)? Such a level is not
    judged: a steady state was never measured, so it neither met nor broke the SLO. A level
    without a ``stable`` key (an older search.json) counts as stable."""
    return bool(level.get("good")) and level.get("stable") is False and not level.get("interrupted")


def arrived_rps(level: dict[str, Any]) -> float | None:
    """A search level's arrivals per second in its judged windows (search.json
    ``arrived_rps``), or None when absent or not positive (an older search.json)."""
    value = level.get("arrived_rps")
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return float(value) if math.isfinite(value) else None
    return None
