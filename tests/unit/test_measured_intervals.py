"""Rates over the interval a run actually measured (trial 7, F6): an interrupted run's
phases are cut at its stop, and its level's throughput is over those seconds, never the
planned ones."""

import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from benchctl.analysis.capacity import AnalyzeOptions, analyze_run
from benchctl.analysis.phase_intervals import end_of_measured, measured_end, measured_seconds
from benchctl.analysis.points import measured_points
from benchctl.analysis.slo import parse_slo
from benchctl.load.records import RecordBuffer, to_table
from benchctl.store import RunDir
from tests.unit.run_files import completed_run_info, open_loop_plan

PHASES = [
    {"name": "warmup", "start": 0.0, "end": 2.0},
    {"name": "steady", "start": 2.0, "end": 40.0},
]


def interrupted_steady(tmp_path: Path, *, summary: bool = True) -> Path:
    """A steady 20 req/s run planned for 40 s (2 s warm-up), stopped by Ctrl-C at 20.4 s:
    40 warm-up requests (0 - 1.95 s) and 368 steady ones at 2 + i/20 s (i < 368, the last
    at 20.35 s), each answered in 5 ms. Its summary.json (as the run writes it) says 18.4
    measured seconds (stop 20.4 s - 2 s)."""
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    buffer, codes = RecordBuffer(), []
    for i in range(40 + 368):
        at = i / 20.0
        buffer.add(at, at, at + 0.005, 200, "", 10, 10)
        codes.append(0 if i < 40 else 1)
    table = to_table(buffer.drain(), ["warmup", "steady"], np.array(codes, dtype=np.int8))
    pq.write_table(table, run_dir / "requests.parquet")
    plan = open_loop_plan(40.0, PHASES, [[0.0, 20.0], [2.0, 20.0]])
    spec = {"kind": "steady", "rate": 20.0, "duration": 40.0, "warmup": 2.0}
    scenario = {"name": "steady", "time_scale": 1.0, "spec": spec}
    info = completed_run_info("run", scenario, plan)
    info.update(status="interrupted", reason="interrupted by user (Ctrl-C)")
    (run_dir / "run.json").write_text(json.dumps(info))
    if summary:
        (run_dir / "summary.json").write_text(json.dumps({"measured_seconds": 18.4}))
    return run_dir


def test_end_of_measured_walks_the_plan():
    """18.4 measured seconds after a 2 s warm-up end at 20.4 s; 38 cover the plan (None);
    with two 5 s phases after it, 7 s end 2 s into the second (2 + 5 + 2 = 9 s)."""
    assert end_of_measured(PHASES, 18.4) == pytest.approx(20.4)
    assert end_of_measured(PHASES, 38.0) is None
    two = [
        *PHASES[:1],
        {"name": "a", "start": 2.0, "end": 7.0},
        {"name": "b", "start": 7, "end": 12},
    ]
    assert end_of_measured(two, 7.0) == pytest.approx(9.0)


def test_interrupted_level_is_over_its_measured_seconds(tmp_path: Path):
    """368 successes over the 18.4 s measured are 20.0 req/s (368 / 18.4), not 9.68 over the
    38 planned seconds (368 / 38). Without a summary.json the stop is the last send
    (20.35 s): 368 / 18.35 = 20.05 req/s."""
    run_dir = interrupted_steady(tmp_path)
    info = json.loads((run_dir / "run.json").read_text())
    assert measured_end(run_dir, info) == pytest.approx(20.4)
    assert measured_seconds(run_dir, info)["steady"] == pytest.approx(18.4)
    points, _ = measured_points(run_dir, info, 0.99, 5.0)
    assert points.labels == ["steady"]
    assert points.throughput.tolist() == pytest.approx([20.0])
    (run_dir / "summary.json").unlink()
    points, _ = measured_points(run_dir, info, 0.99, 5.0)
    assert points.throughput.tolist() == pytest.approx([367 / 18.35])
    completed = {**info, "status": "completed"}  # a whole run: the planned 38 s
    assert measured_end(run_dir, completed) is None


def test_analyze_of_an_interrupted_run_sizes_from_what_it_served(tmp_path: Path):
    """analyze: one replica sustains at least 20.0 req/s (the SLO never broke), so a 20 req/s
    peak at 80% needs at most ceil(20 / (20.0 x 0.8)) = 2 replicas (the planned-seconds
    figure, 9.68 req/s, gave ceil(20 / 7.75) = 3)."""
    run = RunDir.open(interrupted_steady(tmp_path))
    doc = analyze_run(run, AnalyzeOptions(slo=parse_slo("p99<=100ms"), peak_rps=20.0))
    assert doc["points"]["throughput_rps"] == pytest.approx([20.0])
    assert doc["single_replica"]["measured_capacity_rps"] == pytest.approx(20.0)
    assert doc["replicas"]["recommended"] == 2


def backlog_run(tmp_path: Path) -> tuple[Path, list[dict]]:
    """A one-worker FIFO server taking 19.9 ms a request (at most 1 / 0.0199 = 50.25
    completions/s): level a sends 20 req/s over 0-10 s (every 50 ms, no queue: each done
    19.9 ms after its send), level b 60 req/s over 10-20 s (600 requests). In b the server
    is busy from 10.0 s on, so its k-th completion is at 10 + 0.0199 k s: within [10, 20)
    for k <= 502 (502 x 0.0199 = 9.9898; 503 x 0.0199 = 10.0097)."""
    run_dir = tmp_path / "backlog"
    run_dir.mkdir()
    buffer, codes, free = RecordBuffer(), [], 0.0
    sends = [(i * 0.05, 0) for i in range(200)] + [(10.0 + i / 60.0, 1) for i in range(600)]
    for at, code in sends:
        free = max(free, at) + 0.0199
        buffer.add(at, at, free, 200, "", 10, 10)
        codes.append(code)
    table = to_table(buffer.drain(), ["a", "b"], np.array(codes, dtype=np.int8))
    pq.write_table(table, run_dir / "requests.parquet")
    phases = [{"name": "a", "start": 0.0, "end": 10.0}, {"name": "b", "start": 10.0, "end": 20.0}]
    return run_dir, phases


def test_a_phase_serves_what_completed_within_it_not_what_it_queued(tmp_path: Path):
    """Trial 7 (F1): a 1-worker server (<= 50 completions/s) showed 59.0 req/s at a 60
    req/s step. Level b's throughput is its 502 completions within [10, 20) / 10 s = 50.2
    req/s (<= 50.25), not its 600 eventual successes / 10 s = 60; level a's is 200 / 10 =
    20.0. summary.json (frame and batched reader) and the capacity level points agree; b's
    ``ok`` still counts the 600 successes it sent."""
    from benchctl.analysis.points import file_level_points, level_points
    from benchctl.analysis.summary import read_requests, summarize
    from benchctl.analysis.summary_file import summarize_file

    run_dir, phases = backlog_run(tmp_path)
    path = run_dir / "requests.parquet"
    for summary in (summarize(read_requests(path), phases), summarize_file(path, phases)):
        a, b = summary["phases"]["a"], summary["phases"]["b"]
        assert (a["completed"], b["completed"], b["ok"]) == (200, 502, 600)
        assert a["throughput_rps"] == pytest.approx(20.0)
        assert b["throughput_rps"] == pytest.approx(50.2)
        assert b["offered_rps"] == pytest.approx(60.0)
    for points in (
        file_level_points(path, phases, 0.5),
        level_points(read_requests(path), phases, 0.5),
    ):
        assert points.labels == ["a", "b"]
        assert points.throughput.tolist() == pytest.approx([20.0, 50.2])


def test_the_most_served_counts_the_analyzed_runs_own_windows(tmp_path: Path):
    """Trial 7 (F1): a spike run sized from its capacity search said "the most the run
    served 70.2 rps" (the search's best level) while its own 5 s window at 30 s completed
    408 requests: 408 / 5 = 81.6 req/s. The served bound is the larger, 81.6, from that
    window."""
    import numpy as np
    import pandas as pd

    from benchctl.analysis.measured_rates import measured_rates
    from benchctl.analysis.points import Points

    search_points = Points(
        "search", np.array([60.0, 70.25]), np.array([90.0, 250.0]), None, ["l5", "l6"]
    )
    own = pd.DataFrame({"t": [25.0, 30.0, 35.0], "throughput_rps": [40.0, 408 / 5, 77.0]})
    info = {"plan": {"phases": []}}
    without = measured_rates(tmp_path, info, search_points, None, 5.0)
    assert (without.served_rps, without.served_where) == (70.25, "the l6 level")
    rates = measured_rates(tmp_path, info, search_points, None, 5.0, None, own)
    assert rates.served_rps == pytest.approx(81.6)
    assert rates.served_where == "this run's window at t=30s"
