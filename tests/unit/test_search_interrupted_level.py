"""A capacity-search level that a stop signal (Ctrl-C, SIGTERM, SIGHUP, a closed stdout)
ended before it was decided is kept as ``interrupted``: no verdict about the SLO. Neither the
search's own answer (``bracket``) nor ``analyze`` (``search_points``, ``single_replica``)
takes it as a broken level (a fresh-user trial: Ctrl-C during a level stored it as
``overloaded: true``, "broke the SLO after 0s (nothing measured before max_hold)", and it
became the search's first bad level)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from benchctl.analysis.capacity import search_points
from benchctl.analysis.single_replica import single_replica
from benchctl.analysis.slo import parse_slo
from benchctl.config import CapacityScenario
from benchctl.search.judging import interrupted_verdict, judge
from benchctl.search.levels import LevelRecord
from benchctl.search.results import bracket

S = CapacityScenario(kind="capacity", start_rate=10, max_rate=160, resolution=0.05)
SLO = parse_slo("p99<=100ms")


def _nothing_yet() -> pd.DataFrame:
    return pd.DataFrame({"t_intended": [], "latency_ms": [], "ok": [], "error": []})


def test_a_level_stopped_before_any_window_is_interrupted_not_overloaded():
    """Ctrl-C 0.3 s into a level (no window judged yet: settle 1 s + flush lag 2.5 s): the
    records so far give the trial's verdict (overloaded, nothing measured); the level is
    kept as interrupted, neither good nor broken nor overloaded."""
    arrivals = np.arange(0.0, 10.0, 0.05)  # 20 rps scheduled
    partial = judge(_nothing_yet(), arrivals, 20.0, 0.3, SLO, S, final=True)
    assert partial is not None and partial.overloaded  # what search.json used to keep
    verdict = interrupted_verdict(partial, "interrupted by user (Ctrl-C)")
    assert (verdict.interrupted, verdict.good, verdict.overloaded) == (True, False, False)
    assert verdict.reason == "not judged: interrupted by user (Ctrl-C)"
    kept = LevelRecord("level3@40rps", 40.0, verdict, 30.0, 31.0, 31.0, 0.0).to_json()
    assert (kept["interrupted"], kept["good"], kept["overloaded"]) == (True, False, False)


def _level(name: str, offered: float, latency: float | None, good: bool, **extra) -> dict:
    return {
        "name": name,
        "offered_rps": offered,
        "achieved_rps": offered,
        "arrived_rps": offered,
        "latency_ms": latency,
        "good": good,
        "stable": good,
        "overloaded": False,
        "interrupted": False,
        **extra,
    }


def _search(third: dict) -> dict:
    """Levels at 10 and 20 rps met p99<=100ms (20 and 30 ms); the third, at 40 rps, is
    ``third``."""
    return {
        "slo": "p99<=100ms",
        "levels": [_level("level1@10rps", 10, 20.0, True), _level("level2@20rps", 20, 30.0, True),
                   third],
    }  # fmt: skip


def test_the_search_answer_leaves_an_interrupted_level_out():
    """Known answer: best good 20 rps; with 40 rps broken the first bad is 40, with 40
    interrupted there is none (the search did not find where the SLO breaks)."""
    broken = _level("level3@40rps", 40, 500.0, False)
    assert bracket(_search(broken)["levels"]) == (20, 40)
    stopped = _level("level3@40rps", 40, None, False, interrupted=True)
    assert bracket(_search(stopped)["levels"]) == (20, None)
    measured = _level("level3@40rps", 40, 500.0, False, interrupted=True)  # some windows ran
    assert bracket(_search(measured)["levels"]) == (20, None)


def test_analyze_leaves_an_interrupted_level_out():
    """A level stopped mid-way with 500 ms measured so far: analyze's points are the two
    decided levels only, and the capacity is a lower bound at 20 rps (no first bad level),
    where the same level decided broken makes a measured band 20..40 rps."""
    broken = _search(_level("level3@40rps", 40, 500.0, False))
    found, _ = single_replica(search_points(broken), SLO, [], broken, {})
    assert (found["best_good_level"], found["first_bad_level"]) == ("level2@20rps", "level3@40rps")
    stopped = _search(_level("level3@40rps", 40, 500.0, False, interrupted=True))
    points = search_points(stopped)
    assert points.labels == ["level1@10rps", "level2@20rps"]
    found, _ = single_replica(points, SLO, [], stopped, {})
    assert (found["best_good_level"], found["first_bad_level"]) == ("level2@20rps", None)
    assert found["lower_rps"] == 20
