"""A capacity-search level within every bound over all its windows pooled but never stable
(max_hold, or the search's max_duration, came before its windows agreed) is *unsettled*:
not judged, neither met nor broke the SLO (fresh-user trial 6: a 40 s search on Triton
showed its only level, p99 19.5 ms of 20 over 4 windows that disagreed, as "good", and
answered "at least 10.1 rps" while its confidence said the level never became stable).
The search's answer (``bracket``), its level line, ``analyze``'s bound and its refusal
agree."""

from __future__ import annotations

import pytest

from benchctl.analysis.bounds import MEASURED, search_levels, unsettled
from benchctl.analysis.capacity import search_points
from benchctl.analysis.single_replica import single_replica
from benchctl.analysis.slo import parse_slo
from benchctl.errors import InputError
from benchctl.reports.terminal.search import level_line
from benchctl.search.judging import LevelVerdict
from benchctl.search.levels import LevelRecord
from benchctl.search.results import bracket, unsettled_note

SLO = parse_slo("p99<=20ms")
TRIAL = "max_hold reached before the windows agreed; judged on all 4: within every bound"


def _level(name: str, rate: float, ms: float, good: bool, stable: bool) -> dict:
    return {
        "name": name,
        "offered_rps": rate,
        "achieved_rps": rate,
        "arrived_rps": rate,
        "latency_ms": ms,
        "good": good,
        "stable": stable,
        "overloaded": False,
        "interrupted": False,
    }


def test_the_trial_search_has_no_level_judged_to_meet_the_slo():
    """Trial 6's search.json: one level, good but not stable. It is unsettled; the search's
    answer has no good level (run --slo then says no level met it instead of analysing),
    and analyze refuses in one line naming the level and what to change, where it used to
    answer "at least 10.1 rps"."""
    only = _level("level1@10rps", 10.0875, 19.49, good=True, stable=False)
    search = {"slo": str(SLO), "levels": [only]}
    assert unsettled(only)
    (level,) = search_levels(search)
    assert (level.good, level.unsettled) == (False, True)
    assert bracket(search["levels"]) == (None, None)
    with pytest.raises(InputError) as refused:
        single_replica(search_points(search), SLO, [], search, {})
    assert str(refused.value) == (
        "no level of the capacity search was judged to meet p99<=20ms: level1@10rps "
        "(19.5 ms) stayed within it over all its windows pooled, but never became stable "
        "(its windows did not agree, or held too few successes for the percentile, before "
        "it ended), so it neither met nor broke it; give each level more time (raise "
        "max_duration and max_hold) or run on a quieter host"
    )


def test_an_unsettled_level_bounds_the_capacity_on_neither_side():
    """10 rps met p99<=20ms and settled, 20 rps was within it but unsettled, 40 rps broke
    it (settled). Known answer: measured between 10 (the best settled level that met it)
    and 40 (the first that broke it), not between 20 and 40; the search's own answer is
    the same bracket; the unsettled level is named in capacity.json and a warning. An
    unstable level that broke the SLO stays broken (its pooled percentile broke it), and a
    level without a ``stable`` key (an older search.json) counts as stable."""
    levels = [
        _level("level1@10rps", 10.0, 12.0, good=True, stable=True),
        _level("level2@20rps", 20.0, 18.0, good=True, stable=False),
        _level("level3@40rps", 40.0, 90.0, good=False, stable=False),
    ]
    search = {"slo": str(SLO), "levels": levels}
    assert bracket(levels) == (10.0, 40.0)
    warnings: list[str] = []
    found, _ = single_replica(search_points(search), SLO, warnings, search, {})
    assert (found["bound"], found["lower_rps"], found["upper_rps"]) == (MEASURED, 10.0, 40.0)
    assert (found["best_good_level"], found["first_bad_level"]) == ("level1@10rps", "level3@40rps")
    assert found["unsettled_levels"] == ["level2@20rps"]
    assert (
        "1 level(s) of the capacity search unsettled: level2@20rps (p99 18.0 ms): within "
        "p99<=20ms over all its windows pooled, but never stable (its windows did not "
        "agree, or held too few successes for the percentile, before it ended); not judged "
        "(neither met nor broke the SLO), so the answer rests on the other levels"
    ) in warnings
    older = {k: v for k, v in levels[1].items() if k != "stable"}
    assert not unsettled(older) and search_levels({"levels": [older]})[0].good


def test_the_level_line_says_unsettled_not_good():
    """The line printed as the level is decided says what the answer does with it."""
    verdict = LevelVerdict(True, False, TRIAL, 10.0875, 19.49, 269, 0.0, 1.0, False, 10.0)
    line = level_line(LevelRecord("level1@10rps", 10.0, verdict, 0.0, 1.0, 31.0, 30.0), "p99")
    assert "[yellow]unsettled, not judged[/] after 30s (max_hold reached before" in line
    assert "good" not in line.replace("judged on all", "")
    settled = LevelVerdict(True, True, "stable", 10.0, 12.0, 269, 0.0, 1.0, False, 10.0)
    ok = level_line(LevelRecord("level1@10rps", 10.0, settled, 0.0, 1.0, 31.0, 30.0), "p99")
    assert "[green]good[/]" in ok
    mix = level_line(
        LevelRecord("level1@10rps", 10.0, verdict, 0.0, 1.0, 31.0, 30.0), "p50", ("small", "big")
    )
    assert "p50 of small+big pooled 19.5 ms" in mix
    assert "[yellow]unsettled, not judged (pooled)[/]" in mix


def test_the_no_level_met_line_names_the_unsettled_levels() -> None:
    """`run capacity` / `run SCENARIO --slo` with no level judged to meet the SLO: the line
    names the levels that stayed within it but never settled (10 and 20 req/s, not 40, which
    broke it, nor 5, which settled), and says what to change; "" when all settled."""
    levels = [
        {"offered_rps": 5.0, "good": True, "stable": True},
        {"offered_rps": 10.0, "good": True, "stable": False},
        {"offered_rps": 20.0, "good": True, "stable": False},
        {"offered_rps": 40.0, "good": False, "stable": False},
    ]
    assert unsettled_note(levels) == (
        "; 2 levels within the SLO never became stable (not judged): 10, 20 req/s; give each "
        "level more time (max_hold, max_duration) or run on a quieter host"
    )
    assert unsettled_note(levels[:1] + levels[3:]) == ""
