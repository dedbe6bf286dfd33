"""The ``master`` role (Locust's MasterRunner): waits for the workers, measures each one's
clock offset, sends each the plan and its share, writes the records they stream to it
(custom messages, about two batches a second), and stops them all when one is lost."""

import argparse
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gevent
from locust.env import Environment

from benchctl.load.clock import ClockEstimate
from benchctl.load.engine_base import (
    CLOCK_MSG,
    CLOCK_PROBES,
    CLOCK_RECHECK_S,
    CLOCK_REPLY_MSG,
    CONTEXT,
    COUNT_MSG,
    DONE_MSG,
    LOST_AFTER_S,
    PLAN_MSG,
    RECORDS_MSG,
    START_DELAY_S,
    STOP_MSG,
    DriverUser,
    emit,
    install_stop_signals,
)
from benchctl.load.engine_collect import Collecting
from benchctl.load.records import DROPPED


@dataclass
class WorkerTally:
    """What one worker said it sent (its own counter, in every records message) against the
    rows of it that reached the master."""

    sent: int = 0  # requests it started, as of its last report (in flight included)
    rows: int = 0  # rows received that were sent (dropped arrivals were never sent)
    dropped: int = 0
    last_report: float | None = None

    def report(self, data: dict[str, Any], now: float) -> None:
        """Count a records message ``data`` (its ``columns`` and ``sent_total``) received at
        ``now`` (epoch s)."""
        errors = data["columns"]["error"]
        dropped = sum(1 for e in errors if e == DROPPED)
        self.rows += len(errors) - dropped
        self.dropped += dropped
        self.count(int(data.get("sent_total", 0)))
        self.last_report = now

    def count(self, sent_total: int, now: float | None = None) -> None:
        """The worker's own counter of requests started; ``now`` (epoch s) marks it heard."""
        self.sent = max(self.sent, sent_total)
        if now is not None:
            self.last_report = now

    def to_json(self, *, finished: bool) -> dict[str, Any]:
        """Counts for the ``done`` line's ``per_worker``: sent, rows, dropped, sent but never
        recorded, and whether it finished."""
        return {
            "sent": self.sent,
            "rows": self.rows,
            "dropped": self.dropped,
            "sent_not_recorded": max(0, self.sent - self.rows),
            "finished": finished,
        }


class MasterRole:
    """The collecting loop's hooks for a master of ``workers`` workers, and the handlers of
    the messages they send."""

    name = "master"

    def __init__(self, collecting: Collecting, runner: Any, workers: int) -> None:
        self.collecting = collecting
        self.runner = runner
        self.workers = workers
        self.index_of: dict[str, int] = {}  # Locust client id -> worker index
        self.ids: list[Any] = []
        self.done: set[int] = set()
        self.tally: dict[int, WorkerTally] = {}
        self.clocks: dict[int, ClockEstimate] = {}
        self.next_probe = 0.0
        for name, handler in (
            (RECORDS_MSG, self.on_records),
            (DONE_MSG, self.on_done),
            (CLOCK_REPLY_MSG, self.on_clock),
            (COUNT_MSG, self.on_count),
        ):
            runner.register_message(name, handler)

    # ---------------------------------------------------------------- worker messages

    def on_records(self, environment: Any = None, msg: Any = None, **_: Any) -> None:
        """A worker's records, CPU (percent), requests in flight and sent counter."""
        data = msg.data
        self.collecting.collector.accept(data["columns"])
        worker = data["worker"]
        self.collecting.worker_cpu[f"worker-{worker}"] = data["cpu"]
        self.collecting.in_flight[worker] = data["in_flight"]
        self.tally.setdefault(worker, WorkerTally()).report(data, time.time())

    def on_done(self, environment: Any = None, msg: Any = None, **_: Any) -> None:
        """A worker finished: its CPU seconds and pacing."""
        worker = f"worker-{msg.data['worker']}"
        self.done.add(msg.data["worker"])
        self.collecting.spent[worker] = msg.data.get("cpu_seconds", 0.0)
        self.collecting.pacing[worker] = msg.data.get("pacing") or {}

    def on_clock(self, environment: Any = None, msg: Any = None, **_: Any) -> None:
        """A worker's answer to a clock probe: one more offset sample."""
        data = msg.data
        index = self.index_of.get(str(data.get("node")))
        if index is not None:
            self.clocks.setdefault(index, ClockEstimate()).add(
                data["t_master"], data["t_worker"], time.time(), joined=data["joined"]
            )

    def on_count(self, environment: Any = None, msg: Any = None, **_: Any) -> None:
        """A worker's sent counter alone (sent often, so a killed worker's count is close)."""
        worker = self.tally.setdefault(msg.data["worker"], WorkerTally())
        worker.count(msg.data["sent_total"], time.time())

    # ---------------------------------------------------------------- start

    def wait_for_workers(self, timeout: float) -> bool:
        """Wait up to ``timeout`` s for every worker; False (a ``done`` line sent, runner
        quit) if they did not all come or the run was stopped meanwhile."""
        deadline = time.time() + timeout
        runner, workers = self.runner, self.workers
        said: tuple[int, float] = (-1, 0.0)  # (connected, when) of the last waiting line
        while len(runner.clients.ready) < workers:
            connected, now = len(runner.clients.ready), time.time()
            if connected != said[0] or now - said[1] >= WAITING_EVERY_S:
                left = max(deadline - now, 0.0)
                emit("waiting", connected=connected, expected=workers, left=left)
                said = (connected, now)
            if now > deadline or CONTEXT.stopping.is_set():
                reason = self.collecting.reason
                why = (
                    reason
                    if CONTEXT.stopping.is_set()
                    else workers_missing(connected, workers, timeout)
                )
                status = "failed" if not reason else "interrupted"
                emit("done", status=status, t0=None, reason=why)
                runner.quit()
                return False
            CONTEXT.stopping.wait(0.5)
        self.ids = [getattr(c, "id", c) for c in sorted(runner.clients.ready, key=str)]
        self.index_of.update({str(node): index for index, node in enumerate(self.ids)})
        return True

    def probe(self, joined: bool) -> None:
        """Send every worker a clock probe (``joined``: during the run, not at join)."""
        for node in self.ids:
            self.runner.send_message(
                CLOCK_MSG, {"t_master": time.time(), "joined": joined}, client_id=node
            )

    def check_clocks(self) -> bool:
        """Measure offsets at join, before anything is planned; False (a ``done`` line sent,
        runner quit) if a worker's clock cannot be trusted (load/clock.py)."""
        for _ in range(CLOCK_PROBES):
            self.probe(False)
            gevent.sleep(0.05)
        gevent.sleep(0.2)
        refusals = [
            self.clocks.get(i, ClockEstimate()).refusal(f"worker-{i}") for i in range(self.workers)
        ]
        if any(refusals):
            emit("done", status="failed", t0=None, reason=next(r for r in refusals if r))
            self.runner.quit()
            return False
        return True

    def start(self, spec: dict[str, Any]) -> None:
        """Set t0 START_DELAY_S s ahead, send each worker the plan, its share and its clock
        offset, and start their users."""
        CONTEXT.t0 = time.time() + START_DELAY_S
        for index, node in enumerate(self.ids):
            offset = self.clocks[index].offset if index in self.clocks else 0.0
            share = {"worker": index, "workers": self.workers, "t0": CONTEXT.t0}
            self.runner.send_message(
                PLAN_MSG, {**spec, **share, "clock_offset": offset}, client_id=node
            )
        self.runner.start(self.workers, spawn_rate=max(self.workers, 1) * 10)
        self.next_probe = time.time() + CLOCK_RECHECK_S

    # ---------------------------------------------------------------- collecting loop hooks

    def interrupt(self) -> None:
        """Tell every worker to stop."""
        self.runner.send_message(STOP_MSG, {})

    def between(self) -> None:
        """Re-probe the workers' clocks every CLOCK_RECHECK_S s."""
        if time.time() >= self.next_probe:
            self.probe(True)
            self.next_probe = time.time() + CLOCK_RECHECK_S

    def gather(self) -> None:
        """Records arrive by message; nothing to gather."""

    def watch(self) -> None:
        """A worker missing, disconnected or silent for LOST_AFTER_S s stops the run."""
        runner, done, now = self.runner, self.done, time.time()
        missing = [str(c.id) for c in runner.clients.values() if c.state == "missing"]
        lost = self.workers - len(runner.clients) - len(done)
        silent = [
            f"worker-{i} (silent for {now - t.last_report:.1f} s)"
            for i, t in sorted(self.tally.items())
            if i not in done and t.last_report and now - t.last_report > LOST_AFTER_S
        ]
        unfinished = len(done) < self.workers
        if (missing or lost > 0 or silent) and not self.collecting.reason and unfinished:
            names = missing or silent or [f"{lost} disconnected"]
            self.collecting.fail(f"worker lost: {', '.join(names)}")

    def finished(self, *, stopping: bool) -> bool:
        """Every worker done (when ``stopping``: every worker still connected)."""
        if not stopping:
            return len(self.done) >= self.workers
        alive = [c for c in self.runner.clients.values() if c.state != "missing"]
        return len(self.done) >= len(alive)

    def wind_down(self) -> None:
        """The workers' last records came by message; nothing left."""

    def per_worker(self) -> dict[str, Any]:
        """Each worker's tally: what it said it sent against the rows that arrived."""
        return {
            f"worker-{i}": self.tally.get(i, WorkerTally()).to_json(finished=i in self.done)
            for i in range(self.workers)
        }

    def clock(self) -> dict[str, Any]:
        """Each worker's clock offset estimate (load/clock.py)."""
        return {f"worker-{i}": c.to_json(f"worker-{i}") for i, c in sorted(self.clocks.items())}


WAITING_EVERY_S = 10.0  # a "waiting for workers" line at most this often, unless one joins


def workers_missing(connected: int, expected: int, timeout: float) -> str:
    """The failure reason when the workers did not all join, e.g. "no worker connected
    within 60 s (0 of 1); start `benchctl worker --master HOST:PORT` on each load host (the
    line 'master listening on ...' says where), or wait longer with --worker-wait"."""
    got = "no worker" if not connected else f"only {connected} of {expected} workers"
    return (
        f"{got} connected within {timeout:g} s ({connected} of {expected}); start `benchctl "
        "worker --master HOST:PORT` on each load host (the line 'master listening on ...' "
        "says where), or wait longer with --worker-wait"
    )


def run_master(spec: dict[str, Any], run_dir: Path, args: argparse.Namespace) -> int:
    """Run the engine ``spec`` on ``args.expect_workers`` workers connecting to
    ``args.bind_host:args.port`` within ``args.worker_timeout`` s, writing records under
    ``run_dir``; JSON lines to stdout. Returns 0 completed, 1 failed to start (workers
    missing, a clock not trusted), 3 interrupted (signal, lost worker, write error)."""
    collecting = Collecting(spec, run_dir)
    env = Environment(user_classes=[DriverUser])
    install_stop_signals(collecting.stop)
    runner = env.create_master_runner(args.bind_host, args.port)
    role = MasterRole(collecting, runner, args.expect_workers)
    if not role.wait_for_workers(args.worker_timeout) or not role.check_clocks():
        return 1
    role.start(spec)
    return collecting.run(role)
