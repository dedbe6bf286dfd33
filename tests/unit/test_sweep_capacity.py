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


def test_retrograde_levels_bound_the_capacity_from_above():
    """c=2 met p99<=50ms serving 160 rps; c=4 (more load) broke it serving 130: the bound is
    measured, 160 rps, band [160, 160] (the broken level served less than the met one); the
    levels from the throughput peak (c=2) on are overloaded: saturation 160 rps; c=1 is
    below the best good level and met the SLO, so no level is 'non-monotone'."""
    points = Points(
        "levels",
        np.array([100.0, 100.0, 130.0, 160.0]),
        np.array([120.0, 10.0, 70.0, 12.5]),
        np.array([8, 1, 4, 2]),
        ["c=8", "c=1", "c=4", "c=2"],
    )
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
    """The headline is measured at 160.0 rps (c=2 met it; c=4 broke it serving 130.0),
    never 'the SLO never broke', no 'below the best good one' or 'contradicted' warning
    about the higher-concurrency levels, the saturation is 160.0 rps and the USL fit is
    printed."""
    run_dir = sweep_run(tmp_path)
    done = installed_benchctl("analyze", run_dir.name, "--slo", "p99<=50ms", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    out = " ".join(done.stdout.split())
    assert "One replica sustains 160.0 rps under p99<=50ms (measured in a closed-loop sweep" in out
    assert "more load, c=4, broke it serving 130.0 rps" in out
    assert "never broke" not in out and "below the best good one" not in out
    assert "contradicted" not in out
    assert "Saturates near 160.0 rps" in out
    assert "USL fit (closed-loop sweep): peak concurrency" in out
    doc = json.loads((run_dir / "capacity.json").read_text())
    assert doc["bound"] == "measured" and doc["capacity_band_rps"] == [160.0, 160.0]
    assert doc["single_replica"]["sweep"]["retrograde"] is True
