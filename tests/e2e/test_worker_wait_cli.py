"""Remote workers that never come (trial 7), through the installed ``benchctl`` from a fresh
folder: ``run --remote-workers 1`` fails after ``--worker-wait`` (default 60 s) with the line
saying what to start, exit 1 as other failed runs, run.json ``failed`` and the launched
KServe stopped; ``worker --master`` with nothing listening fails after ``--wait``."""

from __future__ import annotations

import json
import re
import socket
from pathlib import Path

import psutil

from tests.e2e.helpers import benchctl

HINT = (
    "start `benchctl worker --master HOST:PORT` on each load host (the line 'master "
    "listening on ...' says where), or wait longer with --worker-wait"
)


def test_run_fails_when_no_worker_joins(tmp_path: Path) -> None:
    done = benchctl(
        "run", "steady", "--target", "kserve", "--launch", "--rate", "5", "--duration", "5s",
        "--workers", "0", "--remote-workers", "1", "--worker-wait", "2s", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 1, done.output()
    lines = done.stdout.splitlines()
    assert "waiting for workers: 0/1 (2 s left)" in lines, done.output()
    reason = f"no worker connected within 2 s (0 of 1); {HINT}"
    assert f"run failed: {reason} (0 requests kept)" in lines, done.output()
    info = json.loads((done.run_dir / "run.json").read_text())
    assert (info["status"], info["reason"]) == ("failed", reason)
    pid = int(re.search(r"kserve ready at \S+ \(gRPC \S+\), pid (\d+)", done.stdout).group(1))
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


def test_worker_fails_when_no_master_listens(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # free once closed: nothing listens there
    done = benchctl("worker", "--master", f"127.0.0.1:{port}", "--wait", "1s", cwd=tmp_path)
    assert done.returncode == 1, done.output()
    assert f"waiting for the master at 127.0.0.1:{port} (Connection refused; up to 1 s)" in (
        done.stdout.splitlines()
    )
    assert done.stderr.strip() == (
        f"benchctl: error: no master at 127.0.0.1:{port} within 1 s (Connection refused): start "
        "`benchctl run ... --remote-workers N` first and give the address its line 'master "
        "listening on ...' prints, or wait longer with --wait"
    )
