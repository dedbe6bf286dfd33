"""The collecting side of a run, shared by the ``local`` and ``master`` roles (as Locust's
LocalRunner and MasterRunner share a Runner): records into Parquet parts (a write error
keeps the rows and stops the run), a progress line a second, the last flush and the final
``done`` line. What differs by role is a ``Role`` (load/engine_local.py, engine_master.py).
"""

import time
from pathlib import Path
from typing import Any, Protocol

import gevent
import psutil

from benchctl.load.collector import Collector
from benchctl.load.engine_base import CONTEXT, STOP_GRACE_S, cpu_seconds, emit, sample_cpu
from benchctl.plan.shapes import Plan, plan_from_json
from benchctl.rundir.names import PARTS


class Role(Protocol):
    """What the collecting loop asks of the role it runs."""

    name: str  # "local" or "master"
    workers: int  # load processes driving the plan
    runner: Any  # Locust's runner of this process

    def interrupt(self) -> None:
        """A stop arrived (signal, lost worker, write error): stop the load."""

    def between(self) -> None:
        """Called every pass (≤ 0.25 s apart) while the run is not stopping."""

    def gather(self) -> None:
        """Called every progress tick, before writing: records into the collector."""

    def watch(self) -> None:
        """Called every pass: a lost load process stops the run (``Collecting.fail``)."""

    def finished(self, *, stopping: bool) -> bool:
        """True when every load process is done (``stopping``: of those still alive)."""

    def wind_down(self) -> None:
        """After the loop, before the runner quits: the last records in."""

    def per_worker(self) -> dict[str, Any]:
        """Each worker's tally for the ``done`` line ({} when there are no workers)."""

    def clock(self) -> dict[str, Any]:
        """Each worker's clock offset estimate for the ``done`` line."""


class Collecting:
    """A run's records and counters on the collecting process.

    ``spec``: the engine spec (its ``plan``; ``flush_seconds``, default 5 s, how often a
    part is written); ``run_dir``: parts go to ``run_dir/requests.parts``. Load processes'
    reports land in ``worker_cpu`` (percent), ``in_flight`` (requests), ``spent`` (CPU s)
    and ``pacing``; ``reason`` is why the run stopped early ("" if it did not).
    """

    def __init__(self, spec: dict[str, Any], run_dir: Path) -> None:
        self.plan = plan_from_json(spec["plan"])
        # A capacity search reads the parts as they land: it asks for a shorter flush period.
        self.collector = Collector(
            self.plan,
            run_dir / PARTS,
            flush_seconds=float(spec.get("flush_seconds", 5.0)),
        )
        self.threadpool = gevent.get_hub().threadpool
        self.me = psutil.Process()
        self.me.cpu_percent(None)
        self.worker_cpu: dict[str, float] = {}
        self.in_flight: dict[int, int] = {}
        self.spent: dict[str, float] = {}
        self.pacing: dict[str, dict] = {}  # each load process's wake-up mechanism and CPU
        self.reason = ""
        self.write_error = ""
        self.stopped_at: float | None = None  # s after t0 when a stop arrived (None: ran out)

    def stop(self, *_: Any, **__: Any) -> None:
        """Signal handler: stop the run as interrupted."""
        self.fail("stopped by signal")

    def fail(self, reason: str) -> None:
        """Stop the run, keeping the first reason given."""
        self.reason = self.reason or reason
        CONTEXT.stopping.set()

    def write(self, batch: dict[str, list], *, in_thread: bool = True) -> None:
        """Write one part; on a write error (disk full) keep the rows and stop the run."""
        collector = self.collector
        try:
            if in_thread:
                self.threadpool.apply(collector.write, (batch,))
            else:
                collector.write(batch)
        except OSError as exc:
            collector.give_back(batch)
            if not self.write_error:
                self.write_error = f"{exc.strerror or exc}"
                path = exc.filename or collector.writer.folder
                self.reason = self.reason or f"cannot write {path}"
                emit("write_error", path=str(path), error=self.write_error)
                CONTEXT.stopping.set()

    def run(self, role: Role) -> int:
        """Drive ``role`` to the end; returns the exit code (0 completed, 3 interrupted)."""
        emit("started", t0=CONTEXT.t0, workers=role.workers, role=role.name)
        self._loop(role)
        role.wind_down()
        role.runner.quit()
        self._flush_last()
        return self._done(role)

    def _loop(self, role: Role) -> None:
        interrupted_at = None
        next_tick = time.time() + 1.0
        while True:
            # Wake at the next progress tick, or at once when a stop arrives (signal, lost worker).
            if interrupted_at is None:
                CONTEXT.stopping.wait(min(0.25, max(0.0, next_tick - time.time())))
            else:
                gevent.sleep(0.1)
            if CONTEXT.stopping.is_set() and interrupted_at is None:
                interrupted_at = time.time()
                self.stopped_at = max(0.0, interrupted_at - CONTEXT.t0)
                if CONTEXT.driver is not None:
                    CONTEXT.driver.stop()
                role.interrupt()
            elif interrupted_at is None:
                role.between()
            if time.time() >= next_tick:
                next_tick = time.time() + 1.0
                self._progress(role)
            role.watch()
            if interrupted_at is not None:
                if role.finished(stopping=True) or time.time() - interrupted_at > STOP_GRACE_S:
                    return
            elif role.finished(stopping=False):
                return

    def _progress(self, role: Role) -> None:
        now = time.time() - CONTEXT.t0
        role.gather()
        cpu = {"engine": sample_cpu(self.me), **self.worker_cpu}
        batch = None if self.write_error else self.collector.take_batch()
        if batch:
            self.write(batch)
        plan, collector = self.plan, self.collector
        emit(
            "progress",
            elapsed=now,
            duration=plan.duration,
            target=_target(plan, max(now, 0.0)),
            open_loop=plan.open_loop,
            **collector.totals(),
            in_flight=sum(self.in_flight.values()),
            cpu=cpu,
            **collector.window(now),
        )

    def _flush_last(self) -> None:
        batch = self.collector.take_batch(force=True)
        if batch:
            self.write(batch, in_thread=False)
        if self.write_error:  # space may have come back (a temporary file removed): one last try
            batch = self.collector.take_batch(force=True)
            if batch:
                self.write_error = ""
                self.write(batch, in_thread=False)

    def _done(self, role: Role) -> int:
        status = "interrupted" if self.reason else "completed"
        collector = self.collector
        emit(
            "done",
            status=status,
            reason=self.reason,
            t0=CONTEXT.t0,
            sent=collector.sent,
            dropped=collector.dropped,
            rows=collector.rows - collector.pending_rows,
            unwritten=collector.pending_rows,
            workers=role.workers,
            per_worker=role.per_worker(),
            clock=role.clock(),
            cpu_seconds={"engine": cpu_seconds(self.me), **self.spent},
            pacing=self.pacing,
            stopped_at=self.stopped_at,
        )
        return 0 if status == "completed" else 3


def _target(plan: Plan, t: float) -> float | None:
    """What the plan asks for ``t`` s after t0: arrival rate (req/s, open loop), concurrency
    (closed loop), or None for a plan with neither (replayed arrival times)."""
    if plan.profile is not None:
        return float(plan.profile.rate_at(t))
    if plan.levels:
        return float(plan.concurrency_at(t))
    return None
