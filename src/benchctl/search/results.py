"""Capacity search, writing the result: search.json (every level and its verdict), the
requests and summary of all levels, and the final run.json.

The levels become phases of one run directory (the ``warmup`` phase marks each level's
settle time and tail), so analysis reads them like step levels.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchctl.analysis.bounds import unsettled
from benchctl.analysis.slo import Slo
from benchctl.analysis.summary import read_requests, summarize
from benchctl.run_finish import generator_flags
from benchctl.run_setup import now_iso
from benchctl.rundir import PARTS, REQUESTS, RUN_JSON, SEARCH, SUMMARY, RunDir
from benchctl.rundir.parts import merge_parts
from benchctl.search.levels import LevelRecord


@dataclass(frozen=True)
class SearchResult:
    """How a search ended (``status``: completed, interrupted or failed; ``planned`` for a
    dry run), where it is, every level as search.json keeps it, why it stopped, and its
    answer: the best offered rate that met the SLO and the first above it that broke it
    (req/s; None when there is no such level)."""

    status: str
    run_dir: Path
    levels: list[dict[str, Any]]
    stop_reason: str
    best_good_rps: float | None
    first_bad_rps: float | None


@dataclass
class SearchRecords:
    """What the levels left for the run as a whole: run-clock phases and rate curve, the
    generator's CPU samples (s, process, %), counters, and the first level's ``t0``."""

    phases: list[dict[str, Any]] = field(default_factory=list)
    curve: list[tuple[float, float]] = field(default_factory=list)
    cpu: list[tuple[float, str, float]] = field(default_factory=list)
    sent: int = 0
    dropped: int = 0
    first_t0: float | None = None


def bracket(levels: list[dict[str, Any]]) -> tuple[float | None, float | None]:
    """(best offered rate that was good, lowest offered rate above it that was not), from
    levels as search.json keeps them; None where there is no such level. A level a stop
    signal ended before it was decided (``interrupted``), or one within every bound but
    never stable (``analysis.bounds.unsettled``: not judged), is neither."""
    levels = [lv for lv in levels if not lv.get("interrupted")]
    good = [lv["offered_rps"] for lv in levels if lv["good"] and not unsettled(lv)]
    best = max(good) if good else None
    bad_above = [
        lv["offered_rps"]
        for lv in levels
        if not lv["good"] and (best is None or lv["offered_rps"] > best)
    ]
    return best, min(bad_above) if bad_above else None


def unsettled_note(levels: list[dict[str, Any]]) -> str:
    """What to add to a search's "no level met" line when levels stayed within the SLO but
    never became stable (``analysis.bounds.unsettled``: not judged, so not counted as met):
    ``"; 1 level within the SLO never became stable (not judged): 10 req/s; give each level
    more time (max_hold, max_duration) or run on a quieter host"``; "" when there is none.
    ``levels``: search.json's levels (offered_rps in req/s)."""
    loose = [lv["offered_rps"] for lv in levels if unsettled(lv)]
    if not loose:
        return ""
    rates = ", ".join(f"{rate:g}" for rate in loose)
    return (
        f"; {len(loose)} level{'s' if len(loose) > 1 else ''} within the SLO never became "
        f"stable (not judged): {rates} req/s; give each level more time (max_hold, "
        "max_duration) or run on a quieter host"
    )


def finish_search(
    run_dir: RunDir,
    scenario_settings: dict[str, Any],
    levels: list[LevelRecord],
    records: SearchRecords,
    telemetry: Any,
    outcome: tuple[str, str],
    slo: Slo,
) -> SearchResult:
    """Write search.json, requests.parquet and summary.json (from the levels' parts),
    finish the telemetry and write the final run.json; returns the result.

    ``outcome``: (status, reason). Raises OSError when the disk is full."""
    status, reason = outcome
    rows = merge_parts(run_dir.path / PARTS, run_dir.path / REQUESTS)
    document = [level.to_json() for level in levels]
    best, first_bad = bracket(document)
    answer = {"best_good_rps": best, "first_bad_rps": first_bad}
    run_dir.write_json(
        SEARCH,
        {
            "schema_version": 1,
            "slo": str(slo),
            "status": status,
            "stop_reason": reason,
            "settings": scenario_settings,
            **answer,
            "levels": document,
        },
    )
    if rows:
        summary = summarize(read_requests(run_dir.path / REQUESTS), records.phases)
        run_dir.write_json(SUMMARY, {"schema_version": 1, **summary})
    duration = max((lv["decided_at"] for lv in document), default=0.0)
    telemetry_info = _finish_telemetry(run_dir, telemetry, records, duration)
    info = run_dir.read_json(RUN_JSON)
    run_dir.update_run(
        status=status,
        reason=reason,
        plan={
            "duration": duration,
            "expected_requests": None,
            "open_loop": True,
            "phases": records.phases,
            "curve": [list(point) for point in records.curve],
        },
        engine={**info["engine"], "t0": records.first_t0, "ended_at": now_iso()},
        counts={"sent": records.sent, "dropped": records.dropped, "rows": rows},
        generator=generator_flags(records.cpu),
        telemetry=telemetry_info,
        search={"slo": str(slo), "status": status, "stop_reason": reason, **answer}
        | {"levels": len(document)},
    )
    return SearchResult(status, run_dir.path, document, reason, best, first_bad)


def _finish_telemetry(
    run_dir: RunDir, telemetry: Any, records: SearchRecords, duration: float
) -> dict[str, Any] | None:
    """The telemetry section of run.json, or None (no telemetry, nothing measured, or
    telemetry failed: it must never lose the search)."""
    if telemetry is None or records.first_t0 is None:
        return None
    telemetry.add_generator_cpu(records.first_t0, records.cpu)
    with contextlib.suppress(Exception):
        return telemetry.finish(run_dir.path, records.first_t0, duration)
    return None
