"""`benchctl run ... | head`: the reader of stdout leaves early. Against the session's real
KServe on 127.0.0.1, the installed ``benchctl`` from a fresh directory, its stdout a pipe
this test closes after the first line (what ``head -1`` does).

Fresh-user trial: the closed pipe was reported as a disk problem ("cannot write ...:
Broken pipe; check that disk"), and a capacity search stopped that way left run.json
``running``. Expected (README, exit codes): the run or search stops as for Ctrl-C, its
directory is final (``interrupted``, reason ``stopped: stdout closed``), one stderr line
says so, exit 141, no traceback, no process left behind.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pandas as pd
import psutil
import pytest

from benchctl.targets.launch import LaunchedServer

from ..e2e.helpers import BENCHCTL
from .faults import kserve_args

CLOSED = "stopped: stdout closed (its reader left, e.g. `| head`)"


def _start_piped(args: list[str], cwd: Path) -> subprocess.Popen[bytes]:
    """``benchctl ARGS`` in ``cwd`` with stdout and stderr pipes (stdout is the reader)."""
    process = subprocess.Popen(
        [str(BENCHCTL), *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        env={**os.environ, "COLUMNS": "120"},
    )
    assert process.stdout is not None and process.stderr is not None
    return process


def _read_first_line_and_leave(args: list[str], cwd: Path) -> tuple[int, str, str]:
    """Start ``benchctl ARGS`` with stdout a pipe, read its first line, close the pipe
    (as ``head -1`` exits), wait for it; (exit code, first line, stderr)."""
    process = _start_piped(args, cwd)
    first = process.stdout.readline().decode()
    process.stdout.close()
    try:
        code = process.wait(timeout=90)
    finally:
        if process.poll() is None:
            process.kill()
    return code, first, process.stderr.read().decode()


def _left_in(cwd: Path, timeout: float = 15.0) -> list[str]:
    """Processes still running in ``cwd`` (engine, workers, watchdog) after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        left = []
        for process in psutil.process_iter(["pid", "cwd", "cmdline", "status"]):
            info = process.info
            if info["cwd"] == str(cwd) and info["status"] != psutil.STATUS_ZOMBIE:
                left.append(f"{info['pid']} {' '.join(info['cmdline'] or [])[:120]}")
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.2)


def _run_dir(cwd: Path) -> Path:
    runs = sorted((cwd / "runs").iterdir())
    assert len(runs) == 1, runs
    return runs[0]


def test_a_run_whose_reader_left_stops_and_says_why(kserve: LaunchedServer, tmp_path: Path):
    load = ["--rate", "20", "--duration", "60s", "--set", "warmup=0", "--no-telemetry"]
    code, first, stderr = _read_first_line_and_leave(
        ["run", "steady", *kserve_args(kserve), *load], tmp_path
    )
    assert first.startswith("run directory: runs/"), (first, stderr)
    assert code == 141, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"benchctl: run {CLOSED}; runs/"), stderr
    assert "Traceback" not in stderr and "disk" not in stderr
    run = _run_dir(tmp_path)
    info = json.loads((run / "run.json").read_text())
    assert info["status"] == "interrupted" and info["reason"] == CLOSED, info["reason"]
    assert (run / "summary.json").is_file() and not (run / "requests.parts").exists()
    rows = pd.read_parquet(run / "requests.parquet")  # the stop comes at the next line printed
    assert info["counts"]["rows"] == len(rows)  # (the first progress line): maybe no request
    assert not _left_in(tmp_path), "processes left running"


def test_a_capacity_search_whose_reader_left_is_final(kserve: LaunchedServer, tmp_path: Path):
    """The search prints its folder, then one line per level decided: the first level line
    finds the pipe closed and the search stops there, search.json and run.json final."""
    args = ["run", "capacity", *kserve_args(kserve), "--slo", "p50<=500ms", "--rate", "20"]
    code, first, stderr = _read_first_line_and_leave(
        [*args, "--set", "max_duration=60s", "--no-telemetry"], tmp_path
    )
    assert first.startswith("capacity search: runs/"), (first, stderr)
    assert code == 141, stderr
    assert "Traceback" not in stderr and "internal error" not in stderr, stderr
    assert stderr.strip().splitlines()[-1].startswith(f"benchctl: run {CLOSED}; runs/"), stderr
    run = _run_dir(tmp_path)
    info = json.loads((run / "run.json").read_text())
    assert info["status"] == "interrupted" and info["reason"] == CLOSED, info
    search = json.loads((run / "search.json").read_text())
    assert search["status"] == "interrupted" and search["stop_reason"] == CLOSED
    assert len(search["levels"]) >= 1
    assert not _left_in(tmp_path), "processes left running"


def _read_until_and_leave(args: list[str], cwd: Path, last: str) -> tuple[int, list[str], str]:
    """Start ``benchctl ARGS`` with stdout a pipe, read lines up to the first that starts
    with ``last`` (as ``head -N`` does when line N is that one), close the pipe, wait;
    (exit code, lines read, stderr)."""
    process = _start_piped(args, cwd)
    lines: list[str] = []
    while line := process.stdout.readline().decode():
        lines.append(line)
        if line.startswith(last):
            break
    process.stdout.close()
    try:
        code = process.wait(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    return code, lines, process.stderr.read().decode()


@pytest.mark.parametrize(
    "last",
    [
        "kserve ready at",  # `| head -3`: the reader leaves while the run is set up
        "[",  # the first progress line: the reader leaves mid-load (`| head -6`)
    ],
)
def test_a_launched_run_whose_reader_left_stops_and_says_why(tmp_path: Path, last: str):
    """The trial's command: `benchctl run steady --target kserve --launch --rate 20
    --duration 30s --set warmup=2s | head -3` (or `| head -6`) exited 1 with "cannot write
    runs/...: ; check that disk" and the run marked failed. Expected: exit 141, the run
    interrupted by the closed stdout, one stderr line, the launched server and the load
    processes gone."""
    args = ["run", "steady", "--target", "kserve", "--launch", "--rate", "20"]
    code, lines, stderr = _read_until_and_leave(
        [*args, "--duration", "30s", "--set", "warmup=2s"], tmp_path, last
    )
    assert lines and lines[-1].startswith(last), (lines, stderr)
    assert code == 141, stderr
    errors = stderr.strip().splitlines()
    assert len(errors) == 1 and errors[0].startswith(f"benchctl: run {CLOSED}"), stderr
    assert "disk" not in stderr and "Traceback" not in stderr
    run = _run_dir(tmp_path)
    info = json.loads((run / "run.json").read_text())
    assert info["status"] == "interrupted" and info["reason"].startswith(CLOSED), info["reason"]
    assert (run / "summary.json").is_file() and not (run / "requests.parts").exists()
    assert not _left_in(tmp_path), "processes left running"
    launched = info["target"]["launched"]
    assert launched and not psutil.pid_exists(launched["pid"]), launched
