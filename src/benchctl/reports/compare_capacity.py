"""A run's capacity as ``benchctl compare`` shows it, from the capacity.json ``benchctl
analyze`` wrote: the table's capacity cell (a figure with its bound, only an upper bound for a
model mix whose limiting model broke its SLO everywhere, or why there is none) and the numbers
the ranking and the cost column use. Nothing is recomputed here."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from benchctl.analysis.slo import Slo
from benchctl.reports.html_format import fmt_rps
from benchctl.reports.views import as_dict
from benchctl.rundir import ABSENT, CAPACITY, NOT_OBJECT, UNREADABLE, Capacity, read_capacity

NOT_ANALYZED = "not analyzed"


def capacity_numbers(run_dir: Path) -> dict[str, Any]:
    """capacity_rps, bound, SLO and cost per million from capacity.json (empty if absent or
    unreadable; a version 1 document's capacity comes from its single_replica)."""
    document = read_capacity(run_dir)
    if document.data is None and document.problem != NOT_OBJECT:
        return {}
    capacity = Capacity.lenient(document.get())
    single, cost = capacity.section("single_replica"), capacity.section("cost")
    per_million = cost.get("per_million_at_capacity")
    return {
        **upper_only(document.get()),
        "capacity_rps": capacity.number("capacity_rps"),
        "bound": str(capacity.bound or single.get("bound") or "measured"),
        "capacity_slo": str(capacity.slo or ""),
        "per_million": float(per_million) if isinstance(per_million, int | float) else None,
        "currency": str(cost.get("currency") or "USD"),
    }


def capacity_cell(run_dir: Path, slo: Slo | None) -> str:
    """Capacity of one replica at the SLO, as ``benchctl analyze`` wrote it."""
    read = read_capacity(run_dir)
    if read.problem == ABSENT:
        return NOT_ANALYZED
    if read.problem == UNREADABLE:
        return f"{CAPACITY} unreadable"
    document = read.get()
    single = as_dict(document.get("single_replica"))
    value = single.get("capacity_rps")
    if isinstance(value, int | float):
        bound = document.get("bound") or single.get("bound") or "measured"
        at_least = "≥ " if bound == "lower" else ""
        text = f"{at_least}{fmt_rps(value)} req/s at {document.get('slo') or 'the SLO'} ({bound})"
    else:  # a model mix whose limiting model broke its SLO everywhere: only a bound
        text = bound_only(document, single) or f"analyzed, no capacity in {CAPACITY}"
    if slo is not None and document.get("slo") not in (None, str(slo)):
        text += f"; not analyzed for {slo}"
    return text


def upper_only(document: Any) -> dict[str, Any]:
    """``{"upper_rps": Y}`` for a capacity.json with only an upper bound (a model mix whose
    limiting model broke its SLO everywhere: no figure, less than Y req/s in all), else {}."""
    document = as_dict(document)
    single = as_dict(document.get("single_replica"))
    band = document.get("capacity_band_rps") or [single.get("lower_rps"), single.get("upper_rps")]
    high = band[1] if isinstance(band, list) and len(band) == 2 else None
    bound = document.get("bound") or single.get("bound")
    if bound != "upper" or not isinstance(high, int | float) or isinstance(high, bool):
        return {}
    return {"upper_rps": float(high)}


def bound_only(document: dict[str, Any], single: dict[str, Any]) -> str | None:
    """A capacity.json with a bound but no figure, as ``benchctl analyze`` says it: a model
    mix whose limiting model broke its own SLO at every level judged sustains less than the
    band's high end in all (``bound: upper``): "< Y req/s in all at SLO (upper bound: ...)".
    None when the document holds no such bound."""
    high = upper_only(document).get("upper_rps")
    if high is None:
        return None
    sizing = as_dict(as_dict(document.get("models")).get("sizing"))
    name = sizing.get("limiting_model") or single.get("limiting_model")
    who = f"model {name}" if name else "a model of the mix"
    return (
        f"< {fmt_rps(high)} req/s in all at {document.get('slo') or 'the SLO'} (upper bound: "
        f"{who} broke its own SLO at every level judged)"
    )
