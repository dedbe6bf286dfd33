"""Known answers for the pieces behind issue 10: the clock offset estimate, stop signals,
recovery of a run whose owner died, writing run.json on a disk with no room for a copy."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from benchctl.lifetime import owner_alive, owner_record
from benchctl.load.clock import REFUSE_S, TOLERANCE_S, ClockEstimate
from benchctl.load.records import PartWriter, RecordBuffer, to_table
from benchctl.recovery import KILLED, orphaned, recover, write_json_fallback
from benchctl.reports.terminal.console import recovery_line
from benchctl.rundir.directory import recovery_notices
from benchctl.stop_signals import Stopped, StopSignals
from benchctl.store import RUN_JSON, list_runs

# --------------------------------------------------------------------------- clock


def test_offset_is_the_midpoint_estimate_of_the_best_probe():
    """Probe 1: sent 100.000, answered 103.0010 (worker clock), back 100.002 → round trip
    2 ms, offset 103.0010 - 100.001 = 3.000 s ± 1 ms. Probe 2 (round trip 10 ms) is worse and
    ignored, whatever its offset."""
    clock = ClockEstimate()
    clock.add(100.000, 103.0010, 100.002, joined=False)
    clock.add(101.000, 104.0200, 101.010, joined=False)
    assert clock.offset == pytest.approx(3.000, abs=1e-9)
    assert clock.uncertainty == pytest.approx(0.001, abs=1e-9)
    assert any("3.000 s ahead" in w for w in clock.warnings("worker-1"))
    assert clock.refusal("worker-1") == ""


def test_a_clock_step_during_the_run_is_a_warning():
    """Joined at offset 0 ± 0.5 ms; re-checked at offset 0.050 s ± 0.5 ms: it moved by
    50 ms - (0.5 + 0.5) ms slack = 49 ms > 10 ms tolerance."""
    clock = ClockEstimate()
    clock.add(10.000, 10.0005, 10.001, joined=False)
    clock.add(20.000, 20.0505, 20.001, joined=True)
    assert clock.drift_max == pytest.approx(0.049, abs=1e-9)
    assert clock.drift_max > TOLERANCE_S
    assert any("moved 49 ms" in w for w in clock.warnings("worker-0"))


def test_an_offset_that_cannot_be_measured_tightly_is_refused():
    """Best round trip 600 ms: uncertainty 300 ms > REFUSE_S (250 ms)."""
    clock = ClockEstimate()
    clock.add(0.0, 5.3, 0.6, joined=False)
    assert clock.uncertainty == pytest.approx(0.3) and clock.uncertainty > REFUSE_S
    assert "cannot be measured to within 250 ms" in clock.refusal("worker-2")


def test_synchronised_clocks_give_no_warning():
    clock = ClockEstimate()
    clock.add(1.0, 1.0002, 1.0004, joined=False)
    clock.add(2.0, 2.0002, 2.0004, joined=True)
    assert clock.warnings("worker-0") == []


# --------------------------------------------------------------------------- stop signals


def test_first_signal_raises_stopped_then_signals_only_count():
    with StopSignals() as signals:
        with pytest.raises(Stopped) as raised:
            os.kill(os.getpid(), signal.SIGTERM)
            signal.sigtimedwait([], 0)  # let the handler run
        assert raised.value.signum == signal.SIGTERM
        os.kill(os.getpid(), signal.SIGHUP)  # a second one never raises
        assert signals.received == [signal.SIGTERM, signal.SIGHUP]
        assert signals.reason == "stopped by SIGTERM"
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL


def test_deferred_signals_call_back_and_arm_raises_for_a_pending_one():
    calls = []
    with StopSignals(raising=False) as signals:
        signals.defer(lambda signum, count: calls.append((signum, count)))
        os.kill(os.getpid(), signal.SIGINT)
        assert calls == [(signal.SIGINT, 1)]
        with pytest.raises(Stopped):
            signals.arm()
        assert signals.reason == "interrupted by user (Ctrl-C)"


# --------------------------------------------------------------------------- recovery


def _dead_owner() -> dict:
    """The owner record of a process that has exited (PID and start time)."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(5)"])
    record = owner_record(child.pid)
    child.kill()
    child.wait()
    return record


def _orphaned_run(base: Path, rows_per_part: tuple[int, ...]) -> Path:
    run = base / "runs" / "20260101T000000Z-steady-kserve"
    run.mkdir(parents=True)
    phases = [{"name": "steady", "start": 0.0, "end": 10.0}]
    info = {
        "schema_version": 1,
        "id": run.name,
        "status": "running",
        "reason": "",
        "owner": {**_dead_owner(), "watchdog": None},
        "plan": {"duration": 10.0, "phases": phases},
        "engine": {"workers": 0, "t0": 1_700_000_000.0},
    }
    (run / RUN_JSON).write_text(json.dumps(info))
    writer = PartWriter(run / "requests.parts")
    t = 0.0
    for n in rows_per_part:
        buffer = RecordBuffer()
        for _ in range(n):
            buffer.add(t, t, t + 0.002, 200, "", 10, 20)
            t += 0.05
        columns = buffer.drain()
        writer.write(to_table(columns, ["steady"], np.zeros(n, dtype=np.int8)))
    return run


def test_owner_identity_is_pid_and_start_time():
    me = owner_record()
    assert owner_alive(me) is True
    assert owner_alive({**me, "started": me["started"] - 100}) is False  # a reused PID
    assert owner_alive(_dead_owner()) is False
    assert owner_alive({**me, "host": "another-host"}) is None  # cannot tell


def test_recover_merges_parts_and_marks_the_run(tmp_path: Path):
    """Parts of 30 + 12 rows → 42 rows in requests.parquet, summary.json, ``interrupted``."""
    run = _orphaned_run(tmp_path, (30, 12))
    assert orphaned(json.loads((run / RUN_JSON).read_text()))
    done = recover(run)
    assert done is not None and done.rows == 42
    assert pq.read_metadata(run / "requests.parquet").num_rows == 42
    assert not (run / "requests.parts").exists()
    info = json.loads((run / RUN_JSON).read_text())
    assert info["status"] == "interrupted" and info["reason"].startswith(KILLED)
    assert info["counts"]["rows"] == 42
    summary = json.loads((run / "summary.json").read_text())
    assert summary["overall"]["requests"] == 42
    assert recover(run) is None  # once


def test_listing_runs_recovers_and_says_so(tmp_path: Path, capsys):
    """rundir hands the notice to the listener the caller installed and writes nothing
    itself; the CLI's listener (reports/terminal) prints it as one stderr line."""
    run = _orphaned_run(tmp_path, (7,))
    told: list[str] = []
    with recovery_notices(told.append):
        [(_, info)] = list_runs(tmp_path / "runs")
    assert info["status"] == "interrupted"
    assert len(told) == 1 and told[0].startswith(f"recovered run {run.name}")
    assert "7 requests recovered from requests.parts" in told[0]  # the 7 rows of its one part
    assert capsys.readouterr() == ("", "")
    recovery_line(told[0])
    assert capsys.readouterr().err == f"benchctl: {told[0]}\n"


def test_a_live_owner_is_left_alone(tmp_path: Path):
    run = _orphaned_run(tmp_path, (5,))
    info = json.loads((run / RUN_JSON).read_text())
    info["owner"] = owner_record()
    (run / RUN_JSON).write_text(json.dumps(info))
    assert recover(run) is None
    assert json.loads((run / RUN_JSON).read_text())["status"] == "running"


def test_json_written_in_place_when_no_copy_fits(tmp_path: Path):
    """A full disk (a 16 KiB tmpfs as root; else a folder where no new file may be made):
    the temporary copy cannot be written, so run.json is overwritten in place."""
    folder = tmp_path / "disk"
    folder.mkdir()
    mounted = os.geteuid() == 0 and os.system(f"mount -t tmpfs -o size=16k tmpfs {folder}") == 0
    target = folder / "run.json"
    target.write_text('{"status": "running", "padding": "' + "x" * 6000 + '"}')
    try:
        if mounted:
            fd = os.open(folder / "filler", os.O_WRONLY | os.O_CREAT)
            with pytest.raises(OSError):
                while True:
                    os.write(fd, b"\0" * 4096)
            os.close(fd)
        else:
            os.chmod(folder, 0o555)
        write_json_fallback(target, '{"status": "failed", "padding": "' + "y" * 5000 + '"}')
        assert json.loads(target.read_text())["status"] == "failed"
    finally:
        if mounted:
            os.system(f"umount {folder}")
        else:
            os.chmod(folder, 0o755)


def test_json_written_atomically_when_there_is_room(tmp_path: Path):
    target = tmp_path / "run.json"
    target.write_text("{}")
    write_json_fallback(target, '{"a": 1}')
    assert json.loads(target.read_text()) == {"a": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.json"]


def test_a_run_without_owner_is_recovered_once_it_went_stale(tmp_path: Path):
    """A run from before owners were recorded: left alone while its files are fresh, recovered
    once nothing in it changed for STALE_S (a live run writes a part every 5 s)."""
    from benchctl.recovery import STALE_S

    run = _orphaned_run(tmp_path, (4,))
    info = json.loads((run / RUN_JSON).read_text())
    del info["owner"]
    (run / RUN_JSON).write_text(json.dumps(info))
    assert recover(run) is None
    old = os.stat(run).st_mtime - STALE_S - 60
    for path in [run, *run.rglob("*")]:
        os.utime(path, (old, old))
    done = recover(run)
    assert done is not None and done.rows == 4


def test_parts_left_after_a_completed_merge_are_not_merged_twice(tmp_path: Path):
    """Killed after requests.parquet replaced the merge's temporary file but before the parts
    were removed: 5 + 3 rows merged once; a second merge removes the parts and still says 8."""
    from benchctl.load.records import merge_parts

    run = _orphaned_run(tmp_path, (5, 3))
    parts = sorted((run / "requests.parts").glob("part-*.parquet"))
    copies = [p.read_bytes() for p in parts]
    assert merge_parts(run / "requests.parts", run / "requests.parquet") == 8
    (run / "requests.parts").mkdir()
    for path, data in zip(parts, copies, strict=True):
        path.write_bytes(data)
    assert merge_parts(run / "requests.parts", run / "requests.parquet") == 8
    assert pq.read_metadata(run / "requests.parquet").num_rows == 8
    assert not (run / "requests.parts").exists()
