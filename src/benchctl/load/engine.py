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
import json
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

from benchctl.load.clients import make_transport
from benchctl.load.collector import Collector
from benchctl.load.driver import Driver
from benchctl.load.records import RecordBuffer
from benchctl.load.shapes import Plan, plan_from_json
from benchctl.targets.wire import WireRequest

log = logging.getLogger("benchctl.engine")
PLAN_MSG, RECORDS_MSG, DONE_MSG, STOP_MSG = (
    "benchctl_plan",
    "benchctl_records",
    "benchctl_done",
    "benchctl_stop",
)
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


CONTEXT = Context()


class DriverUser(User):
    """One per load process: runs this process's Driver for the whole plan, then idles."""

    wait_time = constant(1)

    @task
    def drive(self) -> None:
        CONTEXT.ready.wait()
        if CONTEXT.driver is not None and not CONTEXT.driver.finished.is_set():
            CONTEXT.driver.run(CONTEXT.t0)
        Event().wait()  # idle until Locust stops this user


def emit(kind: str, **fields: Any) -> None:
    sys.stdout.write(json.dumps({"type": kind, **fields}) + "\n")
    sys.stdout.flush()


def build_driver(spec: dict[str, Any], plan: Plan, worker: int, workers: int) -> Driver:
    request = WireRequest.from_json(spec["request"])
    limits = spec["limits"]
    transport = make_transport(
        request,
        concurrency=limits["max_in_flight"],
        timeout=limits["timeout"],
        connect_timeout=limits["connect_timeout"],
    )
    CONTEXT.buffer = RecordBuffer(worker)
    return Driver(
        plan,
        transport,
        CONTEXT.buffer,
        share=(worker, workers),
        max_in_flight=limits["max_in_flight"],
        drop_after=limits["drop_after"],
        drain_timeout=limits["timeout"] + 1.0,
        bytes_sent=len(request.body),
    )


def sample_cpu(process: psutil.Process) -> float:
    value = process.cpu_percent(None)
    CONTEXT.cpu.append((time.time() - CONTEXT.t0, value))
    return value


def cpu_seconds(process: psutil.Process) -> float:
    """CPU time this process has used so far (user + system), start-up included."""
    times = process.cpu_times()
    return times.user + times.system


def install_stop_signals(on_stop: Any) -> None:
    for signum in (signal.SIGINT, signal.SIGTERM):
        gevent.signal_handler(signum, on_stop)


# --------------------------------------------------------------------------- local + master


def run_collecting(spec: dict[str, Any], run_dir: Path, role: str, args: argparse.Namespace) -> int:
    plan = plan_from_json(spec["plan"])
    collector = Collector(plan, run_dir / "requests.parts")
    env = Environment(user_classes=[DriverUser])
    threadpool = gevent.get_hub().threadpool
    me = psutil.Process()
    me.cpu_percent(None)
    worker_cpu: dict[str, float] = {}
    in_flight: dict[int, int] = {}
    done: set[int] = set()
    spent: dict[str, float] = {}
    reason = ""

    def stop(*_: Any) -> None:
        nonlocal reason
        reason = reason or "stopped by signal"
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

        def on_records(environment: Any, msg: Any) -> None:
            data = msg.data
            collector.accept(data["columns"])
            worker_cpu[f"worker-{data['worker']}"] = data["cpu"]
            in_flight[data["worker"]] = data["in_flight"]

        def on_done(environment: Any, msg: Any) -> None:
            done.add(msg.data["worker"])
            spent[f"worker-{msg.data['worker']}"] = msg.data.get("cpu_seconds", 0.0)

        runner.register_message(RECORDS_MSG, on_records)
        runner.register_message(DONE_MSG, on_done)
        deadline = time.time() + args.worker_timeout
        while len(runner.clients.ready) < workers:
            emit("waiting", connected=len(runner.clients.ready), expected=workers)
            if time.time() > deadline or CONTEXT.stopping.is_set():
                emit(
                    "done",
                    status="failed",
                    t0=None,
                    reason=f"{len(runner.clients.ready)} of {workers} workers connected "
                    f"within {args.worker_timeout:g}s",
                )
                runner.quit()
                return 1
            gevent.sleep(0.5)
        CONTEXT.t0 = time.time() + START_DELAY_S
        for index, client_id in enumerate(sorted(runner.clients.ready, key=str)):
            node_id = getattr(client_id, "id", client_id)
            runner.send_message(
                PLAN_MSG,
                {**spec, "worker": index, "workers": workers, "t0": CONTEXT.t0},
                client_id=node_id,
            )
        runner.start(workers, spawn_rate=max(workers, 1) * 10)

    emit("started", t0=CONTEXT.t0, workers=workers, role=role)
    interrupted_at = None
    while True:
        gevent.sleep(1.0)
        now = time.time() - CONTEXT.t0
        if role == "local" and CONTEXT.buffer is not None:
            collector.accept(CONTEXT.buffer.drain())
            in_flight[0] = CONTEXT.driver.in_flight if CONTEXT.driver else 0
        cpu = {"engine": sample_cpu(me), **worker_cpu}
        batch = collector.take_batch()
        if batch:
            threadpool.apply(collector.write, (batch,))
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
            if (missing or lost > 0) and not reason and len(done) < workers:
                reason = f"worker lost: {', '.join(missing) or f'{lost} disconnected'}"
                CONTEXT.stopping.set()
        if CONTEXT.stopping.is_set():
            if interrupted_at is None:
                interrupted_at = time.time()
                if CONTEXT.driver is not None:
                    CONTEXT.driver.stop()
                if role == "master":
                    runner.send_message(STOP_MSG, {})
            grace_over = time.time() - interrupted_at > STOP_GRACE_S
            if (role == "local" and CONTEXT.driver.finished.is_set()) or grace_over:
                break
            if role == "master" and len(done) >= len(runner.clients):
                break
        elif (role == "local" and CONTEXT.driver.finished.is_set()) or (
            role == "master" and len(done) >= workers
        ):
            break

    if role == "local" and CONTEXT.driver is not None:
        CONTEXT.driver.stop()
        CONTEXT.driver.finished.wait(STOP_GRACE_S)
        collector.accept(CONTEXT.buffer.drain())
    runner.quit()
    batch = collector.take_batch(force=True)
    if batch:
        collector.write(batch)
    status = "interrupted" if reason else "completed"
    emit(
        "done",
        status=status,
        reason=reason,
        t0=CONTEXT.t0,
        sent=collector.sent,
        dropped=collector.dropped,
        rows=collector.rows,
        workers=workers,
        cpu_seconds={"engine": cpu_seconds(me), **spent},
    )
    return 0 if status == "completed" else 3


# --------------------------------------------------------------------------- worker


def run_worker(args: argparse.Namespace) -> int:
    env = Environment(user_classes=[DriverUser])
    runner = env.create_worker_runner(args.master_host, args.port)
    me = psutil.Process()
    me.cpu_percent(None)

    def on_plan(environment: Any, msg: Any) -> None:
        data = msg.data
        CONTEXT.worker = data["worker"]
        CONTEXT.t0 = data["t0"]
        CONTEXT.driver = build_driver(
            data, plan_from_json(data["plan"]), data["worker"], data["workers"]
        )
        CONTEXT.ready.set()
        gevent.spawn(report_until_done)

    def on_stop(*_: Any) -> None:
        if CONTEXT.driver is not None:
            CONTEXT.driver.stop()
        else:
            runner.quit()

    def send_records() -> None:
        assert CONTEXT.buffer is not None and CONTEXT.driver is not None
        runner.send_message(
            RECORDS_MSG,
            {
                "worker": CONTEXT.worker,
                "columns": CONTEXT.buffer.drain(),
                "cpu": sample_cpu(me),
                "in_flight": CONTEXT.driver.in_flight,
            },
        )

    def report_until_done() -> None:
        assert CONTEXT.driver is not None
        while not CONTEXT.driver.finished.wait(1.0):
            send_records()
        send_records()
        runner.send_message(DONE_MSG, {"worker": CONTEXT.worker, "cpu_seconds": cpu_seconds(me)})

    runner.register_message(PLAN_MSG, on_plan)
    runner.register_message(STOP_MSG, on_stop)
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
    spec = json.loads(args.spec.read_text())
    return run_collecting(spec, args.run_dir, args.role, args)


if __name__ == "__main__":
    sys.exit(main())
