"""Checks of a capacity answer against the run it belongs to.

``traffic_contradictions``: phases of the run's own traffic offered at or below the searched
capacity that broke the SLO anyway (the capacity does not hold under this traffic).
``busy_host``: the host's CPU was busy with processes other than the server and the
generator (other tenants), so every latency measured is partly theirs.
"""

from __future__ import annotations

import math
import re
from typing import Any

import pandas as pd

from benchctl.analysis.points import min_samples
from benchctl.analysis.slo import Slo

CONTRADICTED = "contradicted by this run's own traffic"
BUSY_HOST = "busy host"
BUSY_HOST_PERCENT = 80.0  # host CPU (mean over cores) from which neighbours matter
NEIGHBOURS_SHARE = 0.25  # share of the host's cores used by other processes


def traffic_contradictions(
    phases: dict[str, Any],
    capacity_rps: float | None,
    slo: Slo,
    plan: dict[str, Any] | None = None,
) -> list[str]:
    """One sentence per phase offered at or below ``capacity_rps`` whose SLO percentile broke.

    ``phases`` is summary.json ``phases`` (name -> offered_rps, ok, latency_ms {pNN: ms},
    seconds), or a capacity search's levels (``search_level_phases``: the figures search.json
    judged, with ``window`` saying over which windows); warm-up and phases with fewer
    successes than the percentile needs (2 / (1 - q)) are
    skipped, and so is a phase (any of its segments) ending after the planned rate first
    exceeded the capacity (``plan``: run.json ``plan`` with ``curve`` [[t, rps]] and
    ``phases`` [{name, start, end}]): an overload's backlog may carry into it. Each sentence
    says over which requests its percentile was taken (the whole phase, or the windows the
    search judged). Returns [] when there is no capacity or nothing contradicts it.
    """
    if not capacity_rps or not math.isfinite(capacity_rps):
        return []
    after = _after_overload(plan or {}, capacity_rps)
    found = []
    for name, phase in phases.items():
        if name == "warmup" or name in after or not isinstance(phase, dict):
            continue
        if re.fullmatch(r"c=\d+", str(name)):  # closed loop: ordered by concurrency (sweep.py)
            continue
        latency = phase.get("latency_ms")
        offered = _number(phase.get("offered_rps"))
        value = _number(latency.get(slo.column) if isinstance(latency, dict) else None)
        ok = _number(phase.get("ok"))
        if offered is None or value is None or ok is None or ok < min_samples(slo.quantile):
            continue
        if offered <= capacity_rps and value > slo.threshold_ms:
            found.append(
                f"{CONTRADICTED}: phase '{name}' "
                f"{phase.get('rate_text') or f'offered {offered:,.1f} rps'}, at or below the "
                f"searched capacity of {capacity_rps:,.1f} rps, and its {slo.column} "
                f"{_window(phase)} was {value:,.0f} ms, above the SLO's "
                f"{slo.threshold_ms:g} ms: one replica does "
                "not sustain this traffic at the searched capacity (bursts, a busier host, "
                "or a search too short to see it); treat the replica count as too low"
            )
    return found


def _window(phase: dict[str, Any]) -> str:
    """Over which requests a phase's percentile was taken: its ``window`` (a search level),
    else the whole phase (summary.json: every success of the phase, ``seconds`` long)."""
    if isinstance(phase.get("window"), str):
        return str(phase["window"])
    seconds = _number(phase.get("seconds"))
    return f"over the whole phase ({seconds:,.1f} s)" if seconds else "over the whole phase"


def search_level_phases(search: dict[str, Any], slo: Slo) -> dict[str, Any]:
    """A capacity search's levels (search.json, possibly judged again under ``slo`` by
    ``search_rejudge``) as ``traffic_contradictions`` phases: per level the rate that arrived
    in its judged windows (req/s; the offered rate for an older search.json), as the capacity
    band's ends are, its successes and its SLO percentile exactly as search.json judged them, and
    ``window``: the windows that percentile was taken over (``judged_from``..``judged_to``,
    seconds on the search run's clock, by completion time; or, for a search judged again
    under another SLO, the level's measured requests by send time). A level without a
    percentile is left out.

    ``search``: search.json's object; ``slo``: the objective (its ``column``, e.g. ``p99``, keys the
    latency). Returns ``{level name: {"offered_rps" (requests/s), "rate_text", "ok", "latency_ms":
    {column: ms}, "window"}}``. Malformed levels are skipped; raises nothing of its own.
    """
    rejudged = search.get("search_slo") is not None
    phases: dict[str, Any] = {}
    for level in search.get("levels") or []:
        if not isinstance(level, dict) or _number(level.get("latency_ms")) is None:
            continue
        offered, arrived = _number(level.get("offered_rps")), _number(level.get("arrived_rps"))
        tested = arrived if arrived and offered else offered  # the capacity's kind of rate
        phases[str(level.get("name"))] = {
            "offered_rps": tested,
            "rate_text": (
                f"had {arrived:,.1f} rps arrive in its judged windows ({offered:,.1f} offered)"
                if arrived and offered
                else None
            ),
            "ok": level.get("samples"),
            "latency_ms": {slo.column: level.get("latency_ms")},
            "window": _level_window(level, rejudged),
        }
    return phases


def _level_window(level: dict[str, Any], rejudged: bool) -> str:
    """Which requests a search level's percentile covers, in words (see ``search_level_phases``)."""
    if rejudged:
        start, end = _number(level.get("measured_from")), _number(level.get("decided_at"))
        span = f", t={start:,.1f}–{end:,.1f} s" if start is not None and end is not None else ""
        return f"over the level's measured requests (by send time{span}, judged again)"
    start, end = _number(level.get("judged_from")), _number(level.get("judged_to"))
    if start is not None and end is not None:
        return (
            f"in the windows the search judged (search.json: completions at "
            f"t={start:,.1f}–{end:,.1f} s)"
        )
    return "in the windows the search judged (search.json)"


def _number(value: Any) -> float | None:
    """``value`` as a finite float, or None for anything else (a damaged summary.json may
    hold text, null, NaN or a list where a number belongs: such a phase is not judged)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _after_overload(plan: dict[str, Any], capacity_rps: float) -> set[str]:
    """Names of the plan's phases with a segment ending after the planned rate first went
    above ``capacity_rps``."""
    over = [float(t) for t, rate in plan.get("curve") or [] if rate > capacity_rps]
    if not over:
        return set()
    first = min(over)
    return {str(p["name"]) for p in plan.get("phases") or [] if float(p["end"]) > first}


def busy_host(windows: pd.DataFrame, cpus: int | None) -> str | None:
    """A sentence when other processes kept the host's CPU busy during the run, else None.

    Host CPU is the mean over cores (0-100 %); server and generator CPU are in % of one
    core (the generator column is its busiest process). Other processes' cores =
    host % / 100 x cores - (server + generator) / 100. Warns when the host averaged at
    least ``BUSY_HOST_PERCENT`` and the others used at least ``NEIGHBOURS_SHARE`` of its
    cores.

    ``windows``: the analysis windows (host_cpu_percent, server_cpu_percent, generator_cpu_percent);
    ``cpus``: the host's logical CPUs (None or 0: no sentence). BUSY_HOST_PERCENT = 80 (% of the
    host) and NEIGHBOURS_SHARE = 0.25 (of its cores) are this project's thresholds, not a
    standard's. Raises nothing of its own.
    """
    others = other_cores(windows, cpus)
    if others is None or not cpus:
        return None
    host = windows["host_cpu_percent"].dropna()
    if host.mean() < BUSY_HOST_PERCENT or others < NEIGHBOURS_SHARE * cpus:
        return None
    server = _mean(windows, "server_cpu_percent") / 100
    generator = _mean(windows, "generator_cpu_percent") / 100
    return (
        f"{BUSY_HOST}: host CPU averaged {host.mean():.0f}% of {cpus} cores while the server "
        f"used {server:.2f} and the generator {generator:.2f} of a core: other processes "
        f"used about {others:.2f} cores, so every latency and capacity here is partly "
        "theirs; rerun on a quiet host"
    )


def other_cores(windows: pd.DataFrame, cpus: int | None) -> float | None:
    """Cores used on average by processes other than the server and the generator:
    host % / 100 x cores - (server + generator) / 100 (``busy_host``'s arithmetic, the
    percents averaged over ``windows``); None without ``cpus`` or host CPU samples."""
    if not cpus or windows.empty or "host_cpu_percent" not in windows:
        return None
    host = windows["host_cpu_percent"].dropna()
    if host.empty:
        return None
    server = _mean(windows, "server_cpu_percent") / 100
    generator = _mean(windows, "generator_cpu_percent") / 100
    return float(host.mean() / 100 * cpus - server - generator)


def _mean(windows: pd.DataFrame, column: str) -> float:
    if column not in windows:
        return 0.0
    values = windows[column].dropna()
    return float(values.mean()) if len(values) else 0.0
