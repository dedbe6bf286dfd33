"""The KPA target's mean latency is a measured one where the run measured it (trial 8: a 4 s
TorchServe run without a latency curve got "target 0.65 concurrency": 6.5 rps x the SLO's
100 ms standing in for its measured 5.73 ms mean), and a verdict withheld on short traffic
says what the candidates ran (it said "every candidate ran its min replicas" of 1 while
both ran 20)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from benchctl.analysis.autoscaler_simulation import (
    MeanLatency,
    default_kpa_candidates,
    kpa_mean_latency,
    kpa_target,
)
from benchctl.analysis.autoscaling_verdict import ran_sentence, too_short
from benchctl.analysis.cluster import ClusterSpec
from benchctl.analysis.scaling_inputs import measured_means, replica_model
from benchctl.load.records import RecordBuffer, to_table
from tests.unit.run_files import (
    completed_run_info,
    installed_benchctl,
    open_loop_plan,
    step_scenario,
)


def test_without_a_curve_the_target_uses_the_measured_mean_not_the_slo():
    """Trial 8's run: one 2 s window of 13 requests at 6.5 req/s, mean 5.7306 ms, no fit,
    SLO p50<=100ms, capacity 6.5 rps, 20% headroom: r = 0.8 x 6.5 = 5.2 rps. No window
    within 10% of 5.2 (6.5 is 25% away), so the nearest measured load's mean: W = 5.7306
    ms; target = 6.5 x 0.0057306 = 0.037249 -> 0.0372 (3 digits, rounded down), not 6.5 x
    0.100 = 0.65. At 80% the KPA aims at 0.0372 x 0.8 = 0.02976 in flight per pod."""
    windows = pd.DataFrame({"throughput_rps": [6.5], "seconds": [2.0], "mean_latency_ms": [5.7306]})
    model, source = replica_model({"capacity_rps": 6.5}, None, 100.0, ClusterSpec(), windows)
    assert model.mean is not None and model.mean.base_ms == pytest.approx(5.7306)
    assert source.startswith("measured mean latency 5.73 ms over the requests of 1 window")
    target, rate, latency_ms = kpa_target(model, 0.2)
    assert (target, rate) == (0.0372, pytest.approx(5.2))
    assert latency_ms == pytest.approx(5.7306)
    assert kpa_mean_latency(model, rate)[1] == (
        "measured at the nearest load: the mean of 1 window at 6.5 rps"
    )
    grid = default_kpa_candidates(model, 100.0, headroom=0.2, need=20)
    assert {p.target for p in grid} == {0.0372}
    assert max(p.effective_target for p in grid) == pytest.approx(0.02976)


def test_a_mean_measured_near_the_rate_comes_before_the_fitted_curve():
    """Capacity 68.6 rps, 20% headroom: r = 54.88 rps. Curve 15.6 + 309 / (74.17 - x):
    W(54.88) = 15.6 + 309 / 19.29 = 31.62 ms. Windows within 10% of r (49.39-60.37 rps):
    54.0 rps at 30 ms and 57.4 rps at 36 ms over 5 s each (270 and 287 requests); the one at
    20 rps is not near. W = (270 x 30 + 287 x 36) / 557 = 18,432 / 557 = 33.092 ms; target
    = 68.6 x 0.033092 = 2.2701 -> 2.27 (the curve would give 68.6 x 0.03162 = 2.169)."""
    windows = pd.DataFrame(
        {
            "throughput_rps": [20.0, 54.0, 57.4],
            "seconds": [5.0, 5.0, 5.0],
            "mean_latency_ms": [18.0, 30.0, 36.0],
        }
    )
    model, _ = replica_model({"capacity_rps": 68.6}, None, 200.0, ClusterSpec(), windows)
    model = type(model)(**{**vars(model), "mean": MeanLatency(15.6, 309.0, 74.17)})
    target, rate, latency_ms = kpa_target(model, 0.2)
    assert rate == pytest.approx(54.88)
    assert latency_ms == pytest.approx(18432 / 557)
    assert target == 2.27
    assert kpa_mean_latency(model, rate)[1] == (
        "measured near it: the mean of 2 windows at 54.0-57.4 rps"
    )


def test_the_withheld_verdict_says_what_the_candidates_ran():
    """4 s of traffic: the HPA ran 20 replicas for 80 replica-seconds = 20 x 4 (throughout),
    the KPA 70 replica-seconds < 20 x 4 (at most 20)."""
    section = {
        "traffic": {"seconds": 4.0},
        "hpa": {
            "policy": {"min_replicas": 1},
            "result": {"max_replicas": 20, "replica_seconds": 80.0},
        },
        "kpa": {
            "policy": {"min_scale": 0},
            "result": {"max_replicas": 20, "replica_seconds": 70.0},
        },
    }
    ran = ran_sentence(section)
    assert ran == (
        "the chosen KEDA/HPA ran 20 replicas throughout (min 1), the chosen KPA at most 20 pods"
        " (min 0)"
    )
    reason = too_short(4.0, ClusterSpec(), ran)
    assert reason is not None and "traffic (4 s) is too short to see an autoscaler act" in reason
    assert reason.count(ran) == 1 and "min replicas throughout" not in reason


def _steady_run(tmp_path: Path) -> Path:
    """20 requests 0.2 s apart over 4 s (5 req/s), each answered in 6 ms."""
    buffer = RecordBuffer()
    for t in np.arange(20) * 0.2:
        buffer.add(float(t), float(t), float(t) + 0.006, 200, "", 10, 10)
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    phases = [{"name": "step1@5rps", "start": 0.0, "end": 4.0}]
    table = to_table(buffer.drain(), ["step1@5rps"], np.zeros(20, dtype=np.int8))
    pq.write_table(table, run_dir / "requests.parquet")
    info = completed_run_info(
        "run", step_scenario([5.0], 4.0), open_loop_plan(4.0, phases, [[0.0, 5.0]])
    )
    (run_dir / "run.json").write_text(json.dumps(info))
    return run_dir


def test_analyze_a_short_run_without_a_curve_as_a_user(tmp_path: Path):
    """20 requests in 4 s, each answered in 6 ms, p50<=100ms never broke: capacity at least
    20 / 4 = 5.0 rps; with the default 20% headroom the KPA target is 5.0 x 0.006 = 0.03 in
    flight (was 5.0 x the SLO's 0.100 s = 0.5). The --peak-rps 100 traffic lasts 4 s: the
    HPA starts at ceil(100 / (0.8 x 5.0)) = 25 replicas, the KPA at 25 pods (it aims at
    0.03 x 0.8 = 0.024 in flight = 4.0 rps x 6 ms per pod: 100 / 4.0 = 25), and both keep
    them: 25 x 4 = 100 replica-seconds. The withheld verdict says so, alike in the
    terminal, the summary and the warning (it said "every candidate ran its min replicas")."""
    run_dir = _steady_run(tmp_path)
    done = installed_benchctl(
        "analyze", run_dir.name, "--slo", "p50<=100ms", "--peak-rps", "100", "--price", "1/h",
        cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    doc = json.loads((run_dir / "capacity.json").read_text())
    scaling = doc["autoscaling"]
    assert doc["capacity_rps"] == 5.0
    assert scaling["mean_latency"]["base_ms"] == pytest.approx(6.0)
    assert scaling["kpa"]["policy"]["target"] == 0.03
    for key in ("hpa", "kpa"):
        assert scaling[key]["result"]["max_replicas"] == 25
        assert scaling[key]["result"]["replica_seconds"] == pytest.approx(100.0)
    reason = scaling["verdict"]["reason"]
    assert (
        "the chosen KEDA/HPA ran 25 replicas throughout (min 1), the chosen KPA 25 pods"
        " throughout (min 0)" in reason
    )
    out = " ".join(done.stdout.split())
    assert f"{reason[:1].upper()}{reason[1:]}." in scaling["summary"]
    assert f"warning: {reason}" in out and reason in doc["warnings"]
    assert "min replicas throughout" not in out
    assert "5.0 rps capacity x 6 ms, the mean latency at 4.0 rps (80% of capacity), measured" in out


def test_overloaded_and_draining_windows_are_not_a_pods_steady_mean():
    """Four windows of 10 s: steady at 60 rps (60 arriving, mean 40 ms) and at 66 rps (68
    arriving: 97% served, mean 50 ms), a burst serving 64 rps of 200 arriving at a 700 ms
    mean, and a drain serving 69 rps of 58 arriving at 1,871 ms (both a backlog's wait).
    Near 63.9 rps (within 10%: 57.5-70.3) only the two steady ones count:
    (600 x 40 + 660 x 50) / (600 + 660) = 57000 / 1260 = 45.24 ms (make demo's KPA target
    was 79.8 x 699.5 ms = 55.8 from such windows)."""
    windows = pd.DataFrame(
        {
            "throughput_rps": [60.0, 66.0, 64.0, 69.0],
            "offered_rps": [60.0, 68.0, 200.0, 58.0],
            "mean_latency_ms": [40.0, 50.0, 700.0, 1871.0],
            "seconds": [10.0, 10.0, 10.0, 10.0],
        }
    )
    measured = measured_means(windows)
    assert measured is not None
    mean, low, high, count = measured.near(63.9)
    assert mean == pytest.approx(57000 / 1260)
    assert (low, high, count) == (60.0, 66.0, 2)
