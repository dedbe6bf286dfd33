"""A closed-loop sweep whose throughput falls at higher concurrency (trial 7, F4): levels
are ordered by requests in flight, so a level with more concurrency that broke the SLO bounds
the capacity from above even though it served less; retrograde throughput is a measured
saturation; the USL fit is printed. Run as a user runs it: the installed ``benchctl`` on a
copy of a synthetic sweep run, from a fresh folder."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from benchctl.analysis.bounds import capacity_bound
from benchctl.analysis.points import Points
from benchctl.analysis.sweep import sweep_levels
from benchctl.load.records import RecordBuffer, to_table
from tests.unit.run_files import completed_run_info, installed_benchctl

HOLD_S = 10.0
# (concurrency, requests served in the 10 s hold, every request's latency in ms)
LEVELS = [(1, 1000, 10.0), (2, 1600, 12.5), (4, 1300, 70.0), (8, 1000, 120.0)]


def sweep_run(folder: Path) -> Path:
    """A completed closed-loop sweep run: each level's requests evenly spread over its hold,
    all with the same latency, so each level serves requests / 10 s and its p99 is that
    latency: c=1 100 rps 10 ms, c=2 160 rps 12.5 ms, c=4 130 rps 70 ms, c=8 100 rps 120 ms."""
    buffer, codes, phases = RecordBuffer(), [], []
    for i, (n, count, latency_ms) in enumerate(LEVELS):
        start = i * HOLD_S
        for t in np.linspace(start, start + HOLD_S, count, endpoint=False).tolist():
            buffer.add(t, t, t + latency_ms / 1000, 200, "", 10, 10)
        codes += [i] * count
        phases.append({"name": f"c={n}", "start": start, "end": start + HOLD_S})
    run_dir = folder / "sweep-run"
    run_dir.mkdir()
    names = [p["name"] for p in phases]
    table = to_table(buffer.drain(), names, np.array(codes, dtype=np.int8))
    pq.write_table(table, run_dir / "requests.parquet")
    scenario = {"name": "sweep", "time_scale": 1.0, "spec": {"kind": "sweep", "hold": HOLD_S}}
    plan = {"duration": HOLD_S * len(LEVELS), "open_loop": False, "phases": phases, "curve": []}
    info = completed_run_info("sweep-run", scenario, plan)
    (run_dir / "run.json").write_text(json.dumps(info))
    return run_dir


def _sweep_points(throughput: list[float], p99_ms: list[float]) -> Points:
    """A closed-loop sweep's level points at concurrency 8, 1, 4 and 2 (in that order)."""
    return Points(
        "levels", np.array(throughput), np.array(p99_ms), np.array([8, 1, 4, 2]),
        ["c=8", "c=1", "c=4", "c=2"],
    )  # fmt: skip


def test_retrograde_levels_bound_the_capacity_from_above():
    """c=2 met p99<=50ms serving 160 rps; c=4 (more load) broke it serving 130: the bound is
    measured, 160 rps, band [160, 160] (the broken level served less than the met one); the
    levels from the throughput peak (c=2) on are overloaded: saturation 160 rps; c=1 is
    below the best good level and met the SLO, so no level is 'non-monotone'."""
    points = _sweep_points([100.0, 100.0, 130.0, 160.0], [120.0, 10.0, 70.0, 12.5])
    levels = sweep_levels(points, 50.0)
    assert levels is not None
    assert [lv.label for lv in levels if lv.overloaded] == ["c=2", "c=4", "c=8"]
    found = capacity_bound(levels, 50.0, demand_upper_rps=418.1)
    assert found is not None
    assert (found.bound, found.capacity_rps, found.band) == ("measured", 160.0, (160.0, 160.0))
    assert found.first_bad is not None and found.first_bad.label == "c=4"
    assert found.non_monotone == [] and found.saturation_rps == 160.0


def test_an_open_loop_run_has_no_sweep_levels():
    points = Points("levels", np.array([10.0, 20.0]), np.array([5.0, 9.0]), None, ["a", "b"])
    assert sweep_levels(points, 50.0) is None


def test_analyze_a_retrograde_sweep_as_a_user(tmp_path: Path):
    """The headline is measured at 159.9 rps (c=2 met it; c=4 broke it serving 129.3),
    never 'the SLO never broke', no 'below the best good one' or 'contradicted' warning
    about the higher-concurrency levels, the saturation is 159.9 rps and the USL fit is
    printed. A level's throughput is its completions within its hold (send + latency in
    [start, start + 10 s)): c=2 completes 1,600 - 2 of its own (sent at 19.9875 and
    19.99375 s, done at 20.0 and 20.00625 s) + 1 of c=1's (sent 9.99 s, done 10.0 s) =
    1,599 -> 159.9 rps; c=4 (sends 10/1.3 ms apart, 70 ms each) 1,300 - 9 + 2 = 1,293 ->
    129.3 rps."""
    run_dir = sweep_run(tmp_path)
    done = installed_benchctl("analyze", run_dir.name, "--slo", "p99<=50ms", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    out = " ".join(done.stdout.split())
    assert "One replica sustains 159.9 rps under p99<=50ms (measured in a closed-loop sweep" in out
    assert "more load, c=4, broke it serving 129.3 rps" in out
    assert "never broke" not in out and "below the best good one" not in out
    assert "contradicted" not in out
    assert "Saturates near 159.9 rps" in out
    assert "USL fit (closed-loop sweep): peak concurrency" in out
    assert "Replicas: no peak to size for" in out and "pass --peak-rps RPS or --traffic" in out
    doc = json.loads((run_dir / "capacity.json").read_text())
    assert doc["bound"] == "measured" and doc["capacity_band_rps"] == [159.9, 159.9]
    assert doc["single_replica"]["sweep"]["retrograde"] is True


def test_trial_sweep_points_give_an_answer_whatever_the_fit_does():
    """Trial 7's MLServer sweep (c=1 124.0 rps p99 14.2 ms, c=2 163.4 / 18.2, c=4 131.4 /
    71.0, c=8 102.8 / 120.2): whether the latency fit converges or diverges (it overflowed
    once), the answer is c=2's measured 163.4 rps, never an internal error."""
    from benchctl.analysis.single_replica import single_replica
    from benchctl.analysis.slo import parse_slo

    points = _sweep_points(
        [102.8, 124.0, 131.4, 163.4],
        [120.24795799516141, 14.201434001734015, 70.98174100246979, 18.15616199746728],
    )
    single, _ = single_replica(points, parse_slo("p99<=50ms"), [], None, {})
    assert (single["bound"], single["capacity_rps"]) == ("measured", 163.4)
    assert single["sweep"]["broke_level"] == "c=4"
