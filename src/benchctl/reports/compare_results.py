"""What ``benchctl compare`` found: one ``RunColumn`` per run, the ``Comparison``, the
ranking by capacity under the SLO and by cost per million inferences, and the ranking as
sentences (the terminal table: ``benchctl.reports.terminal.compare``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from benchctl.amounts import amount_text


@dataclass(frozen=True)
class RunColumn:
    """One compared run: what the table shows about it."""

    label: str
    color: str
    id: str
    path: str
    scenario: str
    target: str
    status: str
    saturated: bool
    overall: dict[str, Any]
    capacity: str
    slo_met: bool | str | None
    resources: tuple[tuple[str, str], ...]
    bottleneck: str
    capacity_rps: float | None = None
    bound: str = ""
    capacity_slo: str = ""
    per_million: float | None = None
    currency: str = "USD"
    upper_rps: float | None = None  # a bound with no figure (a mix: "< upper_rps in all")
    doubts: tuple[str, ...] = ()  # why its SLO verdict is not established (verdict_doubts)


@dataclass(frozen=True)
class Comparison:
    """What ``write_compare`` produced: one column per run, the not-comparable differences,
    the SLO, the page written, the ranking and the notes."""

    runs: tuple[RunColumn, ...]
    differences: tuple[str, ...]
    slo: str | None
    output: Path
    ranking: dict[str, list[Any]] = field(default_factory=dict)
    notes: tuple[str, ...] = ()  # warnings that do not make runs incomparable (targets)


@dataclass(frozen=True)
class Ranked:
    """One run's place by capacity under the SLO and by cost per million inferences."""

    label: str
    capacity_rps: float | None
    bound: str  # "measured", "lower" (at least) or "" (not analyzed)
    slo: str
    per_million: float | None
    currency: str
    per_million_bound: str  # "at most" when capacity is a lower bound
    upper_rps: float | None = None  # bound "upper" (no figure): below this rate in all
    cost_place: int | None = None  # place by cost; None when it has no price or ranks alone
    capacity_place: int | None = None  # place by capacity; None when the data cannot order it
    unranked_why: str = ""  # why a run with a capacity figure has no place
    cost_why: str = ""  # why a run with a price has no cost place


def rank(
    columns: Sequence[RunColumn], not_comparable: Sequence[str] = ()
) -> dict[str, list[Ranked]]:
    """Runs ordered by capacity (highest first) and by cost per million (lowest first).

    A place is given only where the data orders the runs: measured figures order each
    other; a lower bound "at least L" ranks only when L is at or above every measured
    figure and no other lower bound is among the ranked runs (an "at least 10" says
    nothing against a measured 43 or another "at least"); its cost "at most P" likewise
    only at or below every measured cost. Runs labelled in ``not_comparable`` (they differ
    from run A in scenario, payload, host or time scale) are never ranked with the others.
    An unranked run keeps its figure and says why (``unranked_why``, ``cost_why``). A cost
    place only among two or more runs with a price (trial 5: "cost #1: B" alone)."""
    excluded = set(not_comparable)
    rows = [
        Ranked(
            c.label,
            c.capacity_rps,
            c.bound,
            c.capacity_slo,
            c.per_million,
            c.currency,
            "at most" if c.bound == "lower" else "",
            c.upper_rps,
        )
        for c in columns
    ]
    by_capacity = sorted(rows, key=lambda r: -r.capacity_rps if r.capacity_rps else float("inf"))
    by_capacity = _placed(by_capacity, excluded, cost=False)
    by_cost = sorted(rows, key=lambda r: r.per_million if r.per_million else float("inf"))
    by_cost = _placed(by_cost, excluded, cost=True)
    places = {row.label: (row.capacity_place, row.unranked_why) for row in by_capacity}
    by_cost = [
        replace(row, capacity_place=places[row.label][0], unranked_why=places[row.label][1])
        for row in by_cost
    ]
    costs = {row.label: (row.cost_place, row.cost_why) for row in by_cost}
    by_capacity = [
        replace(row, cost_place=costs[row.label][0], cost_why=costs[row.label][1])
        for row in by_capacity
    ]
    return {"capacity": by_capacity, "cost": by_cost}


def _unordered(measured: float, bound: float, *, cost: bool) -> bool:
    """Does a bound (capacity "at least", cost "at most") fail to order against a measured
    figure: a measured capacity above "at least", a measured cost below "at most"."""
    return measured < bound if cost else measured > bound


def _placed(ordered: list[Ranked], excluded: set[str], *, cost: bool) -> list[Ranked]:
    """``ordered`` (best first) with places where the data orders the runs (``rank``)."""

    def figure(row: Ranked) -> float | None:
        return row.per_million if cost else row.capacity_rps

    unit = "per million" if cost else "rps"
    shown = [row for row in ordered if figure(row)]
    candidates = [row for row in shown if row.label not in excluded]
    measured = [row for row in candidates if row.bound != "lower"]
    bounds = [row for row in candidates if row.bound == "lower"]
    why: dict[str, str] = {}
    for row in shown:
        if row.label in excluded:
            why[row.label] = "not comparable with A (see the warning), so not ranked with it"
    for row in bounds:
        value = figure(row) or 0.0
        beaten = [m for m in measured if _unordered(figure(m) or 0.0, value, cost=cost)]
        others = [b.label for b in bounds if b is not row]
        word = "at most" if cost else "at least"
        if beaten:
            best = beaten[0]
            why[row.label] = (
                f"{word} {value:,.2f} {unit} does not order it against "
                f"{best.label}'s measured {figure(best):,.2f} {unit}: its "
                f"{'cost' if cost else 'capacity'} is only a bound"
            )
        elif others:
            why[row.label] = (
                f"{word} {value:,.2f} {unit} does not order it against "
                f"{', '.join(others)} (also only a bound)"
            )
    placed = [row for row in candidates if row.label not in why]
    if cost and len(placed) < 2:  # a cost place only among two or more priced runs
        placed = []
    places = {row.label: place for place, row in enumerate(placed, start=1)}
    field_place, field_why = (
        ("cost_place", "cost_why") if cost else ("capacity_place", "unranked_why")
    )
    return [
        replace(row, **{field_place: places.get(row.label), field_why: why.get(row.label, "")})
        for row in ordered
    ]


def ranking_lines(comparison: Comparison) -> list[str]:
    """The ranking as plain sentences for the terminal."""
    lines = []
    for row in comparison.ranking.get("capacity", []):
        if row.capacity_rps is None:
            if row.upper_rps is not None:  # analyzed, only a bound: unranked, said
                lines.append(
                    f"capacity (unranked): {row.label} below {row.upper_rps:,.1f} rps in all "
                    f"under {row.slo} (upper)"
                )
            continue
        at_least = "at least " if row.bound == "lower" else ""
        place = f"#{row.capacity_place}" if row.capacity_place else "(unranked)"
        why = f": {row.unranked_why}" if row.unranked_why else ""
        lines.append(
            f"capacity {place}: {row.label} {at_least}{row.capacity_rps:,.1f} rps under "
            f"{row.slo} ({row.bound}){why}"
        )
    costs = comparison.ranking.get("cost", [])
    for row in costs:
        if row.per_million is None:
            continue
        bound = f"{row.per_million_bound} " if row.per_million_bound else ""
        place = f"#{row.cost_place}" if row.cost_place else "(unranked)"
        why = f": {row.cost_why}" if row.cost_why else ""
        lines.append(
            f"cost {place}: {row.label} {bound}{amount_text(row.per_million)} {row.currency} "
            f"per million inferences{why}"
        )
    unpriced = [r.label for r in costs if r.per_million is None and r.capacity_rps is not None]
    if unpriced and any(row.per_million is not None for row in costs):
        lines.append(
            f"cost: {', '.join(unpriced)} analyzed without a price, so not ranked by cost "
            "(benchctl analyze RUN --slo ... --price 2.48/h)"
        )
    return lines
