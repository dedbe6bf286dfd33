"""What ``benchctl compare`` found: one ``RunColumn`` per run, the ``Comparison``, the
ranking by capacity under the SLO and by cost per million inferences, and the ranking as
sentences (the terminal table: ``benchctl.reports.terminal.compare``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any


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


def rank(columns: Sequence[RunColumn]) -> dict[str, list[Ranked]]:
    """Runs ordered by capacity (highest first) and by cost per million (lowest first); a
    lower bound ranks by its "at least" figure and says so. Runs without a figure last.
    A cost place (``cost_place``) only among two or more runs with a price: a run analyzed
    without ``--price`` is not ranked against one with (trial 5: "cost #1: B" alone)."""
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
    by_cost = sorted(rows, key=lambda r: r.per_million if r.per_million else float("inf"))
    priced = [row for row in by_cost if row.per_million]
    if len(priced) >= 2:  # a place only among runs that have a price (never against none)
        places = {row.label: place for place, row in enumerate(priced, start=1)}
        by_cost = [replace(row, cost_place=places.get(row.label)) for row in by_cost]
    return {"capacity": by_capacity, "cost": by_cost}


def ranking_lines(comparison: Comparison) -> list[str]:
    """The ranking as plain sentences for the terminal."""
    lines = []
    for place, row in enumerate(comparison.ranking.get("capacity", []), start=1):
        if row.capacity_rps is None:
            if row.upper_rps is not None:  # analyzed, only a bound: unranked, said
                lines.append(
                    f"capacity (unranked): {row.label} below {row.upper_rps:,.1f} rps in all "
                    f"under {row.slo} (upper)"
                )
            continue
        at_least = "at least " if row.bound == "lower" else ""
        lines.append(
            f"capacity #{place}: {row.label} {at_least}{row.capacity_rps:,.1f} rps under "
            f"{row.slo} ({row.bound})"
        )
    costs = comparison.ranking.get("cost", [])
    for row in costs:
        if row.per_million is None:
            continue
        bound = f"{row.per_million_bound} " if row.per_million_bound else ""
        place = f"#{row.cost_place}" if row.cost_place else "(unranked)"
        lines.append(
            f"cost {place}: {row.label} {bound}{row.per_million:,.2f} {row.currency} "
            "per million inferences"
        )
    unpriced = [r.label for r in costs if r.per_million is None and r.capacity_rps is not None]
    if unpriced and any(row.per_million is not None for row in costs):
        lines.append(
            f"cost: {', '.join(unpriced)} analyzed without a price, so not ranked by cost "
            "(benchctl analyze RUN --slo ... --price 2.48/h)"
        )
    return lines
