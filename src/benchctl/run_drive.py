"""``benchctl run``, driving the load: start the engine processes, fold their events into
an ``Outcome``, show progress, and stop them early when the run must stop (a stop signal,
a dead target or worker, a target that only gives connection errors).

The engine (Locust, gevent) runs in child processes (``benchctl.engine_processes``); this
module never imports it.
"""

from __future__ import annotations

import queue
import signal
import subprocess
import time
from typing import TYPE_CHECKING, Any

from rich.console import Console

from benchctl import lifetime
from benchctl.engine_processes import EngineProcesses, kill_all, start_engine, watch_events
from benchctl.lifetime import signal_if_running
from benchctl.reports.terminal.live import LiveDisplay
from benchctl.reports.terminal.run_progress import print_master_listening
from benchctl.run_outcome import Outcome, write_problem
from benchctl.rundir import ENGINE_LOG, FAILED, INTERRUPTED, RUN_JSON, RunDir
from benchctl.stop_signals import StopSignals

if TYPE_CHECKING:
    from benchctl.run import RunOptions

STOP_WAIT_S = 15.0
DOUBLE_SIGNAL_S = 1.0  # a second stop signal this soon is the same stop, not "kill now"


def drive(
    options: RunOptions,
    run_dir: RunDir,
    server: Any,
    console: Console,
    *,
    title: str,
    signals: StopSignals,
) -> Outcome:
    """Run the engine on the run directory's engine-spec.json until it ends or is stopped;
    returns what it reported, with status and reason set.

    ``server``: the launched server (watched: its death stops the run), or None. Stop
    signals stop the load processes (a second one, not within ``DOUBLE_SIGNAL_S``, kills
    them). Raises OSError when an engine process cannot be started."""
    engine = start_engine(
        run_dir.path,
        workers=options.workers,
        remote_workers=options.remote_workers,
        bind=options.master_bind,
        port=options.master_port,
        worker_wait=options.worker_wait,
    )
    if options.remote_workers:
        print_master_listening(console, options.master_bind, engine.port)
    driver = _Driver(engine, run_dir, server, signals, options.abort_after)
    signals.defer(driver.on_signal)
    with LiveDisplay(console, title) as display:
        driver.follow(display)
    driver.wait()
    return driver.conclude()


class _Driver:
    """One run's engine processes, followed until they end."""

    def __init__(
        self,
        engine: EngineProcesses,
        run_dir: RunDir,
        server: Any,
        signals: StopSignals,
        abort_after: float,
    ) -> None:
        self.engine, self.run_dir, self.server, self.signals = engine, run_dir, server, signals
        self.processes = engine.processes
        self.events = watch_events(engine.main)
        self.outcome = Outcome()
        self.watch = _Watchdog(abort_after)
        self.first_signal_at: list[float] = []
        self.killed = False  # a later signal SIGKILLed the load processes
        self.stop_sent_at: float | None = None

    def on_signal(self, _signum: int, _count: int) -> None:
        """In the signal handler: stop every load process now (workers stop sending at
        once; the master collects their last records); a second signal kills them — unless
        it came within DOUBLE_SIGNAL_S of the first (a double Ctrl-C, or one stop sent
        twice): the engine is then still writing its last rows, which SIGKILL would lose."""
        now = time.monotonic()
        if self.first_signal_at and now - self.first_signal_at[0] < DOUBLE_SIGNAL_S:
            return  # the same stop
        force = bool(self.first_signal_at)
        self.first_signal_at.append(now)
        if force:
            self.killed = True
        for process in self.processes:
            signal_if_running(process, signal.SIGKILL if force else signal.SIGTERM)

    def follow(self, display: LiveDisplay) -> None:
        """Fold events until the engine's stdout closes; stop the processes (SIGTERM, then
        SIGKILL after STOP_WAIT_S) once there is a reason to."""
        while True:
            problem = ""
            try:
                event = self.events.get(timeout=0.25)
                if event is None:
                    break
                problem = handle_event(event, self.outcome, display, self.run_dir)
                if not problem and not self.stop_sent_at:
                    problem = self.watch.check(event, self.server, self.engine.workers)
            except KeyboardInterrupt:  # run() used off the main thread: no StopSignals
                self.signals.received.append(signal.SIGINT)
                self.on_signal(signal.SIGINT, len(self.signals.received))
            except queue.Empty:
                idle = not self.stop_sent_at
                problem = self.watch.check({}, self.server, self.engine.workers) if idle else ""
            if self.signals.received:
                problem = self.signals.reason
                if self.killed:
                    display.note = "second signal: stopping now"
            if problem and self.stop_sent_at is None:
                self.outcome.reason = problem
                display.note = f"stopping: {problem} (records so far are kept)"
                self.stop_sent_at = time.monotonic()
                for process in self.processes:  # workers too: they stop within one turn
                    signal_if_running(process, signal.SIGTERM)
            if self.stop_sent_at and time.monotonic() - self.stop_sent_at > STOP_WAIT_S:
                kill_all(self.processes)

    def wait(self) -> None:
        """Wait for every process (a worker left after 10 s is killed); if the master died,
        its workers are stopped first: they must not go on sending."""
        main, workers = self.engine.main, self.engine.workers
        main.wait()
        if main.returncode not in (0, 3):
            for worker in workers:
                signal_if_running(worker, signal.SIGTERM)
        for worker in workers:
            try:
                worker.wait(timeout=10)
            except subprocess.TimeoutExpired:
                kill_all([worker])
        for process in self.processes:
            lifetime.forget(process.pid)

    def conclude(self) -> Outcome:
        """The outcome's status and reason, once every process has ended."""
        outcome = self.outcome
        if self.signals.received and not outcome.reason:  # the engine died of it first
            outcome.reason = self.signals.reason
        if outcome.write_error:
            outcome.status = FAILED
            outcome.reason = outcome.write_error
        elif not outcome.done:
            outcome.status = INTERRUPTED
            outcome.reason = (
                outcome.reason
                or f"engine exited with code {self.engine.main.returncode} before "
                f"finishing; see {self.run_dir.path / ENGINE_LOG}"
            )
        elif outcome.reason and outcome.reason != outcome.done.get("reason"):
            outcome.status = INTERRUPTED  # we stopped it: keep our reason over the engine's
        return outcome


class _Watchdog:
    """Decides when a run must stop early: dead target, dead worker, unreachable target."""

    def __init__(self, abort_after: float) -> None:
        self.abort_after = abort_after
        self._ok = -1
        self._ok_changed = time.monotonic()
        self._conn_at_ok_change = 0

    def check(self, event: dict[str, Any], server: Any, workers: list[subprocess.Popen]) -> str:
        """A reason to stop now, or '': the launched ``server`` exited, a worker exited
        with an error, or (from progress events) only connection errors for longer than
        ``abort_after`` seconds while no request succeeded."""
        if server is not None and not server.alive():
            return f"the launched target exited; see {server.log_path}"
        for worker in workers:
            if worker.poll() is not None and worker.returncode != 0:
                return f"a worker process (pid {worker.pid}) exited with code {worker.returncode}"
        if event.get("type") != "progress" or self.abort_after <= 0:
            return ""
        if event["ok"] != self._ok:
            self._ok, self._ok_changed = event["ok"], time.monotonic()
            self._conn_at_ok_change = event["connection_errors"]
        stalled = time.monotonic() - self._ok_changed
        if stalled > self.abort_after and event["connection_errors"] > self._conn_at_ok_change:
            return f"target unreachable: only connection errors for {stalled:.0f}s"
        return ""


def handle_event(
    event: dict[str, Any], outcome: Outcome, display: LiveDisplay, run_dir: RunDir
) -> str:
    """Fold one engine event into the outcome; a reason to stop the run, or ''."""
    kind = event.get("type")
    if kind == "started":
        outcome.t0 = event["t0"]
        try:  # recovery of a killed run needs the run's clock origin
            data = run_dir.read_json(RUN_JSON)
            run_dir.update_run(engine={**data["engine"], "t0": outcome.t0})
        except OSError as exc:
            outcome.write_error = write_problem(exc, run_dir.path / RUN_JSON)
            return outcome.write_error
    elif kind == "write_error":
        outcome.write_error = outcome.write_error or (
            f"cannot write {event['path']}: {event['error']}; free space on that disk "
            "(or give --runs-dir on another) and run again"
        )
        return outcome.write_error
    elif kind == "progress":
        outcome.last = event
        for name, value in event["cpu"].items():
            outcome.cpu.append((event["elapsed"], name, value))
        display.update(event)
    elif kind == "waiting":
        display.update(event)
    elif kind == "done":
        outcome.done = event
        outcome.status = event["status"]
        outcome.reason = outcome.reason or event.get("reason", "")
        outcome.t0 = event.get("t0") or outcome.t0
    return ""
