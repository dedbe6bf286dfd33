"""The replica count and its M/M/c check agree: when no row of the table meets the SLO the
reason says the check does not support the count, and why (trial 5, finding 2)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from benchctl.analysis.replica_sizing import replicas_for_peak
from benchctl.analysis.slo import parse_slo
from benchctl.load.records import RecordBuffer, to_table
from tests.unit.run_files import (
    completed_run_info,
    installed_benchctl,
    open_loop_plan,
    step_scenario,
)


def _single(capacity: float, saturation: float, met: float) -> dict:
    return {
        "capacity_rps": capacity,
        "bound": "measured",
        "lower_rps": met,
        "saturation_rps": saturation,
        "fit": {"measured_max_throughput": saturation},
    }


def test_no_row_meets_the_slo_so_the_check_does_not_support_the_count():
    """Service rate mu = 100 rps per replica, p99 <= 20 ms, peak 200 rps, 20% headroom.

    by capacity: ceil(200 / (100 x 0.8)) = ceil(2.5) = 3. Exponential service of mean
    10 ms has p99 = ln(100) x 10 ms = 46.05 ms: no count reaches 20 ms, so by_erlang_c is
    None. At 50 rps, where the run met the SLO, M/M/1's p99 is ln(100) / (100 - 50) s =
    92.1 ms. mu equals the highest throughput measured: a lower bound on the service rate.
    """
    replicas = replicas_for_peak(
        _single(100.0, 100.0, 50.0), 200.0, parse_slo("p99<=20ms"), 0.2, None
    )
    assert replicas is not None
    assert replicas["recommended"] == 3 and replicas["by_capacity"] == 3
    assert replicas["by_erlang_c"] is None
    assert replicas["erlang_c_supports"] is False
    assert replicas["service_rate_is_lower_bound"] is True
    assert not any(row["meets_slo"] for row in replicas["table"])
    assert "checked with" not in replicas["reason"]
    assert "from the measured capacity alone" in replicas["reason"]
    assert "the M/M/c check does not support this count" in replicas["reason"]
    assert "at least 46.1 ms" in replicas["reason"]  # ln(100) x 10 ms
    assert "met the SLO at 50.0 rps, where the model predicts 92.1 ms" in replicas["reason"]
    assert "predicted tails are upper bounds" in replicas["erlang_c_note"]
    assert math.log(100) * 10 == pytest.approx(46.05, abs=0.01)


def test_a_row_meets_the_slo_so_the_check_supports_the_count():
    """mu = 1,000 rps per replica (well above the 100 rps measured), p99 <= 20 ms, peak 200.

    M/M/1 at 200 rps: p99 = ln(100) / (1000 - 200) s = 5.76 ms, within the SLO, but the
    headroom on the capacity asks 200 / N <= 100 x 0.8, so N = 3 both ways.
    """
    single = _single(100.0, 1000.0, 100.0)
    single["fit"]["measured_max_throughput"] = 100.0
    replicas = replicas_for_peak(single, 200.0, parse_slo("p99<=20ms"), 0.2, None)
    assert replicas is not None
    assert replicas["by_erlang_c"] == 3 and replicas["recommended"] == 3
    assert replicas["erlang_c_supports"] is True
    assert replicas["service_rate_is_lower_bound"] is False
    assert replicas["erlang_c_note"] == ""
    assert "checked with an M/M/c tail (service rate 1000.0 rps per replica)" in replicas["reason"]
    assert replicas["table"][0]["predicted_quantile_ms"] == pytest.approx(
        1000 * math.log(100) / 800, rel=1e-6
    )


def _near_deterministic_run(tmp_path: Path) -> Path:
    """Steps at 40..180 rps whose latency is 2 ms plus Exp(mean 0.1 / (200 - rate) s):
    p99 = 2 ms + ln(100) x 100 / (200 - rate) ms: 4.9 ms at 40 rps, 7.8 ms at 120, 13.5 at
    160. Far tighter than an exponential service time of 5 ms (p99 23 ms)."""
    rng = np.random.default_rng(7)
    rates, step = [40.0, 80.0, 120.0, 160.0, 180.0], 30.0
    buffer, codes, phases = RecordBuffer(), [], []
    for i, rate in enumerate(rates):
        start = i * step
        arrivals = np.sort(rng.uniform(start, start + step, int(rate * step)))
        latency = 0.002 + rng.exponential(0.1 / (200.0 - rate), len(arrivals))
        for t, seconds in zip(arrivals.tolist(), latency.tolist(), strict=True):
            buffer.add(t, t, t + seconds, 200, "", 10, 10)
        codes += [i] * len(arrivals)
        phases.append({"name": f"step{i + 1}@{rate:g}rps", "start": start, "end": start + step})
    run_dir = tmp_path / "runs" / "run"
    run_dir.mkdir(parents=True)
    names = [p["name"] for p in phases]
    table = to_table(buffer.drain(), names, np.array(codes, dtype=np.int8))
    pq.write_table(table, run_dir / "requests.parquet")
    scenario = step_scenario(rates, step)
    curve = [[p["start"], r] for p, r in zip(phases, rates, strict=True)]
    info = completed_run_info("run", scenario, open_loop_plan(step * len(rates), phases, curve))
    (run_dir / "run.json").write_text(json.dumps(info))
    return run_dir


def test_installed_benchctl_says_the_check_does_not_support_the_count(tmp_path: Path):
    """The installed CLI from a fresh folder: p99 <= 10 ms, peak 400 rps. The run's tail is
    far below an exponential service time's (p99 at least ln(100) / mu: 23 ms at mu 200), so
    no M/M/c row meets 10 ms; the count must not claim the check."""
    _near_deterministic_run(tmp_path)
    done = installed_benchctl(
        "analyze", "runs/run", "--slo", "p99<=10ms", "--peak-rps", "400", cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    doc = json.loads((tmp_path / "runs" / "run" / "capacity.json").read_text())
    replicas = doc["replicas"]
    saturation = doc["single_replica"]["saturation_rps"]
    assert 1000 * math.log(100) / saturation > 10  # the model's floor is above the SLO
    assert replicas["by_erlang_c"] is None and replicas["erlang_c_supports"] is False
    assert not any(row["meets_slo"] for row in replicas["table"])
    assert "checked with" not in replicas["reason"]
    floor = f"at least {1000 * math.log(100) / saturation:.1f} ms"
    assert floor in replicas["reason"]
    assert "the M/M/c check does not support this count" in done.stdout
    assert "no row meets the SLO: the count rests on the measured capacity" in done.stdout
