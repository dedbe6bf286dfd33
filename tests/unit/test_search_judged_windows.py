"""A capacity search's answer rests on what its judged windows saw (fresh-user trials):
the capacity band on the rates that *arrived* there, beside the offered ones (a level
offered 40 req/s drew 33.5), and analyze's own-traffic check quotes the percentile over the
same windows search.json judged, saying which, never summary.json's over the whole level."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from benchctl.analysis.answer import capacity_sentence
from benchctl.analysis.bounds import LOWER, MEASURED, Level, capacity_bound
from benchctl.analysis.capacity import AnalyzeOptions, analyze_run
from benchctl.analysis.contradictions import CONTRADICTED
from benchctl.analysis.slo import parse_slo
from benchctl.config import CapacityScenario
from benchctl.search import judge, window_length
from benchctl.search.levels import LevelRecord
from benchctl.store import RunDir
from tests.unit.test_analyze import mm1_step_run
from tests.unit.test_search import _records

S = CapacityScenario(kind="capacity", start_rate=10, max_rate=160, resolution=0.05)
SLO = parse_slo("p99<=100ms")


def test_the_band_rests_on_the_arrived_rates_and_keeps_the_offered_ones():
    """Good level offered 40, 33.5 arrived in its judged windows; bad level offered 45,
    41.0 arrived: the band is [33.5, 41.0] (both arrived), [40, 45] offered beside it, and
    without a fitted crossing the figure is 33.5, what the server met the SLO under."""
    levels = [
        Level("g", 40.0, 33.4, 150.0, True, arrived_rps=33.5),
        Level("b", 45.0, 40.2, 900.0, False, arrived_rps=41.0),
    ]
    found = capacity_bound(levels, 200.0)
    assert found is not None and found.bound == MEASURED
    assert found.band == (33.5, 41.0) and found.offered_band == (40.0, 45.0)
    assert found.capacity_rps == 33.5
    never = capacity_bound(levels[:1], 200.0)
    assert never is not None and never.bound == LOWER
    assert never.band == (33.5, 33.5) and never.capacity_rps == 33.5
    assert never.offered_band == (40.0, 40.0)


def test_the_sentence_says_both_rates():
    doc = {
        "capacity_rps": 33.5,
        "capacity_band_rps": [33.5, 41.0],
        "capacity_band_rates": "arrived",
        "capacity_band_offered_rps": [40.0, 45.0],
        "bound": "measured",
        "slo": "p99<=200ms",
    }
    assert capacity_sentence(doc) == (
        "One replica sustains 33.5 rps under p99<=200ms (measured: the SLO crossing lies "
        "between 33.5 rps, which met it, and 41.0 rps, which broke it: the rates that "
        "arrived in the windows the search judged, of 40.0 rps and 45.0 rps offered)."
    )
    lower = {**doc, "bound": "lower", "capacity_band_rps": [33.5, 33.5]}
    assert "(33.5 rps arrived in its judged windows of 40.0 rps offered)" in capacity_sentence(
        lower
    )


def test_search_json_names_the_windows_it_judged():
    """100 rps answered in 10 ms (test_search's steady level): windows of 2 s after the 1 s
    settle; at now = 10 s the horizon is 10 - 2.5 = 7.5 s, so 3 whole windows, [1, 7) s,
    and the 3 stable ones judged are all of them: judged_from 1.0, judged_to 7.0. A level
    starting at 100 s on the search's clock keeps them as 101.0 and 107.0; arrived_rps is
    the arrivals scheduled in [1, 7) s over 6 s."""
    frame, arrivals = _records(100, 12, 10.0)
    assert window_length(100, S, 0.99) == 2.0 and S.settle == 1.0
    verdict = judge(frame, arrivals, 100, 10.0, SLO, S)
    assert verdict is not None and verdict.good
    assert (verdict.judged_from, verdict.judged_to, verdict.window_s) == (1.0, 7.0, 2.0)
    inside = int(((arrivals >= 1.0) & (arrivals < 7.0)).sum())
    assert verdict.arrived_rps == pytest.approx(inside / 6.0)
    level = LevelRecord("level1@100rps", 100.0, verdict, 100.0, 101.0, 107.5, 6.5).to_json()
    assert (level["judged_from"], level["judged_to"], level["window_s"]) == (101.0, 107.0, 2.0)


# A search run over test_analyze's M/M/1 step run: its five phases are the levels, and
# search.json carries the verdicts (offered, arrived, achieved req/s; p99 ms over the
# judged windows; good). summary.json's p99 over each whole level differs on purpose.
LEVELS = [
    ("step1@40rps", 40.0, 39.0, 38.9, 130.0, False),  # broke below the best good: noise
    ("step2@80rps", 80.0, 77.5, 77.4, 40.0, True),
    ("step3@120rps", 120.0, 112.5, 112.0, 80.0, True),
    ("step4@160rps", 160.0, 158.0, 150.0, 300.0, False),
    ("step5@180rps", 180.0, 181.0, 160.0, 900.0, False),
]
WHOLE_LEVEL_P99 = {"step1@40rps": 20.0, "step3@120rps": 250.0}  # summary.json's


def _search_run(tmp_path: Path, search_levels: list[tuple] = LEVELS) -> Path:
    """test_analyze's M/M/1 step run with a search.json of ``search_levels`` (name,
    offered, arrived, achieved req/s, p99 ms, good), its summary.json per level."""
    run = mm1_step_run(tmp_path)
    levels = []
    for i, (name, offered, arrived, achieved, p99, good) in enumerate(search_levels):
        start = 60.0 * i
        levels.append(
            {
                "name": name,
                "offered_rps": offered,
                "arrived_rps": arrived,
                "achieved_rps": achieved,
                "latency_ms": p99,
                "samples": 2000,
                "error_rate": 0.0,
                "good": good,
                "stable": True,
                "overloaded": name == "step5@180rps",
                "start": start,
                "measured_from": start,
                "decided_at": start + 60.0,
                "judged_from": start + 30.0,
                "judged_to": start + 60.0,
                "window_s": 10.0,
            }
        )
    search = {"slo": str(SLO), "stop_reason": "resolution reached", "levels": levels}
    (run / "search.json").write_text(json.dumps(search))
    phases = {
        name: {"offered_rps": offered, "ok": 2400, "seconds": 60.0,
               "latency_ms": {"p99": WHOLE_LEVEL_P99.get(name, p99)}}
        for name, offered, _, _, p99, _ in search_levels
    }  # fmt: skip
    (run / "summary.json").write_text(json.dumps({"phases": phases, "overall": {}}))
    return run


def test_analyze_bands_on_arrived_rates_and_checks_the_judged_windows(tmp_path: Path):
    """By hand: best good level step3 (offered 120, 112.5 arrived), first bad above it
    step4 (offered 160, 158.0 arrived): band [112.5, 158.0], offered [120, 160]. Own-traffic
    check on search.json's figures: step1 had 39.0 req/s arrive, at or below the capacity,
    and its judged p99 was 130 ms > 100 ms: one contradiction quoting 130 ms and its
    windows (t = 30-60 s); step3's judged p99 is 80 ms, so summary.json's 250 ms over the
    whole level (other windows) is never quoted."""
    doc = analyze_run(RunDir.open(_search_run(tmp_path)), AnalyzeOptions(slo=SLO))
    assert doc["capacity_band_rps"] == [112.5, 158.0]
    assert doc["capacity_band_offered_rps"] == [120.0, 160.0]
    assert doc["capacity_band_rates"] == "arrived"
    assert 112.5 <= doc["capacity_rps"] <= 158.0
    found = [w for w in doc["warnings"] if CONTRADICTED in w]
    assert len(found) == 1, doc["warnings"]
    assert found[0].startswith(
        f"{CONTRADICTED}: phase 'step1@40rps' had 39.0 rps arrive in its judged windows "
        "(40.0 offered), at or below the searched capacity of"
    )
    assert (
        "its p99 in the windows the search judged (search.json: completions at "
        "t=30.0–60.0 s) was 130 ms, above the SLO's 100 ms"
    ) in found[0]
    assert not any("250 ms" in w for w in doc["warnings"])
    assert np.isfinite(doc["capacity_rps"])
