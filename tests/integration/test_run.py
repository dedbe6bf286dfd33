"""`benchctl run` end to end against a real KServe on loopback (bounded runs)."""

import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pyarrow.parquet as pq
import pytest
from rich.console import Console

from benchctl.run import RunOptions, RunResult, run
from benchctl.store import RunDir

from .conftest import start_kserve, target_overrides

QUIET = Console(file=io.StringIO(), width=120)


def steady(
    tmp_path: Path,
    server,
    *,
    target: str = "kserve",
    rate: float = 100,
    duration: str = "6s",
    **options,
) -> RunResult:
    overrides = options.pop("target_overrides", ())
    return run(
        RunOptions(
            scenario="steady",
            target=target,
            rate=rate,
            duration=duration,
            overrides=("warmup=1s", *options.pop("overrides", ())),
            runs_dir=tmp_path / "runs",
            target_overrides=(*target_overrides(server), *overrides),
            **options,
        ),
        console=QUIET,
    )


def requests_of(result: RunResult):
    return pq.read_table(result.run_dir / "requests.parquet").to_pandas()


def run_json(result: RunResult) -> dict:
    return json.loads((result.run_dir / "run.json").read_text())


@pytest.mark.parametrize("target", ["kserve", "kserve-v1", "kserve-grpc"])
def test_open_loop_run_keeps_every_request(tmp_path, kserve, target, monkeypatch):
    monkeypatch.setenv("BENCH_TEST_KEY", "sekrit-value-123")
    result = steady(
        tmp_path, kserve, target=target, target_overrides=("headers.X-Api-Key=${BENCH_TEST_KEY}",)
    )
    assert result.status == "completed", result.reason
    frame, info = requests_of(result), run_json(result)
    # Poisson(600) over 6 s at 100 rps: 4 standard deviations is about ±100.
    assert 500 <= len(frame) <= 700
    assert (
        info["counts"]["rows"] == len(frame) == info["counts"]["sent"] + info["counts"]["dropped"]
    )
    assert frame["ok"].all(), frame["error"].value_counts().to_dict()
    measured = frame[frame["phase"] != "warmup"]
    assert result.summary["overall"]["ok"] == len(measured)
    assert result.summary["overall"]["latency_ms"]["p50"] > 0
    assert (frame["latency_ms"] >= frame["service_ms"] - 1e-6).all()
    for path in result.run_dir.rglob("*"):  # the secret never lands in run files
        if path.is_file():
            assert b"sekrit-value-123" not in path.read_bytes(), path
    # every header value is redacted unless marked safe; the variable's name is kept
    assert info["target"]["spec"]["headers"]["X-Api-Key"] == "<redacted> (from ${BENCH_TEST_KEY})"


def test_two_workers_deliver_every_record(tmp_path, kserve):
    result = steady(tmp_path, kserve, rate=150, duration="6s", workers=2)
    assert result.status == "completed", result.reason
    frame, info = requests_of(result), run_json(result)
    assert info["counts"]["sent"] + info["counts"]["dropped"] == len(frame)
    assert "sent_is_lower_bound" not in info["counts"]  # both reported to the end: exact
    per_worker = frame["worker"].value_counts().to_dict()
    assert set(per_worker) == {0, 1}
    assert abs(per_worker[0] - per_worker[1]) <= 1  # one schedule, dealt out in turn


def test_open_loop_shows_a_server_stall_in_the_tail(tmp_path):
    server = start_kserve(tmp_path / "stall", stall_every_s=3.0, stall_for_s=1.0)
    try:
        result = steady(tmp_path, server, rate=40, duration="9s")
    finally:
        server.stop()
    latency = result.summary["overall"]["latency_ms"]
    # A third of each 3 s cycle is stalled: those requests wait up to 1 s from their
    # intended time, even though the generator sends nothing while the server stalls.
    assert latency["p99"] > 600, latency
    assert latency["p50"] < 300, latency


def kill_when_recording(runs: Path, processes) -> threading.Thread:
    """Kill ``processes()`` once the run has flushed its first records (~5 s of load)."""

    def watch() -> None:
        deadline = time.monotonic() + 60
        while not list(runs.glob("*/requests.parts/part-*.parquet")):
            if time.monotonic() > deadline:
                return
            time.sleep(0.2)
        for process in processes():
            process.kill()

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def test_target_killed_midway_leaves_an_interrupted_readable_run(tmp_path):
    server = start_kserve(tmp_path / "victim")
    victim = psutil.Process(server.pid)
    kill_when_recording(tmp_path / "runs", lambda: [*victim.children(recursive=True), victim])
    try:
        result = steady(tmp_path, server, rate=50, duration="40s", abort_after=2.0)
    finally:
        server.stop()
    assert result.status == "interrupted"
    assert "unreachable" in result.reason
    frame = requests_of(result)
    assert frame["ok"].sum() > 50 and (frame["error"] == "connection").any()
    info = run_json(result)
    assert info["status"] == "interrupted" and info["counts"]["rows"] == len(frame)
    assert RunDir.open(result.run_dir).read_json("summary.json")["overall"]["ok"] > 0
    assert len(frame) < 40 * 50 * 0.6  # it stopped early


def test_crashed_worker_leaves_an_interrupted_run_with_records(tmp_path, kserve):
    def a_worker() -> list[psutil.Process]:
        workers = [
            child
            for child in psutil.Process().children(recursive=True)
            if "--role" in child.cmdline() and "worker" in child.cmdline()
        ]
        return workers[:1]

    kill_when_recording(tmp_path / "runs", a_worker)
    result = steady(tmp_path, kserve, rate=100, duration="30s", workers=2)
    assert result.status == "interrupted"
    assert "worker" in result.reason
    frame = requests_of(result)
    assert set(frame["worker"].unique()) == {0, 1}
    counts = run_json(result)["counts"]
    assert counts["rows"] == len(frame) > 100
    # the killed worker's requests after its last report are counted nowhere: sent is
    # at least what was recorded, and said to be a bound, not an exact count
    assert counts["sent_is_lower_bound"] is True
    assert "died before its final report" in counts["sent_bound"]
    assert counts["sent"] + counts["dropped"] >= len(frame)


def test_sweep_runs_closed_loop_levels(tmp_path, kserve):
    result = run(
        RunOptions(
            scenario="sweep",
            target="kserve",
            overrides=("levels=[1,4]", "hold=3s", "warmup=0"),
            runs_dir=tmp_path / "runs",
            target_overrides=target_overrides(kserve),
        ),
        console=QUIET,
    )
    assert result.status == "completed", result.reason
    phases = result.summary["phases"]
    assert list(phases) == ["c=1", "c=4"]
    assert phases["c=1"]["ok"] > 10 and phases["c=4"]["ok"] > 10
    frame = requests_of(result)
    # Closed loop: each request is sent when its user decides to, so the lag is only the
    # local code between deciding and writing. A CPU-starved test host may preempt a few
    # (one of 7,553 took over 1 ms in CI); a schedule that fell behind would lag them all.
    lag = frame["send_lag_ms"]
    assert lag.median() < 0.1 and lag.quantile(0.99) < 1.0 and lag.max() < 100.0


def benchctl(*args: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "benchctl", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


def test_ctrl_c_leaves_an_interrupted_readable_run(tmp_path, kserve):
    runs = tmp_path / "runs"
    process = benchctl(
        "run",
        "steady",
        "--rate",
        "50",
        "--duration",
        "60s",
        "--runs-dir",
        str(runs),
        *(f"--target-set={o}" for o in target_overrides(kserve)),
    )
    deadline = time.monotonic() + 30
    while not list(runs.glob("*/requests.parts/part-*.parquet")):
        assert time.monotonic() < deadline, process.communicate()
        time.sleep(0.5)
    process.send_signal(signal.SIGINT)
    _out, err = process.communicate(timeout=30)
    assert process.returncode == 3, err
    (run_dir,) = runs.iterdir()
    info = json.loads((run_dir / "run.json").read_text())
    assert info["status"] == "interrupted" and "Ctrl-C" in info["reason"]
    rows = pq.read_table(run_dir / "requests.parquet").num_rows
    assert rows == info["counts"]["rows"] > 100
    assert not (run_dir / "requests.parts").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "nope"], "unknown scenario 'nope'"),
        (["run", "{bad}"], "invalid YAML"),
        (["run", "steady", "--target-set", "url=http://127.0.0.1:9"], "cannot reach"),
        (["run", "steady", "--time-scale", "0"], "--time-scale: must be > 0"),
        (["report", "/nonexistent"], "/nonexistent: no such folder"),
        (["worker", "--master", "nohost"], "expected HOST:PORT"),
        (
            ["run", "steady", "--no-preflight"],
            "argument --no-preflight: cannot read the model's metadata",
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path, args, message):
    if args[1] == "{bad}":
        bad = tmp_path / "bad.yaml"
        bad.write_text("kind: steady\nrate: [1,\n")
        args = ["run", str(bad)]
    process = (
        benchctl(*args, "--runs-dir", str(tmp_path / "runs"))
        if args[0] == "run"
        else benchctl(*args)
    )
    out, err = process.communicate(timeout=60)
    assert process.returncode == 2, (out, err)
    assert message in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "runs").exists()  # nothing half-made


def test_dry_run_sends_nothing_and_prints_the_curve(tmp_path):
    process = benchctl(
        "run",
        "spike",
        "--time-scale",
        "0.1",
        "--dry-run",
        "--runs-dir",
        str(tmp_path / "runs"),
        env={**os.environ, "COLUMNS": "120"},
    )
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert "about 10,560 requests" in out and "200.0 req/s" in out
    assert not (tmp_path / "runs").exists()


def test_ctrl_c_while_the_server_hangs_records_every_request_in_flight(tmp_path):
    # Every predict blocks for up to 99 s (readiness and metadata still answer).
    server = start_kserve(tmp_path / "hung", stall_every_s=100.0, stall_for_s=99.0)
    runs = tmp_path / "runs"
    try:
        process = benchctl(
            "run",
            "steady",
            "--rate",
            "20",
            "--duration",
            "60s",
            "--set",
            "warmup=0",
            "--runs-dir",
            str(runs),
            *(f"--target-set={o}" for o in target_overrides(server)),
        )
        deadline = time.monotonic() + 60
        # run.json gets the engine's start time (t0) once the engine started sending
        while not any(
            json.loads(p.read_text()).get("engine", {}).get("t0") for p in runs.glob("*/run.json")
        ):
            assert time.monotonic() < deadline, process.communicate()
            time.sleep(0.2)
        time.sleep(4)  # ~80 requests scheduled, all stuck in flight
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=40)
    finally:
        server.stop()
    assert process.returncode == 3, err
    (run_dir,) = runs.iterdir()
    frame = pq.read_table(run_dir / "requests.parquet").to_pandas()
    info = json.loads((run_dir / "run.json").read_text())
    assert info["status"] == "interrupted"
    assert len(frame) >= 40 and not frame["ok"].any()
    assert (frame["error"] == "cancelled").sum() >= 40  # in flight at Ctrl-C: kept, not lost
    assert info["counts"]["sent"] + info["counts"]["dropped"] == len(frame)
