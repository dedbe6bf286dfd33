"""What a run stopped in its warm-up says (trial 5, finding 9): the too-few note counts the
requests after the warm-up and says so, the terminal names the warm-up's own count, and the
report names no ``benchctl analyze`` that cannot work."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from benchctl.analysis.summary import offered_over_plan, stats_of_counts
from benchctl.reports.analyze_advice import nothing_to_analyze
from benchctl.reports.terminal.rates import rate_notes

EMPTY = np.array([], dtype=float)


def test_overall_note_says_after_the_warm_up() -> None:
    """Trial 5's run: stopped 0.064 s after a 10 s warm-up; 0 requests after it."""
    overall = offered_over_plan(stats_of_counts(0, 0, 0, EMPTY, EMPTY, 0.064), 20.0)
    assert overall["throughput_note"] == (
        "only 0 requests sent after the warm-up: throughput needs at least 10"
    )
    summary = {"overall": overall, "phases": {"warmup": {"sent": 191}}}
    assert rate_notes(summary) == [
        "no throughput: no request was sent after the warm-up (191 were sent during it; "
        "rates and percentiles count only the requests after it)"
    ]


def test_few_after_the_warm_up_keep_the_note() -> None:
    """7 sent after the warm-up (< 10): the note, with its count and scope."""
    lat = np.full(7, 3.0)
    overall = offered_over_plan(stats_of_counts(7, 0, 7, lat, lat, 5.0), 5.0)
    summary = {"overall": overall, "phases": {"warmup": {"sent": 50}}}
    assert rate_notes(summary) == [
        "no throughput: only 7 requests sent after the warm-up: throughput needs at least 10"
    ]


def _requests(run: Path, phases: list[str], ok: list[bool], error: list[str | None]) -> Path:
    run.mkdir()
    table = pa.table({"ok": ok, "phase": phases, "error": error})
    pq.write_table(table, run / "requests.parquet")
    return run


def test_nothing_to_analyze_says_why(tmp_path: Path) -> None:
    """3 warm-up requests (one dropped: 2 sent), none after: nothing for any SLO. 150 ok
    after it: p99 needs ceil(2 / 0.01) = 200, p90 needs 20."""
    stopped = _requests(
        tmp_path / "a", ["warmup"] * 3, [True, True, False], [None, None, "dropped"]
    )
    assert nothing_to_analyze(stopped, "p99<=200ms") == (
        "Nothing to analyze: no request succeeded after the warm-up (2 were sent during the "
        "warm-up, which analysis leaves out). Run the scenario again, past its warm-up."
    )
    few = _requests(tmp_path / "b", ["steady"] * 150, [True] * 150, [None] * 150)
    assert nothing_to_analyze(few, "p99<=200ms") == (
        "Nothing to analyze for p99<=200ms: 150 requests succeeded after the warm-up, and a "
        "level or window needs at least 200 for that percentile (2 / (1 - 0.99)). Run "
        "longer, or use a lower percentile."
    )
    assert nothing_to_analyze(few, "p90<=200ms") is None
    assert nothing_to_analyze(tmp_path / "absent", "p99<=200ms") is None
