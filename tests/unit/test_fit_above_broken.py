"""The capacity figure never exceeds a rate at which the SLO was measured broken (fresh-user
trial 4: ``make demo`` printed "level8@77.5rps: p99 223.2 ms, achieved 74.5 rps … broke the
SLO", then "One replica sustains 75.0 rps": the fitted curve's crossing, 74.955, on the
served-throughput axis, above the 74.5 req/s that level served while breaking the SLO).

The search levels below are that demo's search.json (offered, arrived, achieved req/s, p99
ms over the judged windows, good); the fit over its eight points crosses p99 = 200 ms at
74.955 req/s. ``demo_search_run`` writes them as a search run (test_analyze's M/M/1 step run
carries the requests; search.json decides) for the unit test here and the installed CLI's
test in tests/e2e/test_fit_above_broken_cli.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchctl.analysis.answer import capacity_sentence
from benchctl.analysis.bounds import MEASURED, Level, capacity_bound
from benchctl.analysis.capacity import AnalyzeOptions, analyze_run
from benchctl.analysis.slo import parse_slo
from benchctl.store import RunDir
from tests.unit.test_analyze import mm1_step_run

SLO = parse_slo("p99<=200ms")
DEMO_LEVELS = [  # name, offered, arrived, achieved, p99 ms, good (trial 4's search.json)
    ("level1@10rps", 10.0, 10.45, 10.45, 43.4486206269078, True),
    ("level2@20rps", 20.0, 20.6, 20.3, 41.05417263764899, True),
    ("level3@40rps", 40.0, 33.5, 33.5, 50.537403945598136, True),
    ("level4@80rps", 80.0, 79.83333333333333, 76.5, 356.74837937676784, False),
    ("level5@60rps", 60.0, 61.5, 61.166666666666664, 82.36522271552093, True),
    ("level6@70rps", 70.0, 70.5, 70.33333333333333, 65.8425615284579, True),
    ("level7@75rps", 75.0, 71.16666666666667, 71.0, 113.41363841875385, True),
    ("level8@77.5rps", 77.5, 78.0, 74.5, 223.2459892818943, False),
]
LEVEL7_ARRIVED = 71.16666666666667  # 427 arrivals in its 6 s of judged windows


def demo_search_run(tmp_path: Path) -> Path:
    """A search run (folder ``tmp_path/run``) whose search.json holds DEMO_LEVELS, decided
    under p99<=200ms (so analyze does not rejudge them)."""
    run = mm1_step_run(tmp_path)
    levels = []
    for i, (name, offered, arrived, achieved, p99, good) in enumerate(DEMO_LEVELS):
        start = 12.0 * i
        levels.append(
            {
                "name": name,
                "offered_rps": offered,
                "arrived_rps": arrived,
                "achieved_rps": achieved,
                "latency_ms": p99,
                "samples": 400,
                "error_rate": 0.0,
                "good": good,
                "stable": True,
                "overloaded": False,
                "start": start,
                "measured_from": start + 1.0,
                "decided_at": start + 7.0,
                "judged_from": start + 1.0,
                "judged_to": start + 7.0,
                "window_s": 2.0,
            }
        )
    search = {"slo": str(SLO), "stop_reason": "resolution reached: 75–77.5 rps", "levels": levels}
    (run / "search.json").write_text(json.dumps(search))
    return run


def test_a_crossing_above_what_the_broken_level_served_is_not_the_figure():
    """Level g met the SLO with 71.1667 arrived (71.0 served); level b broke it with 78.0
    arrived but only 74.5 served. Band [71.1667, 78.0] (arrived). A crossing at 74.955 is
    inside the band but not below 74.5, a rate at which the SLO was measured broken: the
    figure is the band's low end, 71.1667, and the reason names 74.5 and level b. A crossing
    at 74.0 (< 74.5) is the figure; one at exactly 74.5 is not (the SLO broke there)."""
    good = Level("g", 75.0, 71.0, 113.4, True, arrived_rps=LEVEL7_ARRIVED)
    bad = Level("b", 77.5, 74.5, 223.2, False, arrived_rps=78.0)
    found = capacity_bound([good, bad], 200.0, fitted_crossing_rps=74.955)
    assert found is not None and found.bound == MEASURED
    assert found.band == (LEVEL7_ARRIVED, 78.0)
    assert found.capacity_rps == LEVEL7_ARRIVED
    assert found.figure_source == "best_good_level"
    assert found.fit_not_used == (
        "the fitted curve crosses the SLO at 75.0 rps, not below the 74.5 rps b served "
        "(78.0 rps arrived) when it broke the SLO: the figure is the best level measured to "
        "meet it"
    )
    inside = capacity_bound([good, bad], 200.0, fitted_crossing_rps=74.0)
    assert inside.capacity_rps == 74.0 and inside.figure_source == "fit"
    assert inside.fit_not_used is None
    at = capacity_bound([good, bad], 200.0, fitted_crossing_rps=74.5)
    assert at.capacity_rps == LEVEL7_ARRIVED and at.fit_not_used is not None


def test_every_broken_level_above_bounds_the_crossing():
    """Broken levels b1 (77.5 offered, 78.0 arrived, 76.0 served) and b2 (80 offered, 79.8
    arrived, 73.0 served: overloaded, it served less). The lowest rate at which the SLO was
    measured broken is b2's 73.0, so a crossing at 74.0, inside the band [71.1667, 78.0],
    is not the figure (71.1667) and the reason names b2 and 73.0."""
    levels = [
        Level("g", 75.0, 71.0, 113.4, True, arrived_rps=LEVEL7_ARRIVED),
        Level("b1", 77.5, 76.0, 223.2, False, arrived_rps=78.0),
        Level("b2", 80.0, 73.0, 900.0, False, True, arrived_rps=79.8),
    ]
    found = capacity_bound(levels, 200.0, fitted_crossing_rps=74.0)
    assert found.band == (LEVEL7_ARRIVED, 78.0)
    assert found.capacity_rps == LEVEL7_ARRIVED
    assert "not below the 73.0 rps b2 served (79.8 rps arrived)" in found.fit_not_used


def test_windows_without_arrived_rates_keep_the_fit_inside_the_band():
    """Step levels (rate = throughput): good 120, bad 160; a crossing at 150 is below 160,
    where the SLO broke: the figure is 150, as before (test_capacity_bounds)."""
    levels = [Level("a", 120, 120, 57.6, True), Level("b", 160, 160, 115.0, False)]
    found = capacity_bound(levels, 100.0, fitted_crossing_rps=150.0)
    assert found.capacity_rps == 150.0 and found.figure_source == "fit"


def test_analyze_on_the_demo_search_answers_with_the_measured_level(tmp_path: Path):
    """The demo's search through analyze: the fit's crossing (about 74.96, recorded) is not
    below level8's 74.5 served, so capacity_rps is level7's arrived rate 71.1667, the band
    [71.1667, 78.0] (arrived; offered [75, 77.5]), capacity_source best_good_level, and
    replicas for a 200 rps peak at <= 80%: 200 / (0.8 x 71.1667) = 3.51 -> 4. The sentence
    says which figure and why."""
    doc = analyze_run(
        RunDir.open(demo_search_run(tmp_path)), AnalyzeOptions(slo=SLO, peak_rps=200.0)
    )
    single = doc["single_replica"]
    assert single["fitted_crossing_rps"] == pytest.approx(74.955, abs=0.01)
    assert doc["capacity_rps"] == LEVEL7_ARRIVED
    assert doc["capacity_band_rps"] == [LEVEL7_ARRIVED, 78.0]
    assert doc["capacity_band_offered_rps"] == [75.0, 77.5]
    assert doc["capacity_source"] == "best_good_level"
    assert "74.5 rps level8@77.5rps served (78.0 rps arrived)" in doc["capacity_source_note"]
    assert doc["replicas"]["by_capacity"] == 4
    assert "71.2 rps one replica sustains" in doc["replicas"]["reason"]
    sentence = capacity_sentence(doc)
    assert sentence.startswith("One replica sustains 71.2 rps under p99<=200ms (measured:")
    assert (
        "The fitted curve crosses the SLO at 75.0 rps, not below the 74.5 rps "
        "level8@77.5rps served (78.0 rps arrived) when it broke the SLO: the figure is the "
        "best level measured to meet it."
    ) in sentence
