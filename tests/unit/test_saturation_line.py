"""The saturation line beside the capacity (make demo: "One replica sustains 79.8 rps under
p99<=200ms" above "Saturates near 78.5 rps (overloaded level)" while two levels that broke
the SLO served 86-87 rps): a saturation is never below a throughput the run measured, says
what it is, and says why when it lies below the capacity figure."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from benchctl.analysis.answer import saturation_sentence
from benchctl.analysis.measured_rates import MeasuredRates
from benchctl.analysis.points import Points
from benchctl.analysis.single_replica import single_replica
from benchctl.analysis.slo import parse_slo

# make demo's capacity search (KServe, 10 ms per request, test_make_demo run of 14:44 UTC):
# name, offered, arrived, achieved (served in the judged windows) req/s, p99 ms, good,
# overloaded (served clearly less than arrived)
DEMO_LEVELS = [
    ("level1@10rps", 10.0, 10.45, 10.45, 22.5, True, False),
    ("level2@20rps", 20.0, 20.6, 20.3, 32.2, True, False),
    ("level3@40rps", 40.0, 33.5, 33.5, 40.5, True, False),
    ("level4@80rps", 80.0, 79.8333, 78.5, 127.6, True, False),
    ("level5@160rps", 160.0, 170.5, 49.5, 1776.8, False, True),
    ("level6@120rps", 120.0, 131.5, 73.0, 1009.6, False, True),
    ("level7@100rps", 100.0, 97.5, 86.0, 433.5, False, False),
    ("level8@90rps", 90.0, 92.0, 76.0, 339.0, False, False),
    ("level9@85rps", 85.0, 88.25, 86.0, 527.2, False, False),
    ("level10@82.5rps", 82.5, 95.0, 87.0, 335.8, False, False),
]


def _search(levels: list[tuple[Any, ...]]) -> tuple[Points, dict[str, Any]]:
    rows = [
        {
            "name": name,
            "offered_rps": offered,
            "arrived_rps": arrived,
            "achieved_rps": achieved,
            "latency_ms": p99,
            "good": good,
            "overloaded": overloaded,
            "stable": True,
            "judged_from": 0.0,
            "judged_to": 6.0,
        }
        for name, offered, arrived, achieved, p99, good, overloaded in levels
    ]
    points = Points(
        "search",
        np.array([lv[3] for lv in levels]),
        np.array([lv[4] for lv in levels]),
        None,
        [lv[0] for lv in levels],
    )
    return points, {"levels": rows}


def _doc(single: dict[str, Any]) -> dict[str, Any]:
    """capacity.json's fields the sentences read (capacity.py copies them from single)."""
    return {
        "slo": "p99<=200ms",
        "capacity_rps": single["capacity_rps"],
        "capacity_band_rates": single.get("band_rates"),
        "capacity_source": single.get("capacity_source"),
        "single_replica": single,
    }


def test_the_demo_saturation_is_the_most_a_level_served():
    """Overloaded levels served 49.5 and 73.0 req/s; the best good level 78.5; level10,
    which broke the SLO without falling behind, served 87.0 (measured_rates' most served:
    the highest point throughput). Saturation: max(73.0, 78.5, 87.0) = 87.0 req/s, the most
    served, at level10 -- above the 79.83 req/s capacity (level4's arrived rate)."""
    points, search = _search(DEMO_LEVELS)
    rates = MeasuredRates(1 / 6.0, 87.0, "the level10@82.5rps level")
    single, _ = single_replica(points, parse_slo("p99<=200ms"), [], search, {}, rates)
    assert single["capacity_rps"] == pytest.approx(79.8333)
    assert single["saturation_rps"] == 87.0
    assert single["saturation_source"] == "most served"
    assert single["saturation_where"] == "the level10@82.5rps level"
    assert saturation_sentence(_doc(single)) == (
        "Saturates near 87.0 rps (the most the run served: the level10@82.5rps level); the"
        " fitted curve's asymptote (99.3 rps) lies above that measurement, so it is not used."
    )


def test_a_saturation_below_the_capacity_says_why():
    """Without levels 7-10 (none served more than level4): saturation max(73.0, 78.5) =
    78.5 req/s, level4's served rate in its judged windows, below its 79.83 req/s arrived
    rate (the capacity): the line names both and why they differ."""
    points, search = _search(DEMO_LEVELS[:6])
    rates = MeasuredRates(1 / 6.0, 78.5, "the level4@80rps level")
    single, _ = single_replica(points, parse_slo("p99<=200ms"), [], search, {}, rates)
    assert single["capacity_rps"] == pytest.approx(79.8333)
    assert (single["saturation_rps"], single["saturation_source"]) == (78.5, "most served")
    assert saturation_sentence(_doc(single)) == (
        "Saturates near 78.5 rps (the most the run served: the level4@80rps level), below the"
        " 79.8 rps capacity because that figure is the rate that arrived at level4@80rps in"
        " its judged windows, not a rate served: a level that keeps up serves what arrives,"
        " but over a few seconds its completions trail its arrivals by the requests still"
        " in flight; the fitted curve's asymptote (91.2 rps) lies above that measurement, so"
        " it is not used."
    )


def test_an_overloaded_levels_saturation_and_a_fitted_one():
    """A saturation an overloaded level served (above the rest) and a fitted asymptote
    above the capacity: each says what it is; no reason is added above the capacity."""
    single = {
        "capacity_rps": 40.0,
        "saturation_rps": 45.0,
        "saturation_source": "overloaded level",
    }
    assert saturation_sentence(_doc(single)) == (
        "Saturates near 45.0 rps (served at a level that could not keep up with its arrivals)."
    )
    fitted = {**single, "saturation_source": "fit", "knee_rps": 30.0}
    assert saturation_sentence(_doc(fitted)) == (
        "Saturates near 45.0 rps (the fitted curve's asymptote); latency doubles (knee) at"
        " 30.0 rps."
    )
    assert saturation_sentence(_doc({"capacity_rps": 40.0, "saturation_rps": None})) is None
