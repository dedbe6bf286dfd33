"""The ``local`` role: one process drives the whole plan (Locust's LocalRunner) and writes
its own records (load/engine_collect.py)."""

import time
from pathlib import Path
from typing import Any

from locust.env import Environment

from benchctl.load.engine_base import (
    CONTEXT,
    START_DELAY_S,
    STOP_GRACE_S,
    DriverUser,
    build_driver,
    close_split,
    install_stop_signals,
)
from benchctl.load.engine_collect import Collecting


class LocalRole:
    """The collecting loop's hooks for one process that is also the only load process."""

    name = "local"
    workers = 1

    def __init__(self, collecting: Collecting, runner: Any) -> None:
        self.collecting = collecting
        self.runner = runner

    def interrupt(self) -> None:
        """Nothing beyond the driver's stop (done by the loop)."""

    def between(self) -> None:
        """Nothing to do between ticks."""

    def gather(self) -> None:
        """This process's new records into the collector, and its requests in flight."""
        if CONTEXT.buffer is not None:
            self.collecting.collector.accept(CONTEXT.buffer.drain())
            driver = CONTEXT.driver
            self.collecting.in_flight[0] = driver.in_flight if driver else 0

    def watch(self) -> None:
        """No workers to lose."""

    def finished(self, *, stopping: bool) -> bool:
        """True once the driver has played its plan (or stopped) and drained."""
        return CONTEXT.driver is not None and CONTEXT.driver.finished.is_set()

    def wind_down(self) -> None:
        """Stop the driver, wait up to STOP_GRACE_S s for it, take its last records."""
        driver = CONTEXT.driver
        if driver is None:
            return
        driver.stop()
        driver.finished.wait(STOP_GRACE_S)
        close_split(driver)  # a shadow run's last pairs (load/shadow.py)
        if CONTEXT.buffer is not None:
            self.collecting.collector.accept(CONTEXT.buffer.drain())
        self.collecting.pacing["engine"] = driver.pacing()

    def per_worker(self) -> dict[str, Any]:
        """No workers: {}."""
        return {}

    def clock(self) -> dict[str, Any]:
        """One clock: {}."""
        return {}


def run_local(spec: dict[str, Any], run_dir: Path) -> int:
    """Run the engine ``spec`` in this process, writing records under ``run_dir``; progress
    and the final ``done`` line go to stdout (JSON lines). Returns 0 if the plan completed,
    3 if it was interrupted (signal, write error, CLI gone)."""
    collecting = Collecting(spec, run_dir)
    env = Environment(user_classes=[DriverUser])
    install_stop_signals(collecting.stop)
    runner = env.create_local_runner()
    CONTEXT.driver = build_driver(spec, collecting.plan, 0, 1)
    CONTEXT.t0 = time.time() + START_DELAY_S
    CONTEXT.ready.set()
    runner.start(1, spawn_rate=1)
    return collecting.run(LocalRole(collecting, runner))
