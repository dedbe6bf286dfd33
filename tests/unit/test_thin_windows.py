"""No point meets the SLO, but windows at lower load did with fewer successes than the
percentile needs (trial 7, F16): the error says so and suggests a wider --window instead of
"measure at lower load". Run as a user runs it: the installed ``benchctl``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from benchctl.load.records import RecordBuffer, to_table
from tests.unit.run_files import completed_run_info, installed_benchctl, open_loop_plan

# 5 s windows: (requests, each one's latency in ms): 30 and 38 rps met p99<=100ms with
# 150 and 190 successes (< 200, what p99 needs); 120 and 160 rps broke it.
WINDOWS = [(150, 20.0), (190, 20.0), (600, 300.0), (800, 400.0)]


def ramp_run(folder: Path) -> Path:
    """A completed ramp run of one phase over 20 s, requests spread evenly in each window."""
    buffer, count = RecordBuffer(), 0
    for i, (n, latency_ms) in enumerate(WINDOWS):
        for t in np.linspace(i * 5.0, i * 5.0 + 5.0, n, endpoint=False).tolist():
            buffer.add(t, t, t + latency_ms / 1000, 200, "", 10, 10)
        count += n
    run_dir = folder / "ramp-run"
    run_dir.mkdir()
    table = to_table(buffer.drain(), ["ramp"], np.zeros(count, dtype=np.int8))
    pq.write_table(table, run_dir / "requests.parquet")
    scenario = {"name": "ramp", "time_scale": 1.0, "spec": {"kind": "ramp"}}
    plan = open_loop_plan(20.0, [{"name": "ramp", "start": 0.0, "end": 20.0}], [[0, 30], [20, 160]])
    (run_dir / "run.json").write_text(json.dumps(completed_run_info("ramp-run", scenario, plan)))
    return run_dir


def test_thin_windows_that_met_the_slo_suggest_a_wider_window(tmp_path: Path):
    """The points are the t=10s (p99 300 ms) and t=15s windows; a window's throughput counts
    completions in it: at t=10s, 600 requests started over 5 s finish 300 ms later, so the
    ones started in its last 0.3 s finish in the next: 600 × 4.7 / 5 / 5 s = 112.8 rps.
    The t=5s window met the
    SLO with 190 successes at 190 / 5 = 38.0 rps: 5 s × ceil(200 / 190) = 10 s windows hold
    enough. With --window 10s the run answers (0-10 s: 340 successes, p99 20 ms)."""
    run_dir = ramp_run(tmp_path)
    done = installed_benchctl("analyze", run_dir.name, "--slo", "p99<=100ms", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "benchctl: error: no measured point meets p99<=100ms: the best was 300.0 ms at "
        "112.8 rps; windows at lower load met it but held fewer than the 200 successes p99 "
        "needs to be a point (the t=5s window: 190 successes at 38.0 rps, p99 20.0 ms); try "
        "--window 10s (wider windows hold more successes each)"
    )
    wider = installed_benchctl(
        "analyze", run_dir.name, "--slo", "p99<=100ms", "--window", "10s", cwd=tmp_path
    )
    assert wider.returncode == 0, wider.stderr
    assert "One replica sustains" in wider.stdout
