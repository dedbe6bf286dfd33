"""The ``worker`` role (Locust's WorkerRunner; ``benchctl worker --master HOST:PORT``): gets
the plan, its share and its clock offset from the master, so it needs no files; streams its
records to the master every REPORT_EVERY_S s and its sent counter every COUNT_EVERY_S s."""

import argparse
import time
from typing import Any

import gevent
import psutil
from locust.env import Environment

from benchctl.load.clock import COUNT_EVERY_S
from benchctl.load.engine_base import (
    CLOCK_MSG,
    CLOCK_REPLY_MSG,
    CONTEXT,
    COUNT_MSG,
    DONE_MSG,
    PLAN_MSG,
    RECORDS_MSG,
    REPORT_EVERY_S,
    STOP_MSG,
    DriverUser,
    build_driver,
    close_split,
    cpu_seconds,
    install_stop_signals,
    sample_cpu,
)
from benchctl.plan.shapes import plan_from_json


class WorkerSide:
    """This worker's handlers of the master's messages and its reporting greenlets."""

    def __init__(self, runner: Any) -> None:
        self.runner = runner
        self.me = psutil.Process()
        self.me.cpu_percent(None)
        runner.register_message(PLAN_MSG, self.on_plan)
        runner.register_message(STOP_MSG, self.on_stop)
        runner.register_message(CLOCK_MSG, self.on_clock)

    def on_plan(self, environment: Any = None, msg: Any = None, **_: Any) -> None:
        """The master's plan and this worker's share: build the driver, start reporting."""
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
        gevent.spawn(self.report_until_done)

    def on_clock(self, environment: Any = None, msg: Any = None, **_: Any) -> None:
        """Answer a clock probe with this host's time (epoch s) and this node's id."""
        self.runner.send_message(
            CLOCK_REPLY_MSG, {**msg.data, "t_worker": time.time(), "node": self.runner.client_id}
        )

    def on_stop(self, *_: Any, **__: Any) -> None:
        """Stop the driver (its last records still go out), or quit if no plan came yet."""
        # Locust calls message handlers with keywords (environment=, msg=), signals without.
        CONTEXT.stopping.set()
        if CONTEXT.driver is not None:
            CONTEXT.driver.stop()
        else:
            self.runner.quit()

    def sent_total(self) -> int:
        """This worker's own counter: every request it started so far."""
        assert CONTEXT.buffer is not None and CONTEXT.driver is not None
        return CONTEXT.driver.started

    def send_records(self) -> None:
        """The records drained since the last report, with CPU (percent) and in flight."""
        assert CONTEXT.buffer is not None and CONTEXT.driver is not None
        in_flight = CONTEXT.driver.in_flight
        report = {
            "worker": CONTEXT.worker,
            "columns": CONTEXT.buffer.drain(),
            "cpu": sample_cpu(self.me),
            "in_flight": in_flight,
            "sent_total": self.sent_total(),
        }
        self.runner.send_message(RECORDS_MSG, report)

    def count_until_done(self) -> None:
        """The sent counter alone, often: if this process is killed, the master knows how
        many requests it had started to within COUNT_EVERY_S of sending."""
        assert CONTEXT.driver is not None
        told = 0
        while not CONTEXT.driver.finished.wait(COUNT_EVERY_S):
            now = self.sent_total()
            if now != told:
                self.runner.send_message(COUNT_MSG, {"worker": CONTEXT.worker, "sent_total": now})
                told = now

    def report_until_done(self) -> None:
        """Records every REPORT_EVERY_S s until the driver finishes, then the last ones and
        the ``done`` message (CPU seconds, pacing)."""
        assert CONTEXT.driver is not None
        gevent.spawn(self.count_until_done)
        while not CONTEXT.driver.finished.wait(REPORT_EVERY_S):
            self.send_records()
        close_split(CONTEXT.driver)  # a shadow run's last pairs (load/shadow.py)
        self.send_records()
        done = {"worker": CONTEXT.worker, "cpu_seconds": cpu_seconds(self.me)}
        self.runner.send_message(DONE_MSG, {**done, "pacing": CONTEXT.driver.pacing()})


def run_worker(args: argparse.Namespace) -> int:
    """Join the master at ``args.master_host:args.port`` and drive whatever share it sends,
    until it quits or a signal stops this worker. Returns 0."""
    env = Environment(user_classes=[DriverUser])
    runner = env.create_worker_runner(args.master_host, args.port)
    side = WorkerSide(runner)
    install_stop_signals(side.on_stop)
    runner.greenlet.join()
    return 0
