"""The engine process: ``python -m benchctl.load.engine --role local|master|worker``.

The only module that imports Locust, and it does so first (gevent monkey-patches the
process). Roles:

* ``local``: one process drives the plan and writes records.
* ``master``: a Locust master; waits for workers, sends each the plan and its share, and
  writes the records the workers stream to it (custom messages, one batch a second).
* ``worker``: a Locust worker (``benchctl worker --master HOST:PORT``); gets everything it
  needs from the master, so it needs no files.

Progress goes to stdout as JSON lines for the CLI; logs go to stderr.
"""

# isort: skip_file
import locust  # noqa: F401  (first: gevent monkey-patches the whole process)

from locust import User, constant, task
from locust.env import Environment

import argparse
import contextlib
import json
import os
import logging
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gevent
import psutil
from gevent.event import Event

from benchctl.load.choice import RequestChooser
from benchctl.load.clients import Transport, make_transport
from benchctl.targets.secrets import restore_request_headers
from benchctl.splits import restore_arm_headers
from benchctl.load.clock import COUNT_EVERY_S, ClockEstimate
from benchctl.load.collector import Collector
from benchctl.load.driver import Driver
from benchctl.load.records import DROPPED, RecordBuffer
from benchctl.load.shapes import Plan, plan_from_json
from benchctl.targets.wire import WireRequest

log = logging.getLogger("benchctl.engine")
PLAN_MSG, RECORDS_MSG, DONE_MSG, STOP_MSG = (
    "benchctl_plan",
    "benchctl_records",
    "benchctl_done",
    "benchctl_stop",
)
CLOCK_MSG, CLOCK_REPLY_MSG = "benchctl_clock", "benchctl_clock_reply"
COUNT_MSG = "benchctl_count"
CLOCK_PROBES = 8  # at join; the smallest round trip bounds the offset (load/clock.py)
CLOCK_RECHECK_S = 2.0
REPORT_EVERY_S = 0.5  # a worker's records (and its sent counter) reach the master this often
# A worker that sent nothing for this long is lost (Locust's own heartbeat takes ~3 s): the
# others are stopped at once. Four missed reports, so a briefly busy worker is not dropped.
LOST_AFTER_S = 2.0
START_DELAY_S = 1.0
STOP_GRACE_S = 6.0  # longer than the driver's own stop grace (2 s) plus reporting


@dataclass
class Context:
    """This process's share of the run, set once the plan is known."""

    ready: Event = field(default_factory=Event)
    driver: Driver | None = None
    buffer: RecordBuffer | None = None
    t0: float = 0.0
    worker: int = 0
    stopping: Event = field(default_factory=Event)
    cpu: list[tuple[float, float]] = field(default_factory=list)
    orphaned: bool = False
    driving: bool = False


CONTEXT = Context()


class DriverUser(User):
    """One per load process: runs this process's Driver for the whole plan, then idles."""

    wait_time = constant(1)

    @task
    def drive(self) -> None:
        CONTEXT.ready.wait()
        # Only once per process: Locust may start another user here when it rebalances
        # after losing a worker, and the schedule must not be played twice.
        if CONTEXT.driver is not None and not CONTEXT.driving:
            CONTEXT.driving = True
            CONTEXT.driver.run(CONTEXT.t0)
        Event().wait()  # idle until Locust stops this user


def emit(kind: str, **fields: Any) -> None:
    """One JSON line to the CLI. If the CLI is gone (broken pipe: it was killed), stop the
    run: the rows still in memory are written before this process exits."""
    if CONTEXT.orphaned:
        return
    try:
        sys.stdout.write(json.dumps({"type": kind, **fields}) + "\n")
        sys.stdout.flush()
    except (BrokenPipeError, OSError):
        CONTEXT.orphaned = True
        CONTEXT.stopping.set()
        with contextlib.suppress(OSError):  # no second BrokenPipeError when Python exits
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())


def build_driver(spec: dict[str, Any], plan: Plan, worker: int, workers: int) -> Driver:
    if spec.get("arms"):  # a split run: one client per arm, each request to one arm
        return build_split_driver(spec, plan, worker, workers)
    request = WireRequest.from_json(spec["request"])
    limits = spec["limits"]
    transport = make_transport(
        request,
        concurrency=limits["max_in_flight"],
        timeout=limits["timeout"],
        connect_timeout=limits["connect_timeout"],
    )
    return _worker_driver(
        plan,
        transport,
        limits,
        (worker, workers),
        drain_timeout=limits["timeout"] + 1.0,
        bytes_sent=len(request.body),
        chooser=RequestChooser(spec["choices"], worker, workers) if spec.get("choices") else None,
    )


def build_split_driver(spec: dict[str, Any], plan: Plan, worker: int, workers: int) -> Driver:
    """The driver of a split run (``--split``): arms' transports and chooser (load/arms.py)."""
    from benchctl.load.arms import split_parts

    limits = spec["limits"]
    transport, chooser = split_parts(spec, worker, workers)
    return _worker_driver(
        plan,
        transport,
        limits,
        (worker, workers),
        drain_timeout=max(a["timeout"] for a in spec["arms"]["arms"]) + 1.0,
        chooser=chooser,  # type: ignore[arg-type]
    )


def _worker_driver(
    plan: Plan,
    transport: Transport,
    limits: dict[str, Any],
    share: tuple[int, int],
    *,
    drain_timeout: float,
    chooser: RequestChooser | None,
    bytes_sent: int = 0,
) -> Driver:
    """This load process's Driver over ``transport``: a fresh RecordBuffer (kept in CONTEXT for
    the stop handler), ``share`` = (worker, workers), the spec's in-flight and drop limits,
    ``drain_timeout`` seconds to wait for requests in flight at the end."""
    CONTEXT.buffer = RecordBuffer(share[0])
    return Driver(
        plan,
        transport,
        CONTEXT.buffer,
        share=share,
        max_in_flight=limits["max_in_flight"],
        drop_after=limits["drop_after"],
        drain_timeout=drain_timeout,
        bytes_sent=bytes_sent,
        chooser=chooser,
    )


def close_split(driver: Driver) -> None:
    """A split or shadow run's transport finishes its own files (shadow pairs)."""
    if getattr(driver.chooser, "split", False):
        from benchctl.load.arms import close_split as close

        close(driver.transport)


def sample_cpu(process: psutil.Process) -> float:
    value = process.cpu_percent(None)
    CONTEXT.cpu.append((time.time() - CONTEXT.t0, value))
    return value


def cpu_seconds(process: psutil.Process) -> float:
    """CPU time this process has used so far (user + system), start-up included."""
    times = process.cpu_times()
    return times.user + times.system


def install_stop_signals(on_stop: Any) -> None:
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        gevent.signal_handler(signum, on_stop)


# --------------------------------------------------------------------------- local + master


def run_collecting(spec: dict[str, Any], run_dir: Path, role: str, args: argparse.Namespace) -> int:
    plan = plan_from_json(spec["plan"])
    # A capacity search reads the parts as they land: it asks for a shorter flush period.
    collector = Collector(
        plan, run_dir / "requests.parts", flush_seconds=float(spec.get("flush_seconds", 5.0))
    )
    env = Environment(user_classes=[DriverUser])
    threadpool = gevent.get_hub().threadpool
    me = psutil.Process()
    me.cpu_percent(None)
    worker_cpu: dict[str, float] = {}
    in_flight: dict[int, int] = {}
    done: set[int] = set()
    spent: dict[str, float] = {}
    tally: dict[int, WorkerTally] = {}
    clocks: dict[int, ClockEstimate] = {}
    pacing: dict[str, dict] = {}  # each load process's wake-up mechanism and CPU (driver.py)
    reason = ""
    write_error = ""

    def stop(*_: Any, **__: Any) -> None:
        nonlocal reason
        reason = reason or "stopped by signal"
        CONTEXT.stopping.set()

    def write(batch: dict[str, list], *, in_thread: bool = True) -> None:
        """Write one part; on a write error (disk full) keep the rows and stop the run."""
        nonlocal write_error, reason
        try:
            if in_thread:
                threadpool.apply(collector.write, (batch,))
            else:
                collector.write(batch)
        except OSError as exc:
            collector.give_back(batch)
            if not write_error:
                write_error = f"{exc.strerror or exc}"
                reason = reason or f"cannot write {exc.filename or collector.writer.folder}"
                emit("write_error", path=str(exc.filename or collector.writer.folder),
                     error=write_error)  # fmt: skip
                CONTEXT.stopping.set()

    install_stop_signals(stop)
    if role == "local":
        runner = env.create_local_runner()
        workers = 1
        CONTEXT.driver = build_driver(spec, plan, 0, 1)
        CONTEXT.t0 = time.time() + START_DELAY_S
        CONTEXT.ready.set()
        runner.start(1, spawn_rate=1)
    else:
        runner = env.create_master_runner(args.bind_host, args.port)
        workers = args.expect_workers
        index_of: dict[str, int] = {}

        def on_records(environment: Any = None, msg: Any = None, **_: Any) -> None:
            data = msg.data
            collector.accept(data["columns"])
            worker = data["worker"]
            worker_cpu[f"worker-{worker}"] = data["cpu"]
            in_flight[worker] = data["in_flight"]
            tally.setdefault(worker, WorkerTally()).report(data, time.time())

        def on_done(environment: Any = None, msg: Any = None, **_: Any) -> None:
            done.add(msg.data["worker"])
            spent[f"worker-{msg.data['worker']}"] = msg.data.get("cpu_seconds", 0.0)
            pacing[f"worker-{msg.data['worker']}"] = msg.data.get("pacing") or {}

        def on_clock(environment: Any = None, msg: Any = None, **_: Any) -> None:
            data = msg.data
            index = index_of.get(str(data.get("node")))
            if index is not None:
                clocks.setdefault(index, ClockEstimate()).add(
                    data["t_master"], data["t_worker"], time.time(), joined=data["joined"]
                )

        runner.register_message(RECORDS_MSG, on_records)
        runner.register_message(DONE_MSG, on_done)
        runner.register_message(CLOCK_REPLY_MSG, on_clock)

        def on_count(environment: Any = None, msg: Any = None, **_: Any) -> None:
            worker = tally.setdefault(msg.data["worker"], WorkerTally())
            worker.count(msg.data["sent_total"], time.time())

        runner.register_message(COUNT_MSG, on_count)
        deadline = time.time() + args.worker_timeout
        while len(runner.clients.ready) < workers:
            emit("waiting", connected=len(runner.clients.ready), expected=workers)
            if time.time() > deadline or CONTEXT.stopping.is_set():
                why = (
                    reason
                    if CONTEXT.stopping.is_set()
                    else f"{len(runner.clients.ready)} of {workers} workers connected "
                    f"within {args.worker_timeout:g}s"
                )
                emit("done", status="failed" if not reason else "interrupted", t0=None,
                     reason=why)  # fmt: skip
                runner.quit()
                return 1
            CONTEXT.stopping.wait(0.5)
        ids = [getattr(c, "id", c) for c in sorted(runner.clients.ready, key=str)]
        index_of.update({str(node): index for index, node in enumerate(ids)})

        def probe(joined: bool) -> None:
            for node in ids:
                runner.send_message(
                    CLOCK_MSG, {"t_master": time.time(), "joined": joined}, client_id=node
                )

        for _ in range(CLOCK_PROBES):  # offsets measured at join, before anything is planned
            probe(False)
            gevent.sleep(0.05)
        gevent.sleep(0.2)
        refusals = [clocks.get(i, ClockEstimate()).refusal(f"worker-{i}") for i in range(workers)]
        if any(refusals):
            emit("done", status="failed", t0=None, reason=next(r for r in refusals if r))
            runner.quit()
            return 1
        CONTEXT.t0 = time.time() + START_DELAY_S
        for index, node in enumerate(ids):
            offset = clocks[index].offset if index in clocks else 0.0
            runner.send_message(
                PLAN_MSG,
                {**spec, "worker": index, "workers": workers, "t0": CONTEXT.t0,
                 "clock_offset": offset},
                client_id=node,
            )  # fmt: skip
        runner.start(workers, spawn_rate=max(workers, 1) * 10)

    emit("started", t0=CONTEXT.t0, workers=workers, role=role)
    interrupted_at = None
    next_tick = time.time() + 1.0
    next_probe = time.time() + CLOCK_RECHECK_S
    while True:
        # Wake at the next progress tick, or at once when a stop arrives (signal, lost worker).
        if interrupted_at is None:
            CONTEXT.stopping.wait(min(0.25, max(0.0, next_tick - time.time())))
        else:
            gevent.sleep(0.1)
        if CONTEXT.stopping.is_set() and interrupted_at is None:
            interrupted_at = time.time()
            if CONTEXT.driver is not None:
                CONTEXT.driver.stop()
            if role == "master":
                runner.send_message(STOP_MSG, {})
        if role == "master" and interrupted_at is None and time.time() >= next_probe:
            probe(True)
            next_probe = time.time() + CLOCK_RECHECK_S
        if time.time() >= next_tick:
            next_tick = time.time() + 1.0
            now = time.time() - CONTEXT.t0
            if role == "local" and CONTEXT.buffer is not None:
                collector.accept(CONTEXT.buffer.drain())
                in_flight[0] = CONTEXT.driver.in_flight if CONTEXT.driver else 0
            cpu = {"engine": sample_cpu(me), **worker_cpu}
            batch = None if write_error else collector.take_batch()
            if batch:
                write(batch)
            target = None
            if plan.profile is not None:
                target = float(plan.profile.rate_at(max(now, 0.0)))
            elif plan.levels:
                target = float(plan.concurrency_at(max(now, 0.0)))
            emit(
                "progress",
                elapsed=now,
                duration=plan.duration,
                target=target,
                open_loop=plan.open_loop,
                sent=collector.sent,
                ok=collector.ok,
                errors=collector.errors,
                connection_errors=collector.connection_errors,
                dropped=collector.dropped,
                in_flight=sum(in_flight.values()),
                cpu=cpu,
                **collector.window(now),
            )
        if role == "master":
            missing = [str(c.id) for c in runner.clients.values() if c.state == "missing"]
            lost = workers - len(runner.clients) - len(done)
            silent = [
                f"worker-{i} (silent for {time.time() - t.last_report:.1f} s)"
                for i, t in sorted(tally.items())
                if i not in done and t.last_report and time.time() - t.last_report > LOST_AFTER_S
            ]
            if (missing or lost > 0 or silent) and not reason and len(done) < workers:
                names = missing or silent or [f"{lost} disconnected"]
                reason = f"worker lost: {', '.join(names)}"
                CONTEXT.stopping.set()
        if interrupted_at is not None:
            grace_over = time.time() - interrupted_at > STOP_GRACE_S
            if (role == "local" and CONTEXT.driver.finished.is_set()) or grace_over:
                break
            if role == "master":
                alive = [c for c in runner.clients.values() if c.state != "missing"]
                if len(done) >= len(alive):
                    break
        elif (role == "local" and CONTEXT.driver.finished.is_set()) or (
            role == "master" and len(done) >= workers
        ):
            break

    if role == "local" and CONTEXT.driver is not None:
        CONTEXT.driver.stop()
        CONTEXT.driver.finished.wait(STOP_GRACE_S)
        close_split(CONTEXT.driver)  # a shadow run's last pairs (load/shadow.py)
        collector.accept(CONTEXT.buffer.drain())
        pacing["engine"] = CONTEXT.driver.pacing()
    runner.quit()
    batch = collector.take_batch(force=True)
    if batch:
        write(batch, in_thread=False)
    if write_error:  # space may have come back (a temporary file removed): one last try
        batch = collector.take_batch(force=True)
        if batch:
            write_error = ""
            write(batch, in_thread=False)
    status = "interrupted" if reason else "completed"
    per_worker = (
        {f"worker-{i}": tally.get(i, WorkerTally()).to_json(finished=i in done)
         for i in range(workers)}
        if role == "master" else {}
    )  # fmt: skip
    emit(
        "done",
        status=status,
        reason=reason,
        t0=CONTEXT.t0,
        sent=collector.sent,
        dropped=collector.dropped,
        rows=collector.rows - collector.pending_rows,
        unwritten=collector.pending_rows,
        workers=workers,
        per_worker=per_worker,
        clock={f"worker-{i}": c.to_json(f"worker-{i}") for i, c in sorted(clocks.items())},
        cpu_seconds={"engine": cpu_seconds(me), **spent},
        pacing=pacing,
    )
    return 0 if status == "completed" else 3


@dataclass
class WorkerTally:
    """What one worker said it sent (its own counter, in every records message) against the
    rows of it that reached the master."""

    sent: int = 0  # requests it started, as of its last report (in flight included)
    rows: int = 0  # rows received that were sent (dropped arrivals were never sent)
    dropped: int = 0
    last_report: float | None = None

    def report(self, data: dict[str, Any], now: float) -> None:
        errors = data["columns"]["error"]
        dropped = sum(1 for e in errors if e == DROPPED)
        self.rows += len(errors) - dropped
        self.dropped += dropped
        self.count(int(data.get("sent_total", 0)))
        self.last_report = now

    def count(self, sent_total: int, now: float | None = None) -> None:
        self.sent = max(self.sent, sent_total)
        if now is not None:
            self.last_report = now

    def to_json(self, *, finished: bool) -> dict[str, Any]:
        return {
            "sent": self.sent,
            "rows": self.rows,
            "dropped": self.dropped,
            "sent_not_recorded": max(0, self.sent - self.rows),
            "finished": finished,
        }


# --------------------------------------------------------------------------- worker


def run_worker(args: argparse.Namespace) -> int:
    env = Environment(user_classes=[DriverUser])
    runner = env.create_worker_runner(args.master_host, args.port)
    me = psutil.Process()
    me.cpu_percent(None)

    def on_plan(environment: Any = None, msg: Any = None, **_: Any) -> None:
        data = msg.data
        CONTEXT.worker = data["worker"]
        # The master's start time on this host's clock (see benchctl.load.clock).
        CONTEXT.t0 = data["t0"] + data.get("clock_offset", 0.0)
        CONTEXT.driver = build_driver(
            data, plan_from_json(data["plan"]), data["worker"], data["workers"]
        )
        CONTEXT.ready.set()
        if CONTEXT.stopping.is_set():  # a stop that came before the plan
            CONTEXT.driver.stop()
        gevent.spawn(report_until_done)

    def on_clock(environment: Any = None, msg: Any = None, **_: Any) -> None:
        runner.send_message(
            CLOCK_REPLY_MSG, {**msg.data, "t_worker": time.time(), "node": runner.client_id}
        )

    def on_stop(*_: Any, **__: Any) -> None:
        # Locust calls message handlers with keywords (environment=, msg=), signals without.
        CONTEXT.stopping.set()
        if CONTEXT.driver is not None:
            CONTEXT.driver.stop()
        else:
            runner.quit()

    def send_records() -> None:
        assert CONTEXT.buffer is not None and CONTEXT.driver is not None
        in_flight = CONTEXT.driver.in_flight
        runner.send_message(
            RECORDS_MSG,
            {
                "worker": CONTEXT.worker,
                "columns": CONTEXT.buffer.drain(),
                "cpu": sample_cpu(me),
                "in_flight": in_flight,
                # this worker's own counter: every request it started so far
                "sent_total": sent_total(),
            },
        )

    def sent_total() -> int:
        assert CONTEXT.buffer is not None and CONTEXT.driver is not None
        return CONTEXT.driver.started

    def count_until_done() -> None:
        """The sent counter alone, often: if this process is killed, the master knows how
        many requests it had started to within COUNT_EVERY_S of sending."""
        assert CONTEXT.driver is not None
        told = 0
        while not CONTEXT.driver.finished.wait(COUNT_EVERY_S):
            now = sent_total()
            if now != told:
                runner.send_message(COUNT_MSG, {"worker": CONTEXT.worker, "sent_total": now})
                told = now

    def report_until_done() -> None:
        assert CONTEXT.driver is not None
        gevent.spawn(count_until_done)
        while not CONTEXT.driver.finished.wait(REPORT_EVERY_S):
            send_records()
        close_split(CONTEXT.driver)  # a shadow run's last pairs (load/shadow.py)
        send_records()
        done = {"worker": CONTEXT.worker, "cpu_seconds": cpu_seconds(me)}
        runner.send_message(DONE_MSG, {**done, "pacing": CONTEXT.driver.pacing()})

    runner.register_message(PLAN_MSG, on_plan)
    runner.register_message(STOP_MSG, on_stop)
    runner.register_message(CLOCK_MSG, on_clock)
    install_stop_signals(on_stop)
    runner.greenlet.join()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="benchctl-engine")
    parser.add_argument("--role", choices=["local", "master", "worker"], required=True)
    parser.add_argument("--spec", type=Path, help="engine spec JSON (local, master)")
    parser.add_argument("--run-dir", type=Path)
    parser.add_argument("--master-host", default="127.0.0.1")
    parser.add_argument("--bind-host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5557)
    parser.add_argument("--expect-workers", type=int, default=1)
    parser.add_argument("--worker-timeout", type=float, default=60.0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    if args.role == "worker":
        return run_worker(args)
    spec = restore_request_headers(json.loads(args.spec.read_text()))  # headers: from env
    spec = restore_arm_headers(spec)  # a split run's arms' headers, likewise (splits.py)
    return run_collecting(spec, args.run_dir, args.role, args)


if __name__ == "__main__":
    sys.exit(main())
