"""The short answer a person can act on: the same sentences in the terminal and the report.

``capacity_sentence``, ``replicas_sentence`` and ``cost_sentence`` turn a capacity.json
document into plain text (no markup); ``benchctl.reports.terminal.answer`` prints them with
the details, the HTML report shows them as they are.
"""

from __future__ import annotations

from typing import Any

from benchctl.analysis.sweep import sweep_sentence

_UPPER_SOURCES = {
    "first_bad_level": "the first level that broke it",
    "service_demand": "service demand: the server's CPU fully busy",
    "none": "nothing measured bounds it above",
}


def rps_text(value: float | None) -> str:
    """A rate in req/s as ``1,234.5 rps``; "—" for None."""
    return "—" if value is None else f"{value:,.1f} rps"


def money(amount: float | None, currency: str) -> str:
    """``12.34 USD``, ``0.00340 USD`` (``amounts.amount_text``: never 0.00 for a small amount);
    ``—`` when there is no amount (never 0.00 for a missing price)."""
    from benchctl.amounts import amount_text

    if amount is None:
        return "—"
    return f"{amount_text(amount)} {currency}"


def capacity_sentence(doc: dict[str, Any]) -> str:
    """ "One replica sustains N rps under SLO …", saying which bound the data supports."""
    single = doc.get("single_replica") or {}
    capacity = doc.get("capacity_rps", single.get("capacity_rps"))
    band = doc.get("capacity_band_rps") or [single.get("lower_rps"), single.get("upper_rps")]
    bound = doc.get("bound", single.get("bound", "measured"))
    slo = doc.get("slo", "the SLO")
    if single.get("basis") == "mix":  # a model mix sized on its limiting model (mix_sizing)
        return _mix_capacity_sentence(capacity, band, bound, slo)
    if bound == "lower":
        source = doc.get("upper_bound_source", single.get("upper_bound_source", "none"))
        above = (
            f"no more than {rps_text(band[1])} (service demand: the server's CPU fully busy)"
            if source == "service_demand" and band[1] and band[1] > band[0]
            else "nothing measured bounds it above"
        )
        text = (
            f"One replica sustains at least {rps_text(capacity)} under {slo}: the SLO never "
            f"broke up to the highest level measured{_arrived_of_offered(doc, band)}"
            f"{_served_phase(doc, single)}; {above}."
        )
    elif (single.get("sweep") or {}).get("broke_level"):  # closed loop: ordered by concurrency
        text = f"One replica sustains {rps_text(capacity)} under {slo} " + sweep_sentence(
            single["sweep"], str(slo)
        )
    elif doc.get("capacity_band_arrived_rps"):
        text = _unordered_arrivals_sentence(doc, capacity, band, slo)
    elif doc.get("capacity_band_rates") == "arrived":
        offered = doc.get("capacity_band_offered_rps") or [None, None]
        text = (
            f"One replica sustains {rps_text(capacity)} under {slo} (measured: the SLO "
            f"crossing lies between {rps_text(band[0])}, which met it, and "
            f"{rps_text(band[1])}, which broke it: the rates that arrived in the windows "
            f"the search judged, of {rps_text(offered[0])} and {rps_text(offered[1])} offered)."
        )
    else:
        text = (
            f"One replica sustains {rps_text(capacity)} under {slo} (measured: the SLO "
            f"crossing lies between {_band_kind(doc)}{rps_text(band[0])}, which met it, and "
            f"{rps_text(band[1])}, which broke it{_band_served(doc)})."
        )
    refuted = doc.get("capacity_source_note") or single.get("fit_not_used")
    if refuted and bound == "measured":  # the fit crossed above a level that broke the SLO
        text += f" {refuted[:1].upper()}{refuted[1:]}."
    extra = doc.get("extrapolated") or single.get("extrapolation")
    if single.get("extrapolation_dropped") and not extra:
        text += f" No extrapolation: {single['extrapolation_dropped']}."
    if extra:
        unbounded = " (its 5-95% band is unbounded)" if extra.get("band_unbounded") else ""
        text += (
            f" A fitted curve extrapolates {rps_text(extra.get('capacity_rps'))}{unbounded}: "
            "not measured, not used."
        )
    return text


def _band_kind(doc: dict[str, Any]) -> str:
    """ "offered rates " before the band when capacity.json ``capacity_band_rates`` says the
    ends are a search's offered rates; '' otherwise (see ``_band_served``)."""
    return "offered rates " if _band_rates(doc) == "offered" else ""


def _band_served(doc: dict[str, Any]) -> str:
    """ ": throughputs served in windows" (or "in levels") after the band when its ends are
    what a run's own windows or levels served (``capacity_band_rates`` "throughput": never an
    offered rate, trial 5); '' otherwise."""
    if _band_rates(doc) != "throughput":
        return ""
    where = (doc.get("points") or {}).get("source")
    return ": throughputs served in " + ("windows" if where == "windows" else "levels")


def _band_rates(doc: dict[str, Any]) -> str | None:
    kind = doc.get("capacity_band_rates") or (doc.get("single_replica") or {}).get("band_rates")
    return str(kind) if kind else None


def _unordered_arrivals_sentence(doc: dict[str, Any], capacity: Any, band: Any, slo: Any) -> str:
    """The measured headline when the arrived rates could not order the level that met the
    SLO and the one that broke it (``capacity_band_arrived_rps``): the figure is no more
    than the met level was offered and received (``bounds.capacity_bound``), the band runs
    up to the broken level's offered rate, and both levels' rates are named."""
    met, broke = doc["capacity_band_arrived_rps"]
    offered = doc.get("capacity_band_offered_rps") or [None, band[1]]
    return (
        f"One replica sustains {rps_text(capacity)} under {slo} (measured: the level that met "
        f"it had {rps_text(met)} arrive of {rps_text(offered[0])} offered; the one that broke "
        f"it, offered {rps_text(offered[1])}, drew {rps_text(broke)}: arrival noise exceeds "
        "the search's step, so the arrived rates cannot order the two levels: the figure is "
        "the lesser of what the level that met it was offered and received, and the crossing "
        f"lies below {rps_text(band[1])} offered)."
    )


def _served_phase(doc: dict[str, Any], single: dict[str, Any]) -> str:
    """ ", and its burst phase served N rps within it (the best window: M rps)" when a lower
    bound is what a phase served within the SLO (``capacity_source`` "served_phase",
    ``bounds.served_within``); '' otherwise."""
    if doc.get("capacity_source", single.get("capacity_source")) != "served_phase":
        return ""
    where = single.get("served_within_slo_where") or "a phase"
    kind = "window" if (doc.get("points") or {}).get("source") == "windows" else "level"
    best = rps_text(single.get("measured_capacity_rps"))
    return (
        f", and {where} served {rps_text(single.get('served_within_slo_rps'))} within it "
        f"(the best {kind}: {best})"
    )


def _arrived_of_offered(doc: dict[str, Any], band: list[Any]) -> str:
    """For a band of arrived rates (a search's levels): ", where X rps arrived of Y rps
    offered" about its low end (the best level met); '' otherwise."""
    offered = doc.get("capacity_band_offered_rps")
    if doc.get("capacity_band_rates") != "arrived" or not offered:
        return ""
    return f" ({rps_text(band[0])} arrived in its judged windows of {rps_text(offered[0])} offered)"


def _mix_capacity_sentence(capacity: Any, band: list[Any], bound: Any, slo: Any) -> str:
    """The headline of a model mix sized on its own basis (``analysis.mix_sizing``): the
    total rate of every model at which each met its own SLO percentile, or, when one model
    broke it at every level measured, only a bound (no figure)."""
    if bound == "upper":
        return (
            f"No capacity figure for this model mix under {slo}: one model broke its own SLO "
            f"at every level where it was judged, so one replica sustains less than "
            f"{rps_text(band[1])} in all at this mix (see the per-model lines)."
        )
    if bound == "lower":
        return (
            f"One replica sustains at least {rps_text(capacity)} in all at this model mix "
            f"under {slo}, every model within its own SLO: none broke it up to the highest "
            "level measured."
        )
    return (
        f"One replica sustains {rps_text(capacity)} in all at this model mix under {slo}, "
        f"every model within its own SLO (measured: between {rps_text(band[0])}, where every "
        f"model met it, and {rps_text(band[1])}, where one broke it)."
    )


def saturation_sentence(doc: dict[str, Any]) -> str | None:
    """The saturation line of capacity.json ``doc`` (terminal and report alike): "Saturates
    near N rps (what N is: served at an overloaded level, the most the run served and
    where, or the fitted curve's asymptote)", the knee, and, when N lies below the capacity
    figure, why (``_below_capacity``); else ``saturation_bound_sentence`` (a fitted
    saturation withheld), or None without either. Rates in req/s. Raises nothing."""
    single = doc.get("single_replica") or {}
    saturation = single.get("saturation_rps")
    if not saturation:
        return saturation_bound_sentence(single)
    source = single.get("saturation_source") or "fit"
    where = single.get("saturation_where")
    what = {
        "overloaded level": "served at a level that could not keep up with its arrivals"
        + (f": {where}" if where else ""),
        "most served": "the most the run served" + (f": {where}" if where else ""),
    }.get(source, "the fitted curve's asymptote")
    text = f"Saturates near {rps_text(saturation)} ({what})"
    if single.get("knee_rps"):
        text += f"; latency doubles (knee) at {rps_text(single['knee_rps'])}"
    capacity = doc.get("capacity_rps", single.get("capacity_rps"))
    if isinstance(capacity, int | float) and saturation < capacity:
        text += _below_capacity(doc, single, capacity)
    if single.get("saturation_fit_refuted"):  # a fitted asymptote above it (saturation.py)
        text += f"; {single['saturation_fit_refuted']}"
    return text + "."


def _below_capacity(doc: dict[str, Any], single: dict[str, Any], capacity: float) -> str:
    """Why a saturation (a rate served) lies below the ``capacity`` figure: that figure is
    the rate that arrived at the best level that met the SLO (a search judges arrivals), a
    fitted crossing, or an offered rate, not a rate served; a level that keeps up serves
    what arrives, but over its few judged seconds completions trail arrivals by the
    requests still in flight, so the two differ by that much."""
    level = single.get("best_good_level") or "the level that met the SLO"
    if _band_rates(doc) == "arrived":
        kind = f"the rate that arrived at {level} in its judged windows"
    elif doc.get("capacity_source", single.get("capacity_source")) == "fit":
        kind = "a fitted SLO crossing"
    elif _band_rates(doc) == "offered":
        kind = f"the rate offered to {level}"
    else:
        return f", below the {rps_text(capacity)} capacity figure"
    return (
        f", below the {rps_text(capacity)} capacity because that figure is {kind}, not a rate"
        " served: a level that keeps up serves what arrives, but over a few seconds its"
        " completions trail its arrivals by the requests still in flight"
    )


def saturation_bound_sentence(single: dict[str, Any]) -> str | None:
    """ "Saturation: above N rps, the most the run served (where); why the fit's asymptote is
    not a saturation rate", when capacity.json ``single_replica`` withheld a fitted saturation
    (``saturation_not_used``); None otherwise. A saturation figure is never below a
    throughput the run measured (trial 5: "Saturates near 147.6 rps" from a step fit while
    the burst phase served 188.9), so the run's most served is said as a lower bound."""
    why = single.get("saturation_not_used")
    if not why:
        return None
    served = single.get("saturation_at_least_rps")
    where = single.get("saturation_at_least_where")
    bound = (
        f"above {rps_text(served)}, the most the run served"
        + (f" ({where})" if where else "")
        + "; "
        if served
        else ""
    )
    return f"Saturation: {bound}{why}."


def replicas_sentence(doc: dict[str, Any]) -> str | None:
    """ "For a peak of P rps: R replicas — why", or None without a peak."""
    replicas = doc.get("replicas")
    if not replicas:
        return None
    count = replicas["recommended"]
    prefix = "at most " if replicas.get("is_upper_bound") else ""
    noun = "replica" if count == 1 else "replicas"
    return (
        f"For a peak of {doc['peak_rps']:,.0f} rps: {prefix}{count} {noun} — {replicas['reason']}."
    )


def cost_sentence(doc: dict[str, Any]) -> str:
    """Cost with its currency, or how to get one (never a zero cost for a missing price)."""
    cost = doc.get("cost")
    if not cost:
        return "Cost: no price given (pass --price, e.g. --price 2.48/h --currency USD)."
    currency = cost.get("currency", "USD")
    bound = "at most " if cost.get("per_million_is_upper_bound") else ""
    text = (
        f"Cost: {bound}{money(cost['per_million_at_capacity'], currency)} per million "
        f"inferences at capacity (price {money(cost['price_per_replica_hour'], currency)} "
        "per replica-hour)"
    )
    if "per_month" in cost:
        month_bound = "at most " if cost.get("per_month_is_upper_bound") else ""
        text += f", {month_bound}{money(cost['per_month'], currency)} per month"
        count = cost.get("per_month_replicas")
        if count is not None:
            noun = "replica" if count == 1 else "replicas"
            text += f" for {count} {noun} always on (730 h a month)"
    scaled = cost.get("autoscaled")
    if scaled:
        text += (
            f"; the chosen autoscaler ({scaled['deployment']}) averaged "
            f"{scaled['mean_replicas']:.1f} replicas over the {scaled['traffic_seconds']:,.0f} s "
            f"of simulated traffic: about {money(scaled['per_month'], currency)} per month if "
            "that traffic repeated all month"
        )
    return text + "."
