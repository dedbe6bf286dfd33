"""The capacity search's decisions on synthetic records: the next level and a level's verdict."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from benchctl.analysis.slo import parse_slo
from benchctl.config import CapacityScenario
from benchctl.search import judge, next_rate, window_length

S = CapacityScenario(kind="capacity", start_rate=10, max_rate=160, resolution=0.05)
SLO = parse_slo("p99<=100ms")


def test_levels_double_then_bisect_to_the_resolution():
    assert next_rate([], S) == (10, "start")
    assert next_rate([(10, True)], S) == (20, "climb")
    assert next_rate([(10, True), (20, True), (40, False)], S) == (30, "bisect")
    levels = [(10, True), (20, True), (40, False), (30, True), (35, False), (32.5, True)]
    assert next_rate(levels, S) == (33.75, "bisect")
    done, why = next_rate([*levels, (33.75, False)], S)  # 33.75 / 32.5 - 1 = 3.8% <= 5%
    assert done is None and why.startswith("resolution reached")


def test_the_search_never_offers_more_than_max_rate():
    assert next_rate([(10, True), (20, True), (40, True), (80, True)], S) == (160, "climb")
    rate, why = next_rate([(80, True), (160, True)], S)
    assert rate is None and "max_rate 160" in why


def test_a_first_level_that_breaks_halves_the_rate():
    assert next_rate([(10, False)], S) == (5, "below the first level")


def _records(rate: float, seconds: float, latency_ms: float, *, seed: int = 0) -> tuple:
    """Poisson arrivals at ``rate`` over ``seconds``, each answered in ``latency_ms``."""
    rng = np.random.default_rng(seed)
    arrivals = np.cumsum(rng.exponential(1 / rate, int(rate * seconds * 1.2)))
    arrivals = arrivals[arrivals < seconds]
    frame = pd.DataFrame(
        {
            "t_intended": arrivals,
            "latency_ms": np.full(arrivals.size, latency_ms),
            "ok": np.ones(arrivals.size, dtype=bool),
            "error": [""] * arrivals.size,
        }
    )
    return frame, arrivals


def test_a_steady_fast_level_is_good_once_its_windows_agree():
    """100 rps answered in 10 ms: windows of max(2 s, 200/3/100 s) = 2 s; three complete
    windows after the 1 s settle and 2.5 s flush lag need now >= 1 + 6 + 2.5 = 9.5 s."""
    frame, arrivals = _records(100, 12, 10.0)
    assert window_length(100, S, 0.99) == 2.0
    assert judge(frame[frame["t_intended"] < 8], arrivals, 100, 8.0, SLO, S) is None
    verdict = judge(frame, arrivals, 100, 10.0, SLO, S)
    assert verdict is not None and verdict.good and verdict.stable
    assert verdict.achieved_rps == pytest.approx(100, rel=0.15)
    assert verdict.latency_ms == pytest.approx(10.0)


def test_a_level_with_slow_answers_is_broken_at_once():
    """Every answer takes 300 ms > 100 ms: after one window the share over the SLO is 100%,
    far above the 1% p99 allows, so the level stops without waiting to be stable."""
    frame, arrivals = _records(100, 6, 300.0)
    verdict = judge(frame, arrivals, 100, 5.6, SLO, S)
    assert verdict is not None and not verdict.good
    assert "over 100 ms" in verdict.reason


def test_requests_waiting_past_the_slo_count_against_it():
    """A server that stopped answering at t=2 s: nothing recorded after, but the arrivals
    scheduled before now - lag - 100 ms are waiting longer than the SLO already."""
    frame, arrivals = _records(100, 8, 5.0)
    stalled = frame[frame["t_intended"] < 2.0]
    verdict = judge(stalled, arrivals, 100, 7.0, SLO, S)
    assert verdict is not None and not verdict.good and "still waiting" in verdict.reason
