"""A capacity search's level line on a model mix says its percentile and verdict are of all
models pooled (fresh-user trial: `run --slo` on a mix printed "good" levels, then answered
that the mix, judged model by model, has no capacity figure there)."""

from __future__ import annotations

from benchctl.reports.terminal.search import level_line
from benchctl.search.judging import LevelVerdict
from benchctl.search.levels import LevelRecord

GOOD = LevelVerdict(True, True, "stable", 8.0, 12.3, 160, 0.0, 1.0, False, arrived_rps=8.0)


def _level(verdict: LevelVerdict) -> LevelRecord:
    return LevelRecord("level1@8rps", 8.0, verdict, 0.0, 1.0, 9.0, 8.0)


def test_one_model_keeps_its_line():
    line = level_line(_level(GOOD), "p50")
    assert line.startswith("  level1@8rps: p50 12.3 ms, achieved 8.0 rps of 8.0 rps")
    assert "[green]good[/] after 8s (stable)" in line and "pooled" not in line


def test_a_mix_says_pooled_for_the_percentile_and_the_verdict():
    line = level_line(_level(GOOD), "p50", ("small", "big"))
    assert line.startswith("  level1@8rps: p50 of small+big pooled 12.3 ms, achieved 8.0 rps")
    assert "[green]good (pooled)[/] after 8s (stable)" in line


def test_an_interrupted_level_of_a_mix_says_interrupted():
    """No verdict at all: "interrupted", never "interrupted (pooled)"."""
    cut = LevelVerdict(
        False, False, "not judged: stopped", 8.0, 12.3, 160, 0.0, 1.0, False, interrupted=True
    )
    line = level_line(_level(cut), "p50", ("small", "big"))
    assert "[yellow]interrupted[/] after" in line and "p50 of small+big pooled" in line
