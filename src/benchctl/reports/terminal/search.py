"""The capacity search on the terminal: its plan (``--dry-run``), its run directory, one
line per level as it is decided, and how ``run SCENARIO --slo`` goes on from it (the search
failed, or the scenario's traffic is played next). search/driving.py and slo_run.py call
these; the wording lives here."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from benchctl.durations import format_duration

if TYPE_CHECKING:
    from rich.console import Console

    from benchctl.analysis.slo import Slo
    from benchctl.config import CapacityScenario
    from benchctl.search.levels import LevelRecord


def print_search_plan(console: Console, scenario: CapacityScenario) -> None:
    """What a capacity search would do (``--dry-run``): ``search_plan_line``."""
    console.print(search_plan_line(scenario))


def print_search_directory(console: Console, path: Path, slo: Slo) -> None:
    """``capacity search: PATH (SLO ...)`` (the path in bold), once the search's folder exists."""
    console.print(f"capacity search: [bold]{path}[/] (SLO {slo})")


def print_level(
    console: Console, level: LevelRecord, column: str, models: Sequence[str] = ()
) -> None:
    """One capacity-search level as it is decided (``level_line``; ``models``: a model
    mix's names, whose requests the level judged pooled)."""
    console.print(level_line(level, column, models), highlight=False)


def print_no_level_met(console: Console, slo: Slo, reason: str) -> None:
    """A search none of whose levels met ``slo``, and why it stopped (``run capacity``)."""
    console.print(f"[red]no level met {slo}[/]: {reason}")


def print_search_not_completed(console: Console, status: str, reason: str) -> None:
    """``run SCENARIO --slo``: the search ended ``status`` (or found nothing) for ``reason``,
    so the scenario's traffic is not played."""
    console.print(f"[red]capacity search {status}[/]: {reason}; traffic not played")


def print_now_playing(console: Console, scenario: str) -> None:
    """``run SCENARIO --slo``: the search is done; the scenario's traffic comes next."""
    console.print(f"now playing {scenario} on the same target…")


def search_plan_line(s: CapacityScenario) -> str:
    """What a capacity search would do (``--dry-run``): the climbing levels (doubling from
    ``start_rate``, the last one ``max_rate``: search/levels.py ``next_rate``), the
    bisection, how long a level is held and the longest the whole search may take
    (``max_duration``: no level starts that cannot finish within it)."""
    climb = climbing_levels(s.start_rate, s.max_rate)
    shown = ", ".join(f"{rate:,g}" for rate in climb[:12]) + (", …" if len(climb) > 12 else "")
    return (
        f"capacity search: up to {len(climb)} levels climbing at {shown} rps until one breaks "
        f"the SLO, then bisection between the last good and the first bad level to "
        f"{s.resolution:.0%}; each level held until {s.stable_windows} windows of "
        f"≥{s.window:g}s agree (at most {format_duration(s.max_hold)}, and a "
        f"{format_duration(s.cooldown)} cooldown after a level that broke it); the whole "
        f"search at most {format_duration(search_longest_s(s))} (max_duration "
        f"{format_duration(s.max_duration)}, and a last cooldown of at most "
        f"{format_duration(s.max_hold)})"
    )


def search_longest_s(s: CapacityScenario) -> float:
    """The longest a capacity search may take, in s: no level starts that cannot finish
    within ``max_duration``, but the cooldown after a last level that broke the SLO (at most
    ``max_hold``, search/driving.py) may follow it: max_duration + max_hold (300 + 30)."""
    return s.max_duration + s.max_hold


def climbing_levels(start_rate: float, max_rate: float) -> list[float]:
    """The rates (req/s) a search climbs through while no level breaks the SLO: the start
    rate, doubled each level, the last one ``max_rate`` (10 to 5000: 10, 20, 40, 80, 160,
    320, 640, 1280, 2560, 5000)."""
    rates = [min(start_rate, max_rate)]
    while rates[-1] < max_rate:
        rates.append(min(rates[-1] * 2, max_rate))
    return rates


def print_slo_run_plan(
    console: Console, scenario: str, slo: Slo, search_max_s: float, traffic_s: float
) -> None:
    """``run SCENARIO --slo ... --dry-run``: the three stages and the longest time in all,
    before the search's plan line and the scenario's plan (``search_max_s``: the search's
    longest, ``search_longest_s``; ``traffic_s``: the scenario's duration, both in s)."""
    console.print(
        f"[bold]{scenario} under {slo}[/]: a capacity search on the target first, then "
        f"{format_duration(traffic_s)} of {scenario} traffic, then the analysis and report: "
        f"at most about {format_duration(search_max_s + traffic_s)} in all (the search at "
        f"most {format_duration(search_max_s)}, launching the server not counted)",
        highlight=False,
    )


def level_line(level: LevelRecord, column: str, models: Sequence[str] = ()) -> str:
    """One capacity-search level as it is decided: its SLO percentile (``column``, e.g.
    p99) in ms, achieved vs arriving rate, errors, the verdict (markup) and why. For a
    model mix (``models``: its names) the search judges every model's requests pooled,
    and the answer later judges each model by its own percentile, so the mix's capacity
    may lie below a level said good here: the line says the percentile and verdict are
    pooled ("p90 of small+big pooled ...: good (pooled)"), never a bare "good". A level
    within every bound but never stable is "unsettled, not judged" (``analysis.bounds.
    unsettled``: the answer counts it as neither met nor broken)."""
    verdict = level.verdict
    mark = "—" if verdict.latency_ms is None else f"{verdict.latency_ms:,.1f} ms"
    colour = "green" if verdict.good else "red"
    said = "good" if verdict.good else "broke the SLO"
    if verdict.interrupted:  # stopped before decided: no verdict about the SLO
        colour, said = "yellow", "interrupted"
    elif verdict.good and not verdict.stable:  # never stable: neither met nor broke it
        colour, said = "yellow", "unsettled, not judged"
    if models and not verdict.interrupted:
        said += " (pooled)"
    if models:
        column = f"{column} of {'+'.join(models)} pooled"
    return (
        f"  {level.name}: {column} {mark}, achieved {verdict.achieved_rps:,.1f} rps "
        f"of {verdict.arrived_rps:,.1f} rps arriving in the same windows "
        f"({verdict.ratio:.0%}), errors {verdict.error_rate:.1%}: "
        f"[{colour}]{said}[/] "
        f"after {level.hold_s:.0f}s ({verdict.reason})" + whole_level_note(level, column)
    )


def whole_level_note(level: LevelRecord, column: str) -> str:
    """The level's SLO percentile over every request it measured (search.json
    ``measured_latency_ms``: its row in summary.json and the report, or above it while some
    were unanswered) where it differs from the judged windows' that the line shows:
    ``"; p99 95.0 ms over all it measured"``; "" when it is the same to 0.1 ms, absent, or
    the level was interrupted."""
    verdict = level.verdict
    whole, mark = verdict.measured_latency_ms, verdict.latency_ms
    if (
        whole is None
        or verdict.interrupted
        or (mark is not None and f"{whole:.1f}" == f"{mark:.1f}")
    ):
        return ""
    return f"; {column} {whole:,.1f} ms over all it measured"
