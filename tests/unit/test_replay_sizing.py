"""A replayed trace is sized for its busiest second and simulated as the open-loop traffic
it is (trial 5, finding 5): not for a quarter-second bin of the plan's display curve, and
never skipped as "closed-loop"."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from benchctl.analysis.scaling_inputs import scenario_peak, traffic_for
from benchctl.load.records import RecordBuffer, to_table
from benchctl.plan.shapes import plan_scenario, rate_curve
from tests.unit.run_files import completed_run_info, installed_benchctl, open_loop_plan


def _info(curve: list[list[float]], duration: float, scale: float = 1.0) -> dict:
    plan = {"duration": duration, "open_loop": True, "curve": curve}
    return {"plan": plan, "scenario": {"time_scale": scale}}


def test_the_peak_is_the_busiest_second_not_the_busiest_bin():
    """Bins of 0.25 s: 40 rps for the first second; then 144 rps for 0.25 s and nothing for
    the rest of the second (36 arrivals). Busiest whole second: [0, 1) with 40 arrivals,
    so 40 rps, not 144."""
    rates = [40, 40, 40, 40, 144, 0, 0, 0]
    curve = [[0.25 * i, float(r)] for i, r in enumerate(rates)]
    assert scenario_peak(_info(curve, 2.0)) == pytest.approx(40.0)


def test_bins_at_least_a_second_wide_keep_their_own_rate():
    """10 s bins of 40, 200, 40 rps: a window of one second fits in each, so 200 exactly;
    at time scale 0.05 a real second is 0.05 s of run time, and 0.5 s bins give the same."""
    assert scenario_peak(_info([[0, 40.0], [10, 200.0], [20, 40.0]], 30.0)) == 200.0
    curve = [[0.5 * i, 200.0 if 10 <= i < 17 else 40.0] for i in range(60)]
    assert scenario_peak(_info(curve, 30.0, scale=0.05)) == 200.0


def test_closed_loop_or_no_curve_has_no_peak():
    assert scenario_peak({"plan": {"open_loop": False, "curve": [[0, 4.0]]}}) is None
    assert scenario_peak({"plan": {"open_loop": True, "curve": []}}) is None


def _bursty_trace(path: Path) -> np.ndarray:
    """15 s: 20 arrivals in each of seconds 0-4, then 60 in each of seconds 5-14, each
    second's arrivals packed into its first 0.2 s (so a 0.25 s bin holds a second's worth).
    506 arrivals would be the trial's; here 5 x 20 + 10 x 60 = 700. Busiest second: 60."""
    times = [
        second + np.linspace(0.0, 0.2, count, endpoint=False)
        for second, count in enumerate([20] * 5 + [60] * 10)
    ]
    arrivals = np.concatenate(times)
    path.write_text("time\n" + "\n".join(f"{t:.6f}" for t in arrivals) + "\n")
    return arrivals


def _spec(trace: Path) -> dict:
    return {"kind": "replay", "trace": str(trace), "loop": 1, "time_unit": "auto", "warmup": 0.0}


def test_traffic_of_a_replayed_trace_counts_each_second(tmp_path: Path):
    """The autoscaler simulation's traffic: arrivals per whole second, 20 x 5 then 60 x 10."""
    trace = tmp_path / "trace.csv"
    _bursty_trace(trace)
    info = {"scenario": {"name": "replay", "time_scale": 1.0, "spec": _spec(trace)}}
    found = traffic_for(info, None, None, None, tmp_path / "run.json")
    assert found is not None
    traffic, _ = found
    assert traffic.rps.tolist() == [20.0] * 5 + [60.0] * 10
    assert traffic.t.tolist() == [float(s) for s in range(15)]


def test_installed_benchctl_sizes_a_replay_for_its_busiest_second(tmp_path: Path):
    """The installed CLI from a fresh folder on a replay run of that trace (every request
    served in 5 ms): the peak is 60 rps (the plan's own curve, as `benchctl run` writes it,
    reads 0.25 s bins of 60 arrivals as 240 rps), and the autoscalers are simulated."""
    from benchctl.config import ReplayScenario

    trace = tmp_path / "trace.csv"
    arrivals = _bursty_trace(trace)
    plan = plan_scenario(ReplayScenario.model_validate(_spec(trace)), 1.0)
    curve = [[t, r] for t, r in rate_curve(plan)]
    assert max(r for _, r in curve) > 200  # the display curve's bins, not a rate to size for
    run_dir = tmp_path / "runs" / "replay"
    run_dir.mkdir(parents=True)
    buffer = RecordBuffer()
    for t in arrivals.tolist():
        buffer.add(t, t, t + 0.005, 200, "", 10, 10)
    codes = np.zeros(len(arrivals), dtype=np.int8)
    pq.write_table(to_table(buffer.drain(), ["replay"], codes), run_dir / "requests.parquet")
    scenario = {"name": "replay", "time_scale": 1.0, "spec": _spec(trace)}
    target = {"name": "synthetic", "spec": {"kind": "kserve", "model": "mlp"}}
    phases = [{"name": "replay", "start": 0, "end": plan.duration}]
    run_plan = open_loop_plan(plan.duration, phases, curve)
    info = completed_run_info("replay", scenario, run_plan, target)
    (run_dir / "run.json").write_text(json.dumps(info))
    done = installed_benchctl("analyze", "runs/replay", "--slo", "p99<=20ms", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    doc = json.loads((run_dir / "capacity.json").read_text())
    assert doc["peak_rps"] == pytest.approx(60.0, abs=0.5)
    assert "For a peak of 60 rps" in done.stdout
    scaling = doc["autoscaling"]
    assert "skipped" not in scaling, scaling.get("skipped")
    assert "closed-loop" not in done.stdout
    assert scaling["hpa"]["result"]["replica_seconds"] > 0


def test_a_replay_whose_trace_is_gone_falls_back_to_the_curve(tmp_path: Path):
    """No trace file: the plan's curve, one second at a time (40 rps as above)."""
    rates = [40, 40, 40, 40, 144, 0, 0, 0]
    info = _info([[0.25 * i, float(r)] for i, r in enumerate(rates)], 2.0)
    info["scenario"]["spec"] = _spec(tmp_path / "missing.csv")
    assert scenario_peak(info) == pytest.approx(40.0)
