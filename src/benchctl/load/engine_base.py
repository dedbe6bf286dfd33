"""What every engine role shares (load/engine.py runs one role per process): the process's
``Context``, the one Locust user that plays this process's Driver, progress lines to the CLI,
the names of the messages master and workers exchange, and a Driver built from the engine
spec.

Imported only inside the engine process, after ``import locust`` has monkey-patched it with
gevent (load/engine.py does that first).
"""

import contextlib
import json
import os
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import gevent
import psutil
from gevent.event import Event
from locust import User, constant, task

from benchctl.load.choice import RequestChooser
from benchctl.load.clients import Transport, make_transport
from benchctl.load.driver import Driver
from benchctl.load.records import RecordBuffer
from benchctl.plan.shapes import Plan
from benchctl.targets.wire import WireRequest

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
        """Wait for the plan, play this process's Driver once, then idle."""
        CONTEXT.ready.wait()
        # Only once per process: Locust may start another user here when it rebalances
        # after losing a worker, and the schedule must not be played twice.
        if CONTEXT.driver is not None and not CONTEXT.driving:
            CONTEXT.driving = True
            CONTEXT.driver.run(CONTEXT.t0)
        Event().wait()  # idle until Locust stops this user


def emit(kind: str, **fields: Any) -> None:
    """One JSON line ``{"type": kind, **fields}`` to stdout for the CLI. If the CLI is gone
    (broken pipe: it was killed), stop the run: the rows still in memory are written before
    this process exits. Raises nothing (a dead stdout is swallowed, then ignored)."""
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
    """The Driver of load process ``worker`` of ``workers`` for the engine ``spec`` (request,
    limits in seconds, optional choices or split arms) over ``plan``. Its RecordBuffer is kept
    in ``CONTEXT.buffer``. Raises KeyError if the spec lacks ``request`` or ``limits``."""
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
    """The driver of a split run (``--split``): arms' transports and chooser (load/arms.py).
    Inputs and errors as ``build_driver``."""
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
    """A split or shadow run's transport finishes its own files (shadow pairs); nothing for a
    plain run."""
    if getattr(driver.chooser, "split", False):
        from benchctl.load.arms import close_split as close

        close(driver.transport)


def sample_cpu(process: psutil.Process) -> float:
    """``process``'s CPU use since the last sample, in percent of one core; also kept in
    ``CONTEXT.cpu`` as (seconds since t0, percent)."""
    value = process.cpu_percent(None)
    CONTEXT.cpu.append((time.time() - CONTEXT.t0, value))
    return value


def cpu_seconds(process: psutil.Process) -> float:
    """CPU time this process has used so far (user + system), start-up included, in s."""
    times = process.cpu_times()
    return times.user + times.system


def install_stop_signals(on_stop: Callable[..., Any]) -> None:
    """Call ``on_stop`` (in the gevent hub) on SIGINT, SIGTERM and SIGHUP."""
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        gevent.signal_handler(signum, on_stop)
