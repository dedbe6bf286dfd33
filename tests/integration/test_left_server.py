"""``kill -9`` of the CLI *and* its watchdog during ``--launch``: the engine exits (death
signal) but the launched KServe, in its own session, outlives both. The next ``benchctl runs``
recovers the run, stops that server's process group (it is still the run's server: its own
group, stdout on the run's kserve.log) and says so in one line; no lock file is left."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import psutil

from ..e2e.helpers import benchctl
from .faults import Cli, port_listening, wait_gone


def test_runs_stops_the_server_a_double_kill_left(tmp_path: Path):
    cli = Cli(
        ["run", "steady", "--target", "kserve", "--launch", "--rate", "10", "--duration", "30s",
         "--set", "warmup=0"],
        tmp_path,
    )  # fmt: skip
    cli.wait_for("achieved")
    time.sleep(1.5)
    info = cli.run_json()
    launched, watchdog = info["target"]["launched"], info["owner"]["watchdog"]
    os.kill(watchdog["pid"], signal.SIGKILL)
    cli.process.kill()
    cli.wait()
    assert not wait_gone(cli.seen - {launched["pid"]} - _group(launched["pid"])), "engine left"
    assert psutil.pid_exists(launched["pid"]) and port_listening(launched["http_url"])
    listed = benchctl("runs", cwd=tmp_path)
    assert listed.returncode == 0, listed.output()
    run = cli.run_dir().name
    said = f"stopped launched server pid {launched['pid']} left by the killed run {run}"
    assert said in listed.stderr, listed.stderr
    assert [ln for ln in listed.stderr.splitlines() if "recovered run" in ln] == [
        ln for ln in listed.stderr.splitlines() if said in ln
    ]  # one line for the run
    assert not wait_gone({launched["pid"]}, timeout=2.0)
    assert not port_listening(launched["http_url"])
    assert cli.run_json()["status"] == "interrupted"
    assert not (cli.run_dir() / ".recovery.lock").exists()


def _group(pgid: int) -> set[int]:
    found = set()
    for process in psutil.process_iter():
        try:
            if os.getpgid(process.pid) == pgid:
                found.add(process.pid)
        except (ProcessLookupError, psutil.Error):
            continue
    return found
