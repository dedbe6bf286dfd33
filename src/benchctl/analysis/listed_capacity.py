"""The capacity a run listing (``benchctl runs``) shows beside a run: what ``analyze`` wrote
(capacity.json), else, for a capacity search, the bound its own levels support.

A capacity search's requests span every level it tried, so their pooled percentiles mean
nothing; its answer is a rate. Without an analysis that rate is only known as a bound: the
rates that arrived at the best level that met the SLO and at the first above it that broke
it (``bounds.capacity_bound`` without a fitted curve), "at least" when none broke, "less
than" the lowest level when every one broke.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from benchctl.analysis.answer import rps_text
from benchctl.analysis.bounds import LOWER, capacity_bound, search_levels
from benchctl.errors import InputError
from benchctl.rundir import CAPACITY, SEARCH, RunDir


@dataclass(frozen=True)
class ListedCapacity:
    """``text``: e.g. "capacity 71.2 rps under p99<=200ms"; ``search``: the run is a capacity
    search (its pooled latency percentiles are not shown)."""

    text: str
    search: bool
    cell: str = "—"  # the runs table's capacity column: capacity.json's figure, else "—"


def listed_capacity(run: RunDir) -> ListedCapacity | None:
    """The capacity to list beside ``run``, or None (not analyzed and not a search, or its
    files are damaged). capacity.json's ``capacity_rps`` and ``bound`` when present (schema 2;
    ``upper``: less than the band's high end); else, for a run with search.json, the band
    of its decided levels (req/s, arrived where known), as a bound. Raises nothing."""
    search = _read(run, SEARCH)
    document = _read(run, CAPACITY)
    analyzed = _analyzed(document)
    if analyzed is not None:
        return ListedCapacity(analyzed, search is not None, capacity_cell(document))
    if search is None:
        return None
    text = _search_bound(search)
    return ListedCapacity(text, True) if text else None


def _read(run: RunDir, name: str) -> dict[str, Any] | None:
    """``name`` of ``run`` as a dict, or None when absent or unreadable."""
    if not (run.path / name).is_file():
        return None
    try:
        data = run.read_json(name)
    except (InputError, OSError):
        return None
    return data if isinstance(data, dict) else None


def _analyzed(doc: dict[str, Any] | None) -> str | None:
    """capacity.json's headline: "capacity [at least|less than] N rps under SLO", or None."""
    if doc is None:
        return None
    slo, bound, figure = doc.get("slo", "?"), doc.get("bound"), doc.get("capacity_rps")
    band = doc.get("capacity_band_rps") or [None, None]
    if bound == "upper" and _number(band[1]):
        return f"capacity less than {rps_text(band[1])} under {slo}"
    if not _number(figure):
        return None
    return f"capacity {'at least ' if bound == LOWER else ''}{rps_text(figure)} under {slo}"


def capacity_cell(doc: dict[str, Any] | None) -> str:
    """capacity.json's figure for the runs table's capacity column, in req/s: "43.4",
    "≥147.6" (a lower bound), "<60.0" (an upper bound: the band's high end); "—" without
    a figure (not analyzed, or a document without one)."""
    if doc is None:
        return "—"
    bound, figure = doc.get("bound"), doc.get("capacity_rps")
    band = doc.get("capacity_band_rps") or [None, None]
    if bound == "upper" and isinstance(band, list) and len(band) > 1 and _number(band[1]):
        return f"<{band[1]:,.1f}"
    if not _number(figure):
        return "—"
    return f"{'≥' if bound == LOWER else ''}{figure:,.1f}"


def _search_bound(search: dict[str, Any]) -> str | None:
    """A search's own bound on the capacity, not analyzed: "capacity between L and H rps
    under SLO", "at least L rps" (never broke) or "less than R rps" (R: the lowest level's
    rate; every decided level broke it); None without a decided level."""
    try:
        levels = search_levels(search)
    except (KeyError, TypeError, ValueError):
        return None
    if not levels:
        return None
    slo = search.get("slo") or "the search's SLO"
    found = capacity_bound(levels, 0.0)  # the levels' own verdicts decide
    if found is None:
        lowest = min(level.tested_rps for level in levels)
        return f"capacity less than {rps_text(lowest)} under {slo} (every level broke it)"
    if found.bound == LOWER:
        return f"capacity at least {rps_text(found.band[0])} under {slo} (it never broke)"
    low, high = found.band
    return (
        f"capacity between {low:,.1f} and {rps_text(high)} under {slo} (the search's levels; "
        "`benchctl analyze` gives the figure)"
    )


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
