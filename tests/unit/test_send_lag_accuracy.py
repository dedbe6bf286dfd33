"""The generator accuracy section (analysis/accuracy.py): known answers by hand."""

import numpy as np
import pandas as pd
import pytest

from benchctl.analysis.accuracy import (
    accuracy_line,
    generator_accuracy,
    generator_section,
    lag_stats,
)
from benchctl.load.records import DROPPED


def test_lag_stats_are_nearest_rank():
    """Lags 1..100 ms: p50 is the 50th smallest (50), p99 the 99th (99), max 100; NaN (a
    dropped arrival's lag) is not a lag."""
    lags = np.append(np.arange(1.0, 101.0), np.nan)
    assert lag_stats(lags) == {"requests": 100, "p50": 50.0, "p99": 99.0, "max": 100.0}
    assert lag_stats(np.array([])) == {"requests": 0, "p50": None, "p99": None, "max": None}


def frame(rows: list[tuple[float, float, bool, str, str, int]]) -> pd.DataFrame:
    columns = ["send_lag_ms", "latency_ms", "ok", "error", "phase", "worker"]
    return pd.DataFrame(rows, columns=columns)


def test_per_process_and_phase_warm_up_and_drops_left_out():
    """worker-0 sends lags 0.01, 0.02 ms (steady) and 5 ms in warm-up; worker-1 sends
    0.03 ms (steady) and 0.04 ms (burst); one dropped arrival (NaN lag). After warm-up the
    four lags are 0.01..0.04: p50 = 2nd smallest = 0.02, p99 = 4th = 0.04, max 0.04.
    Latencies are 10 ms, so the lag is 0.2% of them: no warning."""
    rows = [
        (5.0, 15.0, True, "", "warmup", 0),
        (0.01, 10.0, True, "", "steady", 0),
        (0.02, 10.0, True, "", "steady", 0),
        (0.03, 10.0, True, "", "steady", 1),
        (0.04, 10.0, True, "", "burst", 1),
        (np.nan, np.nan, False, DROPPED, "steady", 1),
    ]
    pacing = {
        "worker-0": {"wake": "timerfd", "seconds": 6.0, "cpu_seconds": 0.6, "cpu_percent": 10.0},
        "worker-1": {"wake": "timerfd", "seconds": 6.0, "cpu_seconds": 1.2, "cpu_percent": 20.0},
    }
    result = generator_accuracy(frame(rows), pacing)
    assert result["wake"] == "timerfd"
    assert result["send_lag_ms"] == {"requests": 4, "p50": 0.02, "p99": 0.04, "max": 0.04}
    first, second = result["processes"]["worker-0"], result["processes"]["worker-1"]
    assert (first["requests"], first["p50"], first["max"]) == (2, 0.01, 0.02)
    assert first["cpu_percent"] == 10.0 and first["wake"] == "timerfd"
    assert second["phases"] == {
        "steady": {"requests": 1, "p50": 0.03, "p99": 0.03, "max": 0.03},
        "burst": {"requests": 1, "p50": 0.04, "p99": 0.04, "max": 0.04},
    }
    assert result["phases"]["warmup"]["max"] == 5.0  # per phase, warm-up is shown too
    assert result["warning"] is None
    section = generator_section(result)
    assert section["wake"] == "timerfd" and section["send_lag_warning"] is None
    assert "phases" not in section["pacing"]["worker-0"]
    line = accuracy_line(result)
    assert "p50 0.020 ms" in line and "wake: timerfd" in line and "worker-1 20%" in line


def test_warning_when_lag_is_a_tenth_of_latency():
    """Lags 0.7 ms against latencies 2 ms (a coarse timer against a fast server): 35% of
    the p50 latency, over the 10% threshold: warned, with both numbers. The local engine's
    rows (worker 0) are named 'engine', as its pacing report is."""
    rows = [(0.7, 2.0, True, "", "steady", 0)] * 10
    result = generator_accuracy(frame(rows), {"engine": {"wake": "sleep", "cpu_percent": 5.0}})
    assert result["wake"] == "sleep"
    assert list(result["processes"]) == ["engine"]
    assert result["warning"].startswith("send lag (this run did not record waits for an")
    assert "p50 0.7 ms is 35% of the p50 latency (2 ms)" in result["warning"]


def test_mixed_wake_and_a_process_that_sent_nothing():
    rows = [(0.01, 1.0, True, "", "steady", 0)]
    pacing = {"worker-0": {"wake": "timerfd"}, "worker-1": {"wake": "sleep"}}
    result = generator_accuracy(frame(rows), pacing)
    assert result["wake"] == "mixed"
    assert result["processes"]["worker-1"]["requests"] == 0


def test_report_shows_send_lag_beside_the_latencies_and_the_warning(tmp_path):
    """run.json's generator section (as run._finalize writes it) becomes a tile in the key
    numbers (3 decimals: 0.042 / 0.870 ms) and the warning a banner; a run from before
    issue 17 (no send lag recorded) has no tile."""
    from tests.unit.test_report import _render, _run_dir

    warning = "send lag p99 0.87 ms is 19% of the p99 latency (4.5 ms): latencies include it"
    generator = {
        "saturated": False,
        "wake": "timerfd",
        "send_lag_ms": {"requests": 593, "p50": 0.042, "p99": 0.87, "max": 3.5},
        "send_lag_warning": warning,
    }
    (tmp_path / "new").mkdir()
    (tmp_path / "old").mkdir()
    page = _render(_run_dir(tmp_path / "new", generator=generator))
    tile = page[page.index('id="send-lag"') :][:400]
    assert "0.042 / 0.870" in tile and "max 3.500" in tile and "wake: timerfd" in tile
    assert "Generator send lag" in page and "Send lag p99 0.87 ms is 19%" in page
    old = _render(_run_dir(tmp_path / "old"))
    assert 'id="send-lag"' not in old and "Generator send lag" not in old


def test_waiting_for_an_in_flight_slot_is_not_scheduler_lag():
    """make demo's case: 100 requests, latency 5,000 ms each (a slow server); 20 of them
    waited 1,000 ms for an in-flight slot (send lag 1,000.2 ms: 0.2 ms scheduler + 1,000 ms
    slot wait), the other 80 have send lag 0.2 ms. Scheduler lag is 0.2 ms for all 100
    (0.004% of the latency): no warning, although the send lag's p99 (99th smallest =
    1,000.2 ms) is 20% of the p99 latency. Slot waits: 20 of 100 requests (20%), p99 1,000."""
    rows = [(1000.2, 5000.0, True, "", "steady", 0, 1000.0)] * 20
    rows += [(0.2, 5000.0, True, "", "steady", 0, np.nan)] * 80
    columns = ["send_lag_ms", "latency_ms", "ok", "error", "phase", "worker", "slot_wait_ms"]
    result = generator_accuracy(
        pd.DataFrame(rows, columns=columns), {"engine": {"wake": "timerfd"}}
    )
    assert result["send_lag_ms"]["p99"] == 1000.2
    assert result["scheduler_lag_ms"]["p99"] == pytest.approx(0.2)
    assert result["slot_wait"]["share"] == 0.2 and result["slot_wait"]["p99"] == 1000.0
    assert result["warning"] is None
    line = accuracy_line(result)
    assert "waiting for an in-flight slot: 20.0% of requests, p99 1,000 ms" in line
    assert "scheduler lag p99 0.2 ms" in line


def test_scheduler_lag_warning_in_plain_numbers():
    """Scheduler lag 1,000 ms (no slot wait) against 5,000 ms latencies: 20% > 10%: warned
    as scheduler lag, '1,000 ms' and '5,000 ms' (no e-notation)."""
    rows = [(1000.0, 5000.0, True, "", "steady", 0, np.nan)] * 10
    columns = ["send_lag_ms", "latency_ms", "ok", "error", "phase", "worker", "slot_wait_ms"]
    result = generator_accuracy(
        pd.DataFrame(rows, columns=columns), {"engine": {"wake": "timerfd"}}
    )
    assert result["warning"].startswith("scheduler lag (the driver woke late")
    assert "p99 1,000 ms is 20% of the p99 latency (5,000 ms)" in result["warning"]
    assert "e+" not in result["warning"]


def test_report_places_the_lag_banner_after_the_capacity_answer(tmp_path):
    """The banner qualifies the latencies: it follows the Capacity answer section."""
    from tests.unit.test_report import _render, _run_dir

    generator = {
        "wake": "timerfd",
        "send_lag_ms": {"requests": 10, "p50": 0.1, "p99": 1000.0, "max": 1000.0},
        "send_lag_warning": "scheduler lag (the driver woke late) p99 1,000 ms is 20%",
    }
    page = _render(_run_dir(tmp_path, generator=generator))
    assert page.index('id="capacity"') < page.index('id="banner-send-lag"')
