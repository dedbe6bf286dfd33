"""Open-loop timing (issue 17): the wake-up mechanism wakes close to the intended time, and
every planned arrival is sent exactly once, never early, through the installed benchctl
against a real KServe on 127.0.0.1.

Bounds here are correctness bounds, not the performance targets (those are measured by
benchmarks/send_lag.py): this machine and CI are shared and noisy.
"""

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from time import perf_counter

import gevent
import numpy as np
import pyarrow.parquet as pq
import pytest

from benchctl.load.wake import SLEEP, TIMERFD, make_waker
from benchctl.plan.shapes import iter_arrivals, plan_from_json

from .conftest import target_overrides

BENCHCTL = Path(sys.executable).with_name("benchctl")


@pytest.mark.serial  # a timer's accuracy: measured with nothing beside it
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="timerfd is Linux-only")
def test_timerfd_wakes_within_half_a_millisecond_at_the_median():
    """200 waits 2 ms apart (0.4 s, bounded). No wake-up is early (the timer is armed at an
    absolute CLOCK_MONOTONIC time and never fires before it), and the median lateness is
    under 0.5 ms: gevent's own timer cannot do that, since epoll's timeout is rounded up to
    a whole millisecond (its median lateness is >= 0.5 ms by that rounding alone), while a
    timerfd was measured at 0.03-0.09 ms here, on an idle and on a busy 2-core machine.
    0.5 ms leaves 5x room for a noisy CI machine."""
    waker = make_waker()
    assert waker.name == TIMERFD
    lateness = []
    due = perf_counter() + 0.005
    try:
        for _ in range(200):
            due += 0.002
            waker.wait_until(due)
            lateness.append(perf_counter() - due)
    finally:
        waker.close()
    assert min(lateness) >= 0.0
    assert statistics.median(lateness) < 0.0005, sorted(lateness)[::20]


@pytest.mark.parametrize("kind", [TIMERFD, SLEEP])
def test_interrupt_wakes_a_long_wait_at_once(kind):
    """A stop during a 10 s wait (a slow plan's gap) ends it within a second, and every
    later wait returns at once."""
    waker = make_waker(kind)
    assert waker.name == kind
    gevent.spawn_later(0.05, waker.interrupt)
    started = perf_counter()
    waker.wait_until(started + 10.0)
    waker.wait_until(perf_counter() + 10.0)
    waker.close()
    assert perf_counter() - started < 1.0


@pytest.mark.parametrize("workers", [0, 2])
def test_every_planned_arrival_is_sent_once_and_never_early(tmp_path, kserve, workers):
    """A 3 s Poisson run at 200 req/s from a fresh directory with default options: the
    intended times recorded are exactly the seeded plan's (each once, across workers), none
    dropped, every send lag is >= 0 (the driver spins to the due time, never sends before
    it), and run.json and summary.json say which wake mechanism paced the run."""
    command = [str(BENCHCTL), "run", "steady", "--target", "kserve", "--rate", "200"]
    command += ["--duration", "3s", "--set", "warmup=0", "--workers", str(workers)]
    for override in target_overrides(kserve):
        command += ["--target-set", override]
    env = {k: v for k, v in os.environ.items() if k != "BENCHCTL_WAKE"}
    done = subprocess.run(
        command, cwd=tmp_path, capture_output=True, text=True, timeout=120, env=env
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "send lag (actual send - intended time): p50" in done.stdout
    (run_dir,) = (tmp_path / "runs").iterdir()
    frame = pq.read_table(run_dir / "requests.parquet").to_pandas()
    spec = json.loads((run_dir / "engine-spec.json").read_text())
    planned = np.concatenate(list(iter_arrivals(plan_from_json(spec["plan"]))))
    sent = np.sort(frame["t_intended"].to_numpy())
    assert len(sent) == len(planned) and len(np.unique(sent)) == len(sent)
    assert np.allclose(sent, planned, rtol=0, atol=1e-9)
    assert (frame["error"] != "dropped").all()
    assert (frame["send_lag_ms"] >= 0).all(), frame["send_lag_ms"].min()
    info = json.loads((run_dir / "run.json").read_text())
    summary = json.loads((run_dir / "summary.json").read_text())
    processes = ["engine"] if workers == 0 else [f"worker-{i}" for i in range(workers)]
    assert info["generator"]["wake"] == TIMERFD
    assert sorted(info["generator"]["pacing"]) == processes
    accuracy = summary["generator_accuracy"]
    assert accuracy["send_lag_ms"]["requests"] == len(frame)
    assert accuracy["send_lag_ms"]["max"] == pytest.approx(frame["send_lag_ms"].max())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="sched_setattr is Linux-only")
def test_short_slice_request_leaves_policy_and_nice_alone():
    """The opt-in EEVDF slice request (BENCHCTL_SLICE_US) changes when the thread runs, not
    its share of the CPU: the scheduling policy and nice value are what they were; 0 asks
    nothing. In a subprocess, so this test process keeps the kernel's slice."""
    code = (
        "import os; from benchctl.load.wake import request_short_slice as r\n"
        "before = (os.sched_getscheduler(0), os.getpriority(os.PRIO_PROCESS, 0))\n"
        "assert r(0) is None\n"
        "got = r(100)\n"
        "assert got in (100, None), got  # None: refused (seccomp, an old kernel or libc)\n"
        "assert (os.sched_getscheduler(0), os.getpriority(os.PRIO_PROCESS, 0)) == before\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def test_waiting_for_an_in_flight_slot_is_recorded_apart_from_the_lag(tmp_path):
    """A KServe whose predict keeps the CPU 20 ms (at most ~50 req/s), driven at 60 req/s
    with max_in_flight=1 for 3 s: arrivals find the one slot taken and wait for it (up to
    drop_after 1 s). Each wait is in slot_wait_ms and is part of send_lag_ms (never more
    than it); summary.json's scheduler lag is the send lag minus those waits, so its p99
    is below the send lag's, and a warning, if any, is about the scheduler lag only."""
    from .conftest import start_kserve

    server = start_kserve(tmp_path / "slow", cost_ms=20.0)
    try:
        command = [str(BENCHCTL), "run", "steady", "--target", "kserve", "--rate", "60"]
        command += ["--duration", "3s", "--set", "warmup=0", "--set", "max_in_flight=1"]
        for override in target_overrides(server):
            command += ["--target-set", override]
        done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    finally:
        server.stop()
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    (run_dir,) = (tmp_path / "runs").iterdir()
    frame = pq.read_table(run_dir / "requests.parquet").to_pandas()
    sent = frame[frame["error"] != "dropped"]
    waited = sent[sent["slot_wait_ms"].notna()]
    assert len(waited) > 0
    assert (waited["slot_wait_ms"] <= waited["send_lag_ms"] + 1e-6).all()
    accuracy = json.loads((run_dir / "summary.json").read_text())["generator_accuracy"]
    assert accuracy["slot_wait"]["requests"] == len(waited)
    scheduler = (sent["send_lag_ms"] - sent["slot_wait_ms"].fillna(0.0)).to_numpy()
    assert accuracy["scheduler_lag_ms"]["max"] == pytest.approx(scheduler.max())
    assert accuracy["scheduler_lag_ms"]["p99"] < accuracy["send_lag_ms"]["p99"]
    assert accuracy["warning"] is None or accuracy["warning"].startswith("scheduler lag")
    assert accuracy["slot_wait"]["p99"] > accuracy["scheduler_lag_ms"]["p99"]
    assert "waiting for an in-flight slot" in " ".join(done.stdout.split())
