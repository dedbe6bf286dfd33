"""One basis for sizing a model mix (issue 21): the rate, in all, at which every model of
the mix still meets its SLO at the mix's shares.

A run's headline (``single_replica``) judges every model's requests together. A mix whose
cheap model is most of the traffic can meet a p99 pooled over all its requests while the
costly model's own p99 broke: a mixture's CDF is the share-weighted mean of its models'
CDFs, so the pooled percentile never exceeds the worst model's, and is often well below
it. Sizing replicas, the M/M/c table, the autoscalers and the cost from the pooled figure
then promises an SLO the limiting model does not meet. ``size_mix`` replaces it, for
everything downstream, with the mix's capacity from the per-model bounds of
``model_capacity.model_capacities`` (each model's ``server_band_rps``: the total rate of
every model at its best good level and at its first bad one, offered for a search, served
otherwise, the same kind of rate as the headline's):

* ``low`` = the lowest of the judged models' best-good totals: every judged model met its
  SLO there. ``high`` = the lowest first-bad total of a model that broke its SLO (``measured``
  models), and the headline's own first bad level when it has one. The mix's capacity is
  ``low``: ``measured`` with band [low, high] when something broke above it, else a
  ``lower`` bound (at least ``low``).
* When the headline is already at or below ``low``, it holds for every judged model and
  stays the basis (``basis`` ``pooled``).
* A model that broke its SLO at every level measured (``upper``) leaves no number: the
  mix's capacity is below the total rate of its lowest level (bound ``upper``, capacity
  None), and nothing is sized from it.
* A model without enough successes for its percentile (``none``) is not judged: the
  figure rests on the others, and a warning names it. With no model judged the pooled
  headline stays the basis, with the same warning.

The mix's capacity is a total rate, so the KEDA query must count every model of the mix
(``scaling_inputs.rate_query``), and the M/M/c check rests on it too
(``mix_service_rate``).
"""

from __future__ import annotations

import math
from typing import Any

from benchctl.analysis.bounds import LOWER, MEASURED
from benchctl.analysis.fits import LatencyFit
from benchctl.analysis.model_capacity import UPPER
from benchctl.analysis.slo import Slo

MIX, POOLED = "mix", "pooled"  # single_replica["basis"]: what the sizing rests on


def size_mix(
    single: dict[str, Any],
    fit: LatencyFit | None,
    section: dict[str, Any],
    slo: Slo,
    warnings: list[str],
) -> tuple[dict[str, Any], LatencyFit | None]:
    """(the single_replica dict and latency model every downstream number of a model-mix run
    uses; see the module's rules).

    ``single``/``fit``: the pooled headline (``single_replica.single_replica``); ``section``:
    capacity.json's ``models`` section (``model_capacities``), to which ``sizing`` (basis,
    capacity_rps, bound, band_rps in req/s in all, limiting_model, judged and unjudged
    model names, rate ``offered`` or ``served``, sentence) is added and whose ``summary``
    gets the sizing sentence; ``warnings`` gets one line naming the models too few
    successes left unjudged. On the mix's basis the returned dict has ``basis`` ``mix``, the mix's
    capacity, bound and band, no fitted curve (the pooled curve is not the limiting
    model's; it is kept in ``pooled``) and the pooled saturation rate (the total rate the
    server served when overloaded, at the same shares); the returned fit is None, so the
    simulations judge each second by the mix's capacity. Raises nothing.
    """
    models: dict[str, dict[str, Any]] = section.get("models") or {}
    judged = {name: found for name, found in models.items() if _usable(found)}
    unjudged = sorted(name for name in models if name not in judged)
    kind = _kind(models)
    if unjudged:
        warnings.append(_unjudged_warning(unjudged, slo))
    basis = _basis(single, judged)
    sizing = {**basis, "judged": sorted(judged), "unjudged": unjudged, "rate": kind}
    sizing["sentence"] = _sentence(sizing, single, slo)
    section["sizing"] = sizing
    section["summary"] = [*(section.get("summary") or []), sizing["sentence"]]
    if sizing["basis"] == POOLED:
        return {**single, "basis": POOLED}, fit
    return _mixed_single(single, sizing, judged), None


def mix_service_rate(capacity_rps: float, slo: Slo) -> float:
    """The service rate (req/s) of one replica as an M/M/1 queue whose ``slo`` percentile of
    response time is exactly the SLO at ``capacity_rps``: response time in M/M/1 is
    exponential with rate mu - lambda, so its q-quantile is ln(1 / (1 - q)) / (mu - lambda);
    setting it to the SLO at lambda = capacity gives mu = capacity + ln(1 / (1 - q)) / SLO
    (seconds). The M/M/c table of a mix rests on it (calibrated to the mix's measured
    capacity: the pooled service rate would predict the pooled percentile, not the limiting
    model's). ValueError for a capacity that is not > 0."""
    if not (math.isfinite(capacity_rps) and capacity_rps > 0):
        raise ValueError(f"capacity_rps must be > 0, got {capacity_rps}")
    return capacity_rps + math.log(1.0 / (1.0 - slo.quantile)) / (slo.threshold_ms / 1000.0)


def _usable(found: Any) -> bool:
    """A model judged under the SLO: a bound other than ``none`` and a server band."""
    return (
        isinstance(found, dict)
        and found.get("bound") in (MEASURED, LOWER, UPPER)
        and isinstance(found.get("server_band_rps"), list)
        and len(found["server_band_rps"]) == 2
    )


def _kind(models: dict[str, dict[str, Any]]) -> str:
    """``offered`` (a search's levels) or ``served``: the kind of every model's totals."""
    kinds = {str(found.get("server_rate")) for found in models.values() if isinstance(found, dict)}
    return "offered" if kinds == {"offered"} else "served"


def _basis(single: dict[str, Any], judged: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """basis, capacity_rps, bound, band_rps, limiting_model (as ``size_mix`` says)."""
    pooled = {
        "basis": POOLED,
        "capacity_rps": single["capacity_rps"],
        "bound": single["bound"],
        "band_rps": [single["lower_rps"], single["upper_rps"]],
        "limiting_model": None,
    }
    if not judged:
        return pooled
    broke = {name: found for name, found in judged.items() if found["bound"] == UPPER}
    if broke:  # broke at every level measured: below its lowest level, no number
        name = min(broke, key=lambda n: (float(broke[n]["server_band_rps"][1]), n))
        below = float(broke[name]["server_band_rps"][1])
        return {
            "basis": MIX,
            "capacity_rps": None,
            "bound": UPPER,
            "band_rps": [0.0, below],
            "limiting_model": name,
        }
    lows = {name: float(found["server_band_rps"][0]) for name, found in judged.items()}
    low_model = min(lows, key=lambda n: (lows[n], n))
    low = lows[low_model]
    if single["capacity_rps"] <= low:  # the headline holds for every judged model
        return pooled
    highs = {
        name: float(found["server_band_rps"][1])
        for name, found in judged.items()
        if found["bound"] == MEASURED
    }
    limiting = min(highs, key=lambda n: (highs[n], n)) if highs else low_model
    ceilings = list(highs.values())
    if single["bound"] == MEASURED:  # the pooled requests broke it there too
        ceilings.append(float(single["upper_rps"]))
    if ceilings:
        band, bound = [low, max(low, min(ceilings))], MEASURED
    elif single.get("upper_bound_source") == "service_demand":  # the CPU bound holds for all
        band, bound = [low, max(low, float(single["upper_rps"]))], LOWER
    else:  # nothing measured bounds it above
        band, bound = [low, low], LOWER
    return {
        "basis": MIX,
        "capacity_rps": low,
        "bound": bound,
        "band_rps": band,
        "limiting_model": limiting,
    }


def _mixed_single(
    single: dict[str, Any], sizing: dict[str, Any], judged: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """The single_replica dict on the mix's basis; the pooled figure kept under ``pooled``."""
    low, high = sizing["band_rps"]
    limiting = judged.get(sizing["limiting_model"] or "", {})
    if sizing["bound"] in (MEASURED, UPPER):
        upper_source = "first_bad_level"
    else:
        upper_source = "service_demand" if high > low else "none"
    return {
        **single,
        "capacity_rps": sizing["capacity_rps"],
        "bound": sizing["bound"],
        "lower_rps": low,
        "upper_rps": high,
        "upper_bound_source": upper_source,
        # the per-model totals: a search's offered rates, else served (throughput)
        "band_rates": "offered" if sizing["rate"] == "offered" else "throughput",
        "offered_band_rps": [low, high] if sizing["rate"] == "offered" else None,
        "measured_capacity_rps": sizing["capacity_rps"],
        "best_good_level": limiting.get("best_good_level"),
        "first_bad_level": limiting.get("first_bad_level"),
        "extrapolated": False,
        "extrapolation": None,
        "extrapolation_dropped": None,
        "knee_rps": None,
        "fit": None,
        "basis": MIX,
        "limiting_model": sizing["limiting_model"],
        "pooled": {
            "capacity_rps": single["capacity_rps"],
            "bound": single["bound"],
            "band_rps": [single["lower_rps"], single["upper_rps"]],
            "fit": single.get("fit"),
            "extrapolation": single.get("extrapolation"),
        },
    }


def _sentence(sizing: dict[str, Any], single: dict[str, Any], slo: Slo) -> str:
    """The sizing line the terminal and the report print after the per-model lines."""
    kind, low, high = sizing["rate"], *sizing["band_rps"]
    name = sizing["limiting_model"]
    unjudged = (
        f" ({', '.join(sizing['unjudged'])} not judged: too few successes for its {slo.column})"
        if sizing["unjudged"]
        else ""
    )
    if sizing["basis"] == POOLED and not sizing["judged"]:
        return (
            "Sizing: replicas, autoscalers and cost rest on the headline, judged on all "
            f"requests together: no model of the mix had enough successes for its own "
            f"{slo.column}, so no model's own SLO is checked."
        )
    if sizing["basis"] == POOLED:
        return (
            f"Sizing: replicas, autoscalers and cost rest on the headline, "
            f"{_rps(single['capacity_rps'])} {kind} in all: every model of the mix met its "
            f"own {slo.column} at that rate or above{unjudged}."
        )
    if sizing["bound"] == UPPER:
        return (
            f"Sizing: no replica count, autoscaler or cost for this mix under {slo}: model "
            f"{name} broke its {slo.column} at every level where it was judged, the lowest at "
            f"{_rps(high)} {kind} in all, so the mix's capacity is below that; measure "
            f"lower load{unjudged}."
        )
    pooled = f"the {_rps(single['capacity_rps'])} judged on all requests together"
    if sizing["bound"] == MEASURED:
        return (
            f"Sizing: replicas, autoscalers and cost rest on the mix's capacity, "
            f"{_rps(low)} {kind} in all at this mix (every model met its own "
            f"{slo.column} at that rate; {name} broke it at {_rps(high)}), not on "
            f"{pooled}{unjudged}."
        )
    return (
        f"Sizing: replicas, autoscalers and cost rest on the mix's capacity, at least "
        f"{_rps(low)} {kind} in all at this mix (the highest total at which every model "
        f"was measured to meet its own {slo.column}), not on {pooled}{unjudged}."
    )


def _unjudged_warning(names: list[str], slo: Slo) -> str:
    listed = ", ".join(names)
    return (
        f"model mix: {listed} had too few successes at any level for its own {slo.column}: "
        "the sizing does not check its SLO (a longer run or a lower percentile would)"
    )


def _rps(value: float | None) -> str:
    return "—" if value is None else f"{value:,.1f} rps"
