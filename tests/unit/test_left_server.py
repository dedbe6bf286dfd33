"""A server left by a killed run is stopped on recovery only when it is still that server
(``recovery.stop_left_server``, ``lifetime.same_server``): real processes (``sleep``) in their
own session stand in for a launched server, one writing to the run's server log, one not (a
recycled pid)."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from benchctl.lifetime import owner_record
from benchctl.recovery import stop_left_server


def _session(out: Path) -> subprocess.Popen:
    with out.open("ab") as log:
        return subprocess.Popen(["sleep", "30"], stdout=log, start_new_session=True)


def _info(pid: int, log: str) -> dict:
    owner = owner_record()  # the run's CLI: started before the server
    return {"owner": owner, "target": {"launched": {"kind": "kserve", "pid": pid, "log": log}}}


def test_the_run_s_own_server_is_stopped(tmp_path: Path):
    server = _session(tmp_path / "kserve.log")
    try:
        line = stop_left_server(tmp_path, _info(server.pid, "runs/x/kserve.log"))
        assert (
            line
            == f"stopped launched server pid {server.pid} left by the killed run {tmp_path.name}"
        )
        assert server.wait(timeout=5) is not None
    finally:
        server.kill()
        server.wait()


def test_a_process_reusing_the_pid_is_left_alone(tmp_path: Path):
    (tmp_path / "kserve.log").write_text("the run's server log\n")
    other = _session(tmp_path / "other.log")  # same pid as recorded, not the run's server
    try:
        assert stop_left_server(tmp_path, _info(other.pid, str(tmp_path / "kserve.log"))) == ""
        time.sleep(0.2)
        assert other.poll() is None
    finally:
        other.kill()
        other.wait()


def test_a_server_started_before_the_run_is_left_alone(tmp_path: Path):
    older = _session(tmp_path / "kserve.log")
    try:
        time.sleep(1.0)
        info = _info(older.pid, "kserve.log")
        info["owner"]["started"] = time.time()  # the run's CLI started 1 s after the process
        assert stop_left_server(tmp_path, info) == ""
        assert older.poll() is None
    finally:
        older.kill()
        older.wait()


def test_a_split_arm_s_server_is_found_by_its_log_and_stopped(tmp_path: Path):
    """run.json keeps no arm pid: the arm's server is the group leader writing its stdout to
    arm-NAME/kserve.log (the control here was not launched: ``launched`` None)."""
    (tmp_path / "arm-canary").mkdir()
    arm = _session(tmp_path / "arm-canary" / "kserve.log")
    try:
        info = {"owner": owner_record(), "target": {"launched": None}}
        line = stop_left_server(tmp_path, info)
        assert (
            line == f"stopped launched server pid {arm.pid} left by the killed run {tmp_path.name}"
        )
        assert arm.wait(timeout=5) is not None
    finally:
        arm.kill()
        arm.wait()
