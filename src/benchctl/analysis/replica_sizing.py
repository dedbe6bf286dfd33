"""Sizing for a peak rate: how many replicas (capacity with headroom, checked with an M/M/c
tail, or said unsupported by it) and what they cost, always on and as the chosen
autoscaler's simulation ran them.

Inputs are the single-replica dict (``single_replica``) and the analyze options' numbers;
outputs are the ``replicas`` and ``cost`` sections of capacity.json.
"""

from __future__ import annotations

import math
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from benchctl.analysis.bounds import LOWER
from benchctl.analysis.cost import HOURS_PER_MONTH, cost_per_million, monthly_cost
from benchctl.analysis.mix_sizing import MIX, mix_service_rate
from benchctl.analysis.queueing import ReplicaOption, mmc_response_quantile, size_replicas
from benchctl.analysis.slo import Slo

if TYPE_CHECKING:
    from benchctl.analysis.analyze_options import AnalyzeOptions

_MAX_REPLICAS = 1000  # size_replicas' default max_replicas
# single_replica.saturation_source values of a saturation measured at an overloaded level
MEASURED_SATURATION = ("overloaded level", "most served")


def replicas_for_peak(
    single: dict[str, Any],
    peak: float | None,
    slo: Slo,
    headroom: float,
    price_per_hour: float | None,
) -> dict[str, Any] | None:
    """Replicas for a ``peak`` rate (req/s) under ``slo``; None without a peak.

    ``single``: the single_replica dict; ``headroom``: the fraction of a replica's capacity
    kept free (0.2: at most 80%). ceil(peak / (capacity x (1 - headroom))), raised to what an
    M/M/c (Erlang C) queue with service rate ``saturation_rps`` per replica needs for the SLO
    percentile (``queueing.size_replicas``) when that rate is known. The table keeps the
    headroom on the capacity (a row is within headroom when peak / N <= capacity x (1 -
    headroom)), as a model mix does, never on the saturation rate: so the recommended count
    is the table's first acceptable row (with capacity 80, saturation 100, 20% headroom and
    a 1,000 rps peak: 16 replicas, not the 13 at which the saturation rate is 80% busy). A
    model mix sized on its own basis (``single["basis"] == "mix"``) is checked as
    ``_mix_replicas`` says. None when the capacity is None (a mix whose limiting model
    broke the SLO everywhere). Returns capacity.json ``replicas``: recommended,
    by_capacity, by_erlang_c, is_upper_bound (the capacity is a lower bound),
    erlang_c_supports / erlang_c_note / service_rate_is_lower_bound (``erlang_c_check``),
    measured_limit_rps / _note (``measured_limit``), table (a row per count), reason."""
    if not peak or single.get("capacity_rps") is None:  # no peak, or no figure to size by
        return None
    if single.get("basis") == MIX:
        return _mix_replicas(single, peak, slo, headroom, price_per_hour)
    capacity = single["capacity_rps"]
    by_capacity = math.ceil(peak / (capacity * (1 - headroom)))
    upper_bound, qualifier, why_bound = _bound_words(single, capacity, "capacity")
    saturation = single.get("saturation_rps")
    if not saturation or not math.isfinite(saturation):
        return {
            "recommended": by_capacity,
            "by_capacity": by_capacity,
            "is_upper_bound": upper_bound,
            "table": [],
            "reason": f"{qualifier}peak {_rate(peak)} rps / ({capacity:.1f} rps per replica × "
            f"{1 - headroom:.0%}){why_bound}",
        }
    limit = measured_limit(single)  # headroom on the capacity below, as a model mix's
    queue_n, table = _mmc_table(
        peak, saturation, slo, headroom, price_per_hour, capacity, limit["measured_limit_rps"]
    )
    check = erlang_c_check(queue_n, saturation, slo, single, what="the saturation rate")
    return {
        "recommended": max(by_capacity, queue_n or by_capacity),
        "by_capacity": by_capacity,
        "by_erlang_c": queue_n,
        "is_upper_bound": upper_bound,
        **check,
        **limit,
        "table": [asdict(option) for option in table],
        "reason": (
            f"{qualifier}peak {_rate(peak)} rps at ≤{1 - headroom:.0%} of the "
            f"{capacity:.1f} rps one replica sustains under {slo}, "
            + _check_words(check, f"an M/M/c tail (service rate {saturation:.1f} rps per replica")
            + why_bound
        ),
    }


def measured_limit(single: dict[str, Any]) -> dict[str, Any]:
    """{"measured_limit_rps": the lowest rate per replica, req/s, at which ``single``
    (capacity.json ``single_replica``) measured the SLO broken (the first level that broke
    it, the band's high end) or the server saturated (a saturation an overloaded level
    measured), "measured_limit_note": what it is}; both None without either. The M/M/c
    table's rows at or above it say "no (measured)" (``size_replicas``' ``broken_rps``)."""
    found = []
    upper = single.get("upper_rps")
    if single.get("upper_bound_source") == "first_bad_level" and _positive(upper):
        level = single.get("first_bad_level") or "a level"
        found.append(
            (float(upper), f"the run measured the SLO broken at {upper:,.1f} rps ({level})")
        )
    saturation = single.get("saturation_rps")
    if single.get("saturation_source") in MEASURED_SATURATION and _positive(saturation):
        found.append((float(saturation), f"the server saturated near {saturation:,.1f} rps"))
    if not found:
        return {"measured_limit_rps": None, "measured_limit_note": None}
    rate, why = min(found)
    note = f"{rate:,.1f} rps per replica or more: {why}, whatever the M/M/c model predicts"
    return {"measured_limit_rps": rate, "measured_limit_note": note}


def _positive(value: Any) -> bool:
    return isinstance(value, int | float) and math.isfinite(value) and value > 0


def _check_words(check: dict[str, Any], tail: str) -> str:
    """The reason's clause on the M/M/c check: "checked with <tail>)" when it supports the
    count (with the service rate's caveat, if any), else what the check says and why."""
    note = check["erlang_c_note"]
    if check["erlang_c_supports"]:
        return f"checked with {tail}{'; ' + note if note else ''})"
    return f"from the measured capacity alone: {note}"


def erlang_c_check(
    queue_n: int | None, service_rps: float, slo: Slo, single: dict[str, Any], *, what: str
) -> dict[str, Any]:
    """Whether the M/M/c check supports the recommended count, and why not.

    ``queue_n``: the smallest acceptable count of the M/M/c table (None when no row up to
    ``queueing.size_replicas``' maximum meets the SLO within headroom); ``service_rps``:
    the per-replica service rate mu (req/s) the table used, ``what`` names its source.
    Without a count, the note says why: with exponential service (mean 1/mu) every response
    takes at least its service time, so at any load and any count the model's q-quantile
    is at least the service time's, -ln(1 - q) / mu (the M/M/c tail as c grows: p99 of a
    mean 6.78 ms service time, 147.6 rps, is 4.605 x 6.78 = 31.2 ms); and when the run met
    the SLO at a rate (``single["lower_rps"]``, the best rate that met it), the model's
    M/M/1 quantile there is given beside it, the measurement the model contradicts. When
    ``service_rps`` is no more than the highest throughput the fit saw
    (``single["fit"]["measured_max_throughput"]``) and no overloaded level measured it
    (``saturation_source``), it is a lower bound on what a replica
    serves, so the table's predicted tails are upper bounds (said in the note). Returns
    {"erlang_c_supports": bool, "erlang_c_note": str ("" when nothing to say),
    "service_rate_is_lower_bound": bool}."""
    # an overloaded level's rate is the saturation measured, not a floor under it
    measured = single.get("saturation_source") in MEASURED_SATURATION
    floor = service_rps <= _highest_measured(single) * (1 + 1e-6) and not measured
    floor_words = (
        f"{what} {service_rps:.1f} rps is the highest throughput measured, a lower bound "
        "on what a replica serves, so the predicted tails are upper bounds"
        if floor
        else ""
    )
    if queue_n is not None:
        return {
            "erlang_c_supports": True,
            "erlang_c_note": floor_words,
            "service_rate_is_lower_bound": floor,
        }
    least = -math.log(1.0 - slo.quantile) / service_rps * 1000.0
    if least > slo.threshold_ms:
        why = (
            f"with exponential service at {service_rps:.1f} rps per replica, a mean of "
            f"{1000.0 / service_rps:.2f} ms, the model's {slo.column} is at least "
            f"{least:.1f} ms at any replica count, above the {slo.threshold_ms:g} ms SLO"
        )
    else:
        why = f"no replica count up to {_MAX_REPLICAS:,} meets {slo} within the headroom"
    met = single.get("lower_rps")
    if met and 0 < float(met) < service_rps:
        model = mmc_response_quantile(1, float(met), service_rps, slo.quantile) * 1000.0
        why += (
            f", while the run met the SLO at {float(met):.1f} rps, where the model predicts "
            f"{model:.1f} ms: the model over-states this server's tail"
        )
    if floor_words:
        why += f"; {floor_words}"
    return {
        "erlang_c_supports": False,
        "erlang_c_note": f"the M/M/c check does not support this count ({why})",
        "service_rate_is_lower_bound": floor,
    }


def _highest_measured(single: dict[str, Any]) -> float:
    """The highest throughput (req/s) the latency fit saw; 0.0 when unknown."""
    fit = single.get("fit")
    value = fit.get("measured_max_throughput") if isinstance(fit, dict) else None
    return float(value) if isinstance(value, int | float) and math.isfinite(value) else 0.0


def _rate(rps: float) -> str:
    """A rate in req/s as the reasons print it: whole numbers as they are, others to 0.1."""
    return f"{rps:g}" if float(rps).is_integer() else f"{rps:.1f}"


def _bound_words(single: dict[str, Any], capacity: float, what: str) -> tuple[bool, str, str]:
    """(whether the count is an upper bound, because ``single``'s capacity is a lower bound
    (bound ``lower``); the reason's leading "at most "; its closing clause naming ``what``
    and the ``capacity`` in rps), or (False, "", "") for a measured capacity."""
    if single.get("bound") != LOWER:
        return False, "", ""
    return (
        True,
        "at most ",
        f"; {what} is a lower bound (at least {capacity:.1f} rps), so this count is an upper bound",
    )


def _mix_replicas(
    single: dict[str, Any],
    peak: float,
    slo: Slo,
    headroom: float,
    price_per_hour: float | None,
) -> dict[str, Any]:
    """Replicas for a model mix on the mix's capacity C (``mix_sizing``): one basis for the
    count and its M/M/c table. The table's service rate per replica is
    ``mix_service_rate(C)`` (an M/M/1 replica whose SLO percentile is exactly the SLO at C:
    calibrated to the limiting model's measured capacity, not the pooled saturation, whose
    tail is the pooled percentile's), and a row is within headroom when peak / N <=
    C x (1 - headroom). So the count is the table's first acceptable row, never below
    by_capacity = ceil(peak / (C x (1 - headroom))). capacity.json ``replicas`` as
    ``replicas_for_peak``, with ``service_rate_rps``."""
    capacity = float(single["capacity_rps"])
    by_capacity = math.ceil(peak / (capacity * (1 - headroom)))
    service = mix_service_rate(capacity, slo)
    queue_n, table = _mmc_table(peak, service, slo, headroom, price_per_hour, capacity)
    upper_bound, qualifier, why_bound = _bound_words(single, capacity, "the mix's capacity")
    limiting = single.get("limiting_model")
    limited = f", limited by {limiting}" if limiting else ""
    check = erlang_c_check(queue_n, service, slo, {}, what="the calibrated service rate")
    tail = (
        f"an M/M/c tail calibrated to that capacity (service rate {service:.1f} rps per "
        f"replica: its {slo.column} is the SLO at {capacity:.1f} rps"
    )
    return {
        "recommended": max(by_capacity, queue_n or by_capacity),
        "by_capacity": by_capacity,
        "by_erlang_c": queue_n,
        "is_upper_bound": upper_bound,
        **check,
        "basis": MIX,
        "service_rate_rps": service,
        "table": [asdict(option) for option in table],
        "reason": (
            f"{qualifier}peak {_rate(peak)} rps at ≤{1 - headroom:.0%} of the {capacity:.1f} rps "
            f"in all one replica sustains at this model mix with every model within {slo}"
            f"{limited}, {_check_words(check, tail)}{why_bound}"
        ),
    }


def cost_section(
    single: dict[str, Any], replicas: dict[str, Any] | None, price: float | None, currency: str
) -> dict[str, Any] | None:
    """The capacity.json ``cost`` section in ``currency``; None (never zero) when no price
    was given. ``price``: per replica-hour. per_million_at_capacity = price / (capacity_rps x
    3600) x 1e6 (``cost.cost_per_million``; None without a capacity); per_month =
    recommended replicas x price x 730 h (``cost.monthly_cost``), both upper bounds when the
    capacity is a lower bound."""
    if price is None:
        return None
    capacity = single.get("capacity_rps")
    result = {
        "currency": currency,
        "price_per_replica_hour": price,
        "per_million_at_capacity": None if capacity is None else cost_per_million(price, capacity),
        "per_million_is_upper_bound": single.get("bound") == LOWER,
    }
    if replicas:
        result["per_month"] = monthly_cost(replicas["recommended"], price)
        result["per_month_replicas"] = replicas["recommended"]  # always on, 730 h a month
        result["per_month_is_upper_bound"] = bool(replicas.get("is_upper_bound"))
    return result


def autoscaled_cost(scaling: dict[str, Any], price: float | None) -> dict[str, Any]:
    """What the simulated (chosen) autoscaler costs beside the always-on figure:
    mean replicas = replica-seconds / traffic seconds of the chosen deployment's simulation;
    per month = mean replicas x price x 730 h (if that traffic repeated all month). {}
    when the simulation judged nothing (``autoscaling_verdict.too_short``)."""
    mode, seconds = scaling.get("deployment"), (scaling.get("traffic") or {}).get("seconds")
    key = {"RawDeployment": "hpa", "Serverless": "kpa"}.get(str(mode))
    result = ((scaling.get(key) or {}) if key else {}).get("result") or {}
    if price is None or not seconds or result.get("replica_seconds") is None:
        return {}
    if (scaling.get("verdict") or {}).get("judged") is False:  # too short to judge: no cost
        return {}
    mean = float(result["replica_seconds"]) / float(seconds)
    name = "RawDeployment + KEDA" if key == "hpa" else "Serverless + KPA"
    return {
        "autoscaled": {
            "deployment": name,
            "mean_replicas": mean,
            "traffic_seconds": float(seconds),
            "per_month": mean * price * HOURS_PER_MONTH,
        }
    }


def _mmc_table(
    peak: float,
    service_rps: float,
    slo: Any,
    headroom: float,
    price_per_hour: float | None,
    capacity_rps: float | None,
    broken_rps: float | None = None,
) -> tuple[int | None, list[ReplicaOption]]:
    """``size_replicas`` for a peak (req/s) on replicas of service rate ``service_rps``
    (req/s) under ``slo`` (its quantile and threshold in ms), keeping ``headroom`` on
    ``capacity_rps`` when given, no row meeting the SLO at ``broken_rps`` per replica or
    more: (the smallest acceptable count or None, the M/M/c table)."""
    return size_replicas(
        peak_rps=peak,
        service_time_ms=1000.0 / service_rps,
        slo_quantile=slo.quantile,
        slo_ms=slo.threshold_ms,
        headroom=headroom,
        price_per_replica_hour=price_per_hour,
        capacity_rps=capacity_rps,
        broken_rps=broken_rps,
    )


def sizing_peak(
    info: dict[str, Any],
    options: AnalyzeOptions,
    *,
    own_search: bool,
) -> float | None:
    """The peak rate (req/s) to size replicas for: ``--peak-rps``; else the busiest second
    of the ``--traffic`` scenario at real time (the traffic the autoscalers are simulated
    against, so the headline, min replicas and the cron pre-scale share one peak and one
    headroom: trial 7, a search analysed with --traffic spike gave 4 replicas without
    headroom and no headline while ``run spike --slo`` gave 5); else the run's own
    scenario's busiest second (``scaling_inputs.scenario_peak``), never for a capacity
    search's own levels (``own_search``: not traffic to size for). None without one.

    ``info``: run.json. Raises InputError for a --traffic scenario that does not load."""
    from benchctl.analysis.scaling_inputs import scenario_peak, traffic_for

    if options.peak_rps:
        return options.peak_rps
    if options.traffic:
        found = traffic_for(info, options.traffic, options.config_dir, None)
        return float(found[0].rps.max()) if found is not None and found[0].rps.size else None
    return None if own_search else scenario_peak(info)
