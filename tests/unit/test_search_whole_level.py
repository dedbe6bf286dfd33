"""A capacity-search level is judged on what its phase row shows (fresh-user trial 8b).

Triton, p99<=100ms: level3@40rps was "good" on its 3 last windows (p99 29.1 ms) while
summary.json's row for it, every request it measured, had p99 101.3 ms: its first window's
3 slow requests were dropped as a transient. Now the level is held until its whole measured
stretch meets the SLO too, or broken at max_hold. The warm-up row's seconds are the time its
rows cover (each level's settle time and its tail), so its rate is theirs (776 rows over
5.0 s read 155.2 req/s where the search never offered more than 80). A level cut short by
max_duration says so, not "max_hold reached".
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from benchctl.analysis.slo import parse_slo
from benchctl.analysis.summary import summarize
from benchctl.config import CapacityScenario
from benchctl.reports.terminal.search import level_line
from benchctl.search import judge, window_length
from benchctl.search.judging import LevelVerdict
from benchctl.search.levels import LevelRecord, level_phases

S = CapacityScenario(kind="capacity", start_rate=10, max_rate=160, resolution=0.05)
SLO = parse_slo("p99<=100ms")


def _slow_start(seconds: float = 20.0) -> tuple[pd.DataFrame, np.ndarray]:
    """50 req/s at constant gaps (t = k / 50 s), each answered in 5 ms but for the first 6
    after the 1 s settle (t = 1.00 .. 1.10 s), answered in 150 ms."""
    arrivals = np.arange(int(seconds * 50)) / 50
    latency = np.where((arrivals >= 1.0) & (arrivals < 1.11), 150.0, 5.0)
    frame = pd.DataFrame(
        {
            "t_intended": arrivals,
            "latency_ms": latency,
            "ok": np.ones(arrivals.size, dtype=bool),
            "error": [""] * arrivals.size,
        }
    )
    return frame, arrivals


def test_a_level_whose_whole_stretch_breaks_the_slo_is_held_not_good():
    """Windows of 2 s (window_length(50) = max(2, min(66.7 / 50, 30 / 4)) = 2.0); at now =
    12 s the horizon is 9.5 s: windows [1,3) [3,5) [5,7) [7,9). The last 3 agree at 5 ms,
    but the level measured t in [1, 9.5): 425 requests, 6 of them 150 ms; the nearest rank
    ceil(0.99 x 425) = 421 > 419 at 5 ms, so p99 = 150 ms > 100: held (None), and at
    max_hold broken. Not plainly broken: 6 of 400 windowed = 1.5%, 1.5% - 2 sqrt(0.015 x
    0.985 / 400) = 0.28% <= 1%. At now = 16 s (horizon 13.5 s: 625 requests, rank 619 =
    619 at 5 ms) the level as a whole meets it: good, p99 5 ms over all it measured."""
    frame, arrivals = _slow_start()
    assert window_length(50, S, 0.99) == 2.0
    assert judge(frame, arrivals, 50, 12.0, SLO, S) is None
    broken = judge(frame, arrivals, 50, 12.0, SLO, S, final=True)
    assert broken is not None and not broken.good and broken.stable
    assert broken.measured_latency_ms == 150.0
    assert broken.reason == (
        "max_hold reached; windows agreed, but the percentile over all its 425 measured "
        "requests is 150.0 ms > 100 ms"
    )
    good = judge(frame, arrivals, 50, 16.0, SLO, S)
    assert good is not None and good.good and good.stable
    assert good.latency_ms == 5.0 and good.measured_latency_ms == 5.0


def test_a_level_cut_short_by_max_duration_says_so():
    """Decided at now = 6.5 s (horizon 4 s): one whole window [1, 3), no agreement of 3, so
    it is judged on all 1 window; the reason names max_duration, not max_hold."""
    frame, arrivals = _slow_start()
    quiet = frame.assign(latency_ms=5.0)
    why = "cut short by max_duration 60s"
    verdict = judge(quiet, arrivals, 50, 6.5, SLO, S, final=True, final_why=why)
    assert verdict is not None and verdict.good and not verdict.stable
    assert verdict.reason == (
        "cut short by max_duration 60s before the windows agreed; judged on all 1: "
        "within every bound"
    )


def test_the_warmup_row_covers_each_settle_and_tail():
    """Two levels at 10 req/s (constant gaps): level a starts at 0 s, settles until 1 s,
    is decided at 5 s and sends until 7.5 s; level b: 10, 11, 15, 16 s. Warm-up seconds by
    hand: (1 + 2.5) + (1 + 1) = 5.5 s; its rows: 10 + 25 + 10 + 10 = 55, so 55 / 5.5 =
    10.0 req/s offered (the settle stretches alone, 2 s, read 27.5)."""
    verdict = LevelVerdict(True, True, "stable", 10.0, 5.0, 40, 0.0, 1.0, False, 10.0)
    a = LevelRecord("a", 10.0, verdict, 0.0, 1.0, 5.0, 4.0)
    b = LevelRecord("b", 10.0, verdict, 10.0, 11.0, 15.0, 4.0)
    phases = level_phases(a, 7.5) + level_phases(b, 16.0)
    assert level_phases(b, 15.0) == phases[3:5]  # nothing sent after the decision: no tail
    sent = np.concatenate([np.arange(75) / 10, 10 + np.arange(60) / 10]) + 0.05
    phase = np.where((sent >= 1) & (sent < 5), "a", "warmup")  # rows at 0.05 .. 7.45 s
    phase = np.where((sent >= 11) & (sent < 15), "b", phase)  # and 10.05 .. 15.95 s
    frame = pd.DataFrame(
        {
            "t_intended": sent,
            "latency_ms": np.full(sent.size, 5.0),
            "send_lag_ms": np.zeros(sent.size),
            "ok": np.ones(sent.size, dtype=bool),
            "error": pd.Categorical([""] * sent.size),
            "phase": pd.Categorical(phase),
        }
    )
    warmup = summarize(frame, phases)["phases"]["warmup"]
    assert warmup["seconds"] == pytest.approx(5.5)
    assert warmup["requests"] == 55
    assert warmup["offered_rps"] == pytest.approx(10.0)


def test_the_level_line_gives_the_percentile_over_all_it_measured():
    """The trial's level: p99 29.1 ms in the judged windows; the line adds the p99 over
    every request it measured (the report's row) where it differs, and only there."""
    verdict = LevelVerdict(True, True, "stable", 34.2, 29.1, 205, 0.0, 1.0, False, 34.2)
    whole = dataclasses.replace(verdict, measured_latency_ms=95.04)
    line = level_line(LevelRecord("level3@40rps", 40.0, whole, 50.1, 51.1, 59.2, 8.1), "p99")
    assert line.endswith("after 8s (stable); p99 95.0 ms over all it measured")
    same = dataclasses.replace(verdict, measured_latency_ms=29.1)
    line = level_line(LevelRecord("level3@40rps", 40.0, same, 50.1, 51.1, 59.2, 8.1), "p99")
    assert line.endswith("after 8s (stable)")


def test_a_plainly_broken_level_keeps_its_whole_percentile_too():
    """Every answer 300 ms: broken at once (100% over 100 ms); its percentile over all it
    measured (t in [1, 3.1) s at now = 5.6) is 300 ms as well, for search.json."""
    frame, arrivals = _slow_start()
    slow = frame.assign(latency_ms=300.0)
    verdict = judge(slow, arrivals, 50, 5.6, SLO, S)
    assert verdict is not None and not verdict.good and "over 100 ms" in verdict.reason
    assert verdict.measured_latency_ms == 300.0
