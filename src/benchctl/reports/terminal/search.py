"""The capacity search on the terminal: its plan (``--dry-run``) and one line per level
as it is decided."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from benchctl.config import CapacityScenario
    from benchctl.search.levels import LevelRecord


def search_plan_line(s: CapacityScenario) -> str:
    """What a capacity search would do (``--dry-run``): levels, bisection, holds, bounds."""
    return (
        f"capacity search: levels from {s.start_rate:g} rps doubling up to {s.max_rate:g} rps, "
        f"then bisection to {s.resolution:.0%}; each level held until {s.stable_windows} "
        f"windows of ≥{s.window:g}s agree (at most {s.max_hold:g}s); at most "
        f"{s.max_duration:g}s in all"
    )


def level_line(level: LevelRecord, column: str) -> str:
    """One capacity-search level as it is decided: its SLO percentile (``column``, e.g.
    p99) in ms, achieved vs arriving rate, errors, the verdict (markup) and why."""
    verdict = level.verdict
    mark = "—" if verdict.latency_ms is None else f"{verdict.latency_ms:,.1f} ms"
    colour = "green" if verdict.good else "red"
    said = "good" if verdict.good else "broke the SLO"
    if verdict.interrupted:  # stopped before decided: no verdict about the SLO
        colour, said = "yellow", "interrupted"
    return (
        f"  {level.name}: {column} {mark}, achieved {verdict.achieved_rps:,.1f} rps "
        f"of {verdict.arrived_rps:,.1f} rps arriving in the same windows "
        f"({verdict.ratio:.0%}), errors {verdict.error_rate:.1%}: "
        f"[{colour}]{said}[/] "
        f"after {level.hold_s:.0f}s ({verdict.reason})"
    )
