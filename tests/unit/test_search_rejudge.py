"""A capacity search judged again under another SLO (analysis/search_rejudge.py): each
level's verdict comes from its own measured requests at the new percentile, not from the
search's verdict under its own SLO (a fresh user's `analyze --slo p99<=50ms` on a
p99<=200ms search reported the old 43.8 rps)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from benchctl.analysis.search_rejudge import rejudge_search, same_slo
from benchctl.analysis.slo import parse_slo


def _search_run(tmp_path: Path) -> dict:
    """Two levels measured from t=1 s to t=11 s and t=21 s to t=31 s, 200 successes each,
    latencies 1..200 ms (level1) and 101..300 ms (level2); before each level's
    measured_from, 50 settling requests at 10,000 ms that must not count."""
    rows = []
    for name, start, base in (("level1@10rps", 0.0, 1.0), ("level2@20rps", 20.0, 101.0)):
        rows += [(name, start + 0.5 + 0.001 * i, 10_000.0) for i in range(50)]  # settling
        rows += [(name, start + 1.0 + 0.05 * i, base + i) for i in range(200)]
    table = pa.table(
        {
            "phase": [r[0] for r in rows],
            "t_intended": [r[1] for r in rows],
            "latency_ms": [r[2] for r in rows],
            "ok": [True] * len(rows),
        }
    )
    pq.write_table(table, tmp_path / "requests.parquet")
    level = {"error_rate": 0.0, "overloaded": False, "good": True, "latency_ms": 150.0}
    return {
        "slo": "p99<=1000ms",
        "settings": {"max_error_rate": 0.01},
        "levels": [
            {**level, "name": "level1@10rps", "start": 0.0, "measured_from": 1.0,
             "decided_at": 11.0},
            {**level, "name": "level2@20rps", "start": 20.0, "measured_from": 21.0,
             "decided_at": 31.0},
        ],
    }  # fmt: skip


def test_levels_are_judged_again_from_their_measured_requests(tmp_path: Path) -> None:
    """Known answer under p50<=150ms: nearest-rank p50 of 200 values is the 100th, so 100 ms
    for level1 (1..200) and 200 ms for level2 (101..300); level1 good, level2 not. The
    10,000 ms settling requests (before measured_from) would move both if counted."""
    search = _search_run(tmp_path)
    rejudged, note = rejudge_search(search, parse_slo("p50<=150ms"), tmp_path)
    one, two = rejudged["levels"]
    assert (one["latency_ms"], one["good"], one["samples"]) == (100.0, True, 200)
    assert (two["latency_ms"], two["good"], two["samples"]) == (200.0, False, 200)
    assert rejudged["slo"] == "p50<=150ms" and rejudged["search_slo"] == "p99<=1000ms"
    assert note and "p99<=1000ms" in note and "p50<=150ms" in note
    assert search["levels"][1]["good"] is True  # the given search.json is not changed


def test_overload_stays_bad_and_too_few_samples_cannot_be_judged(tmp_path: Path) -> None:
    """An overloaded level stays bad whatever the SLO; p99.9 needs 2,000 successes, so a
    200-success level has no point (latency None, not good)."""
    search = _search_run(tmp_path)
    search["levels"][0]["overloaded"] = True
    loose, _ = rejudge_search(search, parse_slo("p50<=1000ms"), tmp_path)
    assert [lv["good"] for lv in loose["levels"]] == [False, True]
    strict, _ = rejudge_search(search, parse_slo("p99.9<=1000ms"), tmp_path)
    assert [lv["latency_ms"] for lv in strict["levels"]] == [None, None]
    assert not any(lv["good"] for lv in strict["levels"])


def test_the_same_slo_written_otherwise_is_not_judged_again(tmp_path: Path) -> None:
    search = _search_run(tmp_path)
    assert same_slo(search, parse_slo("p99<=1s"))
    assert rejudge_search(search, parse_slo("p99<=1000ms"), tmp_path) == (search, None)
    assert np.isclose(parse_slo("p99<=1s").threshold_ms, 1000.0)


def test_a_search_stopped_before_its_resolution_says_so():
    """search.json stop_reason: 'max_duration 60s reached' gets a warning naming it and the
    resolution asked (5%); a finished search ('resolution reached: ...', or 'reached
    max_rate ...') gets none."""
    from benchctl.analysis.capacity import _search_stop_notes

    stopped = {"stop_reason": "max_duration 60s reached", "settings": {"resolution": 0.05}}
    (note,) = _search_stop_notes(stopped)
    assert "stopped before its resolution (5%): max_duration 60s reached" in note
    assert _search_stop_notes({"stop_reason": "resolution reached: 40–42 rps"}) == []
    assert _search_stop_notes({"stop_reason": "reached max_rate 5000 rps without breaking"}) == []
    assert _search_stop_notes(None) == []
