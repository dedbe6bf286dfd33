"""``benchctl run``: resolve the specs, launch and check the target, drive the engine
processes, show progress, and leave a complete run directory whatever happens.

The engine (Locust, gevent) runs in child processes; this module never imports it. Records
reach disk as Parquet parts while the run goes on, so Ctrl-C, a dying target or a crashing
worker still leaves everything measured, marked ``interrupted``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import json
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console

from benchctl import facts, lifetime
from benchctl.analysis.accuracy import accuracy_line, accuracy_of_run, generator_section
from benchctl.analysis.inputs import input_summary
from benchctl.analysis.models import model_summaries
from benchctl.analysis.summary import read_requests, summarize
from benchctl.batch import batch_end, batch_summary, engine_requests, run_sweep
from benchctl.config import BatchScenario, TargetSpec, load_scenario, load_target
from benchctl.display import LiveDisplay, summary_table
from benchctl.durations import format_duration
from benchctl.errors import BenchctlError, InputError
from benchctl.lifetime import Guard, die_with_parent, owner_record, signal_if_running
from benchctl.load.records import merge_parts
from benchctl.load.shapes import Plan, plan_scenario, plan_to_json, rate_curve
from benchctl.recovery import write_json_fallback
from benchctl.split_run import (
    add_arm_samplers,
    check_arms,
    print_split,
    split_arms,
    split_engine_spec,
    split_self_check,
    split_summary,
    start_arms,
    stop_arm_servers,
)
from benchctl.splits import public_arms
from benchctl.stop_signals import Stopped, StopSignals
from benchctl.store import (
    COMPLETED,
    FAILED,
    INTERRUPTED,
    PARTS,
    REQUESTS,
    RUN_JSON,
    RUNNING,
    SCHEMA_VERSION,
    SUMMARY,
    RunDir,
)
from benchctl.success import nothing_succeeded
from benchctl.targets import secrets
from benchctl.targets.adapter import adapter_for
from benchctl.targets.launch import free_port
from benchctl.telemetry.session import TelemetryOptions, TelemetrySession, start_telemetry

CPU_SATURATED = 80.0  # percent of one core
SATURATED_FOR_S = 5  # consecutive seconds above CPU_SATURATED
STOP_WAIT_S = 15.0
DOUBLE_SIGNAL_S = 1.0  # a second stop signal this soon is the same stop, not "kill now"


@dataclass(frozen=True)
class RunOptions:
    scenario: str
    target: str
    config_dir: Path | None = None
    rate: float | None = None
    duration: str | None = None
    overrides: tuple[str, ...] = ()
    target_overrides: tuple[str, ...] = ()
    time_scale: float = 1.0
    workers: int = 0
    remote_workers: int = 0
    master_bind: str = "127.0.0.1"
    master_port: int | None = None
    launch: bool = False
    runs_dir: Path = Path("runs")
    dry_run: bool = False
    abort_after: float = 10.0
    preflight: bool = True  # off when only remote workers can reach the target
    telemetry: TelemetryOptions = field(default_factory=TelemetryOptions)
    command: tuple[str, ...] = ()
    split: str | None = None  # "A=95,B=5": arms of an A/B or canary run (splits.py)
    users: int | None = None  # sticky simulated users, each pinned to one arm
    shadow: str | None = None  # every request also sent to this profile (load/shadow.py)

    def load_scenario(self) -> tuple[Any, Path]:
        """The scenario named in these options with their --rate, --duration and --set applied:
        (scenario model, source file). Raises what ``config.load_scenario`` raises."""
        return load_scenario(
            self.scenario,
            config_dir=self.config_dir,
            rate=self.rate,
            duration=self.duration,
            overrides=self.overrides,
        )


@dataclass
class RunResult:
    status: str
    run_dir: Path | None = None
    summary: dict[str, Any] | None = None
    reason: str = ""
    generator: dict[str, Any] = field(default_factory=dict)


def run(options: RunOptions, *, console: Console | None = None) -> RunResult:
    """Run one scenario against one target; returns how it ended and where it is."""
    console = console or Console()
    scenario, scenario_file = options.load_scenario()
    target, target_file = load_target(
        options.target, config_dir=options.config_dir, overrides=options.target_overrides
    )
    if options.split and options.users is None and getattr(scenario, "users", None):
        options = dataclasses.replace(options, users=scenario.users)  # the scenario's users:
    arms = split_arms(options, target, target_file)  # --split: every arm's target, or []
    sweep = isinstance(scenario, BatchScenario) and len(scenario.settings()) > 1
    if sweep and not options.dry_run:
        return run_sweep(options, scenario, console)  # one run per setting (batch.py)
    plan = plan_scenario(scenario, options.time_scale)
    for note in plan.notes:  # e.g. a warm-up shortened so it eats no level
        console.print(f"[yellow]note:[/] {note}", highlight=False)
    if options.workers < 0 or options.remote_workers < 0:
        raise InputError("--workers and --remote-workers must be >= 0")
    if options.dry_run:
        print_plan(console, plan, scenario_file.stem, scenario.description)
        return RunResult(status="planned")
    adapter = adapter_for(target.protocol)
    if options.launch:
        _launcher(target)  # refuse an unlaunchable kind before making a run directory
    elif options.preflight:
        adapter.check_ready(target, f"target {target_file.stem!r}")
    elif target.payload.source != "file":
        raise InputError(
            "--no-preflight cannot read the model's metadata: give the payload as "
            "a file (--target-set payload.source=file --target-set payload.file=...)"
        )
    check_arms(arms, options, _launcher)  # the other arms: launchable, or ready

    # Signals are only noted until the run directory and its watchdog exist (arm()).
    with StopSignals(raising=False) as signals:
        run_dir = _create_run_dir(options.runs_dir, scenario_file.stem, target_file.stem)
        guard = Guard.start(run_dir.path)
        record = {
            "schema_version": SCHEMA_VERSION,
            "id": run_dir.name,
            "status": RUNNING,
            "reason": "",
            "command": secrets.redact_command(options.command, target.safe_headers),
            # Who finishes this run: a later `benchctl runs` recovers it once both are gone.
            "owner": {**owner_record(), "watchdog": guard.watchdog},
            "scenario": {
                "name": scenario_file.stem,
                "file": str(scenario_file),
                "time_scale": options.time_scale,
                "spec": scenario.model_dump(mode="json"),
            },
            "target": {
                "name": target_file.stem,
                "file": str(target_file),
                "spec": _public_target(target),
                "launched": None,
            },
            "plan": {
                "duration": plan.duration,
                "expected_requests": plan.expected_requests(),
                "open_loop": plan.open_loop,
                "phases": [{"name": p.name, "start": p.start, "end": p.end} for p in plan.phases],
                "curve": rate_curve(plan, points=240),
            },
            "engine": {
                "workers": options.workers,
                "remote_workers": options.remote_workers,
                "started_at": _now(),
            },
            "versions": facts.versions(),
            "host": facts.host(),
        }
        if arms:
            record["arms"] = public_arms(arms, options.users, _public_target, options.shadow)
        try:
            run_dir.write_json(RUN_JSON, record)
        except (OSError, BenchctlError) as exc:
            guard.close()
            shutil.rmtree(run_dir.path, ignore_errors=True)
            if isinstance(exc, OSError):
                raise WriteFailed(
                    _write_problem(exc, run_dir.path / RUN_JSON), exit_code=2
                ) from None
            raise
        console.print(f"run directory: [bold]{run_dir.path}[/]")

        server = None
        arm_servers: list[Any] = []  # the other arms' launched servers (--split --launch)
        telemetry = None
        outcome = _Outcome()
        failure: BenchctlError | None = None
        crash: Exception | None = None
        try:
            signals.arm()  # a signal before this point is acted on now
            if options.launch:
                server, target = _launch(target, run_dir, console)
                run_dir.update_run(
                    target={
                        **record["target"],
                        "spec": _public_target(target),
                        "launched": {
                            "kind": server.kind,
                            "pid": server.pid,
                            "http_url": server.http_url,
                            "grpc_address": server.grpc_address,
                            "log": str(server.log_path),
                        },
                    }
                )
                adapter.check_ready(target, f"launched {target.kind}")
            if arms:
                arms = start_arms(arms, target, options, arm_servers, run_dir, console, _launch)
            spec = _engine_spec(scenario, target, plan)
            if arms:  # one wire request per arm (its own server and protocol)
                spec["arms"] = split_engine_spec(arms, options, scenario, run_dir)
            run_dir.write_text("engine-spec.json", json.dumps(spec), mode=0o600)
            telemetry = start_telemetry(
                options.telemetry,
                run_dir.path,
                server_kind=target.kind,
                server_pid=server.pid if server is not None else None,
                metrics_url=target.metrics_url,
            )
            add_arm_samplers(telemetry, arms, options.telemetry)  # --split: each arm's server
            for note in telemetry.notes:
                console.print(f"[dim]{note}[/]")
            outcome = _drive(
                options,
                run_dir,
                plan,
                server,
                console,
                title=f"{scenario_file.stem} → {target_file.stem}",
                signals=signals,
            )
        except Stopped as exc:
            outcome = _Outcome(status=INTERRUPTED, reason=f"{exc} before the load started")
        except BenchctlError as exc:
            failure = exc
            outcome = _Outcome(status=FAILED, reason=str(exc))
        except OSError as exc:
            failure = WriteFailed(_write_problem(exc, run_dir.path))
            outcome = _Outcome(status=FAILED, reason=str(failure))
        except Exception as exc:  # a bug: finish the run directory, then let it surface
            crash = exc
            outcome = _Outcome(status=FAILED, reason=f"internal error: {type(exc).__name__}")
        finally:
            signals.defer()  # from here on a signal only notes itself: finishing comes first
            if telemetry is not None:
                try:
                    telemetry.monitor.stop()  # while the server still answers its last scrape
                except OSError as exc:
                    failure = failure or WriteFailed(_write_problem(exc, run_dir.path))
            if server is not None:
                server.stop()
                lifetime.forget(server.pid)
            stop_arm_servers(arm_servers)
            guard.reap()  # anything half-started (a signal between spawn and registration)
        if failure is not None and outcome.status != FAILED:
            outcome.status, outcome.reason = FAILED, str(failure)
        try:
            result = _finalize(run_dir, plan, outcome, telemetry, console)
        except (OSError, BenchctlError) as exc:
            if isinstance(exc, OSError):
                exc = WriteFailed(_write_problem(exc, run_dir.path))
            if outcome.write_error:  # the engine's error came first: name that file
                exc = WriteFailed(outcome.write_error)
            failure = failure or exc
            result = _mark_failed(run_dir, outcome, str(failure))
        except Exception as exc:  # a bug while finishing: the run still says how it ended
            crash = crash or exc
            result = _mark_failed(run_dir, outcome, f"internal error: {type(exc).__name__}")
    guard.close()
    if crash is not None:
        raise crash
    if failure is None and outcome.write_error:  # the engine's: one line on stderr too
        failure = WriteFailed(outcome.write_error)
    if failure is not None:
        raise failure
    return result


class WriteFailed(BenchctlError):
    """A file of the run could not be written (disk full, read-only, quota): one line naming
    the path and what to do. Exit code 1 once the run started, 2 before."""

    def __init__(self, message: str, *, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def _write_problem(exc: OSError, where: Path) -> str:
    path = exc.filename or where
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        todo = "free space on that disk (or give --runs-dir on another) and run again"
    elif exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        todo = "make it writable (or give --runs-dir elsewhere) and run again"
    else:
        todo = "check that disk (or give --runs-dir elsewhere) and run again"
    return f"cannot write {path}: {exc.strerror or exc}; {todo}"


def _create_run_dir(base: Path, scenario: str, target: str) -> RunDir:
    try:
        return RunDir.create(base, scenario, target)
    except OSError as exc:
        raise WriteFailed(_write_problem(exc, base), exit_code=2) from None


def _mark_failed(run_dir: RunDir, outcome: _Outcome, reason: str) -> RunResult:
    """Finishing failed (disk full): say so in run.json even with no room for a second copy,
    and keep the parts on disk (``benchctl runs`` merges them once there is space)."""
    with contextlib.suppress(OSError):
        tmp = run_dir.path / REQUESTS
        tmp.with_suffix(".tmp").unlink(missing_ok=True)
    try:
        data = run_dir.read_json(RUN_JSON)
        data.update(status=FAILED, reason=reason)
        data["engine"] = {**data.get("engine", {}), "t0": outcome.t0, "ended_at": _now()}
        data["counts"] = {
            "sent": outcome.done.get("sent", outcome.last.get("sent")),
            "dropped": outcome.done.get("dropped", outcome.last.get("dropped")),
            "rows": None,  # in requests.parts, merged by `benchctl runs` once there is room
            "unwritten": outcome.done.get("unwritten"),
        }
        write_json_fallback(run_dir.path / RUN_JSON, json.dumps(data, indent=2, default=str))
    except (OSError, BenchctlError):
        pass
    return RunResult(FAILED, run_dir.path, None, reason)


# --------------------------------------------------------------------------- preparation


def print_plan(console: Console, plan: Plan, name: str, description: str) -> None:
    """The planned rate (or concurrency) over time, without sending anything."""
    unit = "req/s" if plan.open_loop else "concurrency"
    console.print(f"[bold]{name}[/]: {description}".rstrip(": "))
    expected = plan.expected_requests()
    total = f", about {expected:,.0f} requests" if expected is not None else ""
    console.print(
        f"duration {format_duration(plan.duration)}{total}; phases: "
        + ", ".join(
            f"{p.name} {format_duration(p.start)}–{format_duration(p.end)}"
            for p in plan.phases[:12]
        )
        + (" …" if len(plan.phases) > 12 else "")
    )
    curve = rate_curve(plan, points=40)
    peak = max((value for _, value in curve), default=0.0) or 1.0
    for t, value in curve:
        bar = "█" * round(40 * value / peak)
        console.print(f"{format_duration(t):>8}  {value:9.1f} {unit}  {bar}", highlight=False)


def _public_target(target: TargetSpec) -> dict[str, Any]:
    return secrets.public_target(target.model_dump(mode="json"), target.safe_headers)


def _launcher(target: TargetSpec) -> Any:
    """The launcher for the target's kind; InputError when this kind cannot be launched."""
    from benchctl.targets.registry import LAUNCHERS, NOT_LAUNCHABLE

    kind = target.launch.server or target.kind
    if kind in NOT_LAUNCHABLE:
        raise InputError(NOT_LAUNCHABLE[kind])
    if kind not in LAUNCHERS:
        raise InputError(
            f"--launch cannot start a {kind} server: launchable kinds are "
            f"{', '.join(sorted(LAUNCHERS))}"
        )
    return LAUNCHERS[kind]


def _launch(target: TargetSpec, run_dir: RunDir, console: Console) -> tuple[Any, TargetSpec]:
    kind = target.launch.server or target.kind
    launcher = _launcher(target)
    console.print(f"launching a local {kind} server (127.0.0.1, free ports)…")
    server = launcher(
        target.launch,
        model_name=target.model,
        log_dir=run_dir.path,
        log=lambda message: console.print(message),
    )
    console.print(
        f"{kind} ready at {server.http_url} (gRPC {server.grpc_address}), pid {server.pid}"
    )
    update = {"url": server.http_url, "grpc_address": server.grpc_address}
    if server.metrics_url:
        update["metrics_url"] = server.metrics_url
    if getattr(server, "management_url", None):  # TorchServe
        update["management_url"] = server.management_url
    return server, target.model_copy(update=update)


def _engine_spec(scenario: Any, target: TargetSpec, plan: Plan) -> dict[str, Any]:
    # every body the run may send, encoded once (payload pool, model mix: targets/pool.py)
    request, choices = engine_requests(scenario, target)
    if target.tls is not None:
        request = dataclasses.replace(request, tls=target.tls.model_dump(mode="json"))
    spec = {
        "plan": plan_to_json(plan),
        "request": request.to_json(),
        "choices": choices,
        "limits": {
            "max_in_flight": scenario.max_in_flight,
            "drop_after": getattr(scenario, "drop_after", 1.0),
            "timeout": target.timeout,
            "connect_timeout": target.connect_timeout,
        },
    }
    # Header values go to the engine through its inherited environment, never to disk.
    return secrets.hide_request_headers(spec, target.safe_headers)


# --------------------------------------------------------------------------- engine processes


@dataclass
class _Outcome:
    status: str = INTERRUPTED
    reason: str = ""
    t0: float | None = None
    done: dict[str, Any] = field(default_factory=dict)
    last: dict[str, Any] = field(default_factory=dict)
    cpu: list[tuple[float, str, float]] = field(default_factory=list)
    write_error: str = ""


def _engine_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "benchctl.load.engine", *args]


def _spawn(command: list[str], log_path: Path, *, stdout: Any) -> subprocess.Popen:
    """An engine process in its own session (a terminal's Ctrl-C reaches only the CLI, which
    stops it in order), SIGTERM when the CLI dies, and registered with the run's watchdog."""
    with log_path.open("ab") as log, lifetime.spawning():
        process = subprocess.Popen(
            command,
            stdout=stdout,
            stderr=log,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=die_with_parent(signal.SIGTERM),
        )
        lifetime.register(process.pid, "engine")
    return process


def _drive(
    options: RunOptions,
    run_dir: RunDir,
    plan: Plan,
    server: Any,
    console: Console,
    *,
    title: str,
    signals: StopSignals,
) -> _Outcome:
    spec_path = str(run_dir.path / "engine-spec.json")
    distributed = options.workers > 0 or options.remote_workers > 0
    workers: list[subprocess.Popen] = []
    if distributed:
        port = options.master_port or free_port()
        expected = options.workers + options.remote_workers
        wildcard = options.master_bind in ("0.0.0.0", "::", "")
        connect_host = "127.0.0.1" if wildcard else options.master_bind
        main = _spawn(
            _engine_command(
                "--role",
                "master",
                "--spec",
                spec_path,
                "--run-dir",
                str(run_dir.path),
                "--bind-host",
                options.master_bind,
                "--port",
                str(port),
                "--expect-workers",
                str(expected),
            ),
            run_dir.path / "engine.log",
            stdout=subprocess.PIPE,
        )
        if options.remote_workers:
            console.print(
                f"master listening on {options.master_bind}:{port}; join with "
                f"`benchctl worker --master <this host>:{port}`"
            )
        workers = [
            _spawn(
                _engine_command(
                    "--role", "worker", "--master-host", connect_host, "--port", str(port)
                ),
                run_dir.path / f"worker-{i}.log",
                stdout=subprocess.DEVNULL,
            )
            for i in range(options.workers)
        ]
    else:
        main = _spawn(
            _engine_command("--role", "local", "--spec", spec_path, "--run-dir", str(run_dir.path)),
            run_dir.path / "engine.log",
            stdout=subprocess.PIPE,
        )
    processes = [main, *workers]

    first_signal_at: list[float] = []
    killed: list[bool] = []  # a later signal SIGKILLed the load processes

    def on_signal(_signum: int, _count: int) -> None:
        # In the signal handler: stop every load process now (workers stop sending at once;
        # the master collects their last records); a second signal kills them — unless it
        # came within DOUBLE_SIGNAL_S of the first (a double Ctrl-C, or one stop sent twice):
        # the engine is then still writing its last rows, which SIGKILL would lose.
        now = time.monotonic()
        if first_signal_at and now - first_signal_at[0] < DOUBLE_SIGNAL_S:
            return  # the same stop
        force = bool(first_signal_at)
        first_signal_at.append(now)
        if force:
            killed.append(True)
        for process in processes:
            signal_if_running(process, signal.SIGKILL if force else signal.SIGTERM)

    signals.defer(on_signal)
    events: queue.Queue[dict[str, Any] | None] = queue.Queue()
    threading.Thread(target=_read_events, args=(main, events), daemon=True).start()
    outcome = _Outcome()
    watch = _Watchdog(options.abort_after)
    stop_sent_at: float | None = None
    with LiveDisplay(console, title) as display:
        while True:
            problem = ""
            try:
                event = events.get(timeout=0.25)
                if event is None:
                    break
                problem = _handle(event, outcome, display, run_dir)
                if not problem and not stop_sent_at:
                    problem = watch.check(event, server, workers)
            except KeyboardInterrupt:  # run() used off the main thread: no StopSignals
                signals.received.append(signal.SIGINT)
                on_signal(signal.SIGINT, len(signals.received))
            except queue.Empty:
                problem = watch.check({}, server, workers) if not stop_sent_at else ""
            if signals.received:
                problem = signals.reason
                if killed:
                    display.note = "second signal: stopping now"
            if problem and stop_sent_at is None:
                outcome.reason = problem
                display.note = f"stopping: {problem} (records so far are kept)"
                stop_sent_at = time.monotonic()
                for process in processes:  # workers too: they stop within one event loop turn
                    signal_if_running(process, signal.SIGTERM)
            if stop_sent_at and time.monotonic() - stop_sent_at > STOP_WAIT_S:
                _kill_all(processes)
    main.wait()
    if main.returncode not in (0, 3):  # the master died: its workers must not go on sending
        for worker in workers:
            signal_if_running(worker, signal.SIGTERM)
    for worker in workers:
        try:
            worker.wait(timeout=10)
        except subprocess.TimeoutExpired:
            _kill_all([worker])
    for process in processes:
        lifetime.forget(process.pid)
    if signals.received and not outcome.reason:  # the engine died of it before saying so
        outcome.reason = signals.reason
    if outcome.write_error:
        outcome.status = FAILED
        outcome.reason = outcome.write_error
    elif not outcome.done:
        outcome.status = INTERRUPTED
        outcome.reason = (
            outcome.reason
            or f"engine exited with code {main.returncode} before "
            f"finishing; see {run_dir.path / 'engine.log'}"
        )
    elif outcome.reason:  # we stopped it: keep our reason over the engine's
        outcome.status = INTERRUPTED
    return outcome


class _Watchdog:
    """Decides when a run must stop early: dead target, dead worker, unreachable target."""

    def __init__(self, abort_after: float) -> None:
        self.abort_after = abort_after
        self._ok = -1
        self._ok_changed = time.monotonic()
        self._conn_at_ok_change = 0

    def check(self, event: dict[str, Any], server: Any, workers: list[subprocess.Popen]) -> str:
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


def _handle(event: dict[str, Any], outcome: _Outcome, display: LiveDisplay, run_dir: RunDir) -> str:
    """Fold one engine event into the outcome; a reason to stop the run, or ''."""
    kind = event.get("type")
    if kind == "started":
        outcome.t0 = event["t0"]
        try:  # recovery of a killed run needs the run's clock origin
            data = run_dir.read_json(RUN_JSON)
            run_dir.update_run(engine={**data["engine"], "t0": outcome.t0})
        except OSError as exc:
            outcome.write_error = _write_problem(exc, run_dir.path / RUN_JSON)
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


def _read_events(process: subprocess.Popen, events: queue.Queue) -> None:
    assert process.stdout is not None
    for line in process.stdout:
        try:
            events.put(json.loads(line))
        except json.JSONDecodeError:
            continue
    events.put(None)


def _kill_all(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        signal_if_running(process, signal.SIGKILL)


# --------------------------------------------------------------------------- finishing


def _finalize(
    run_dir: RunDir,
    plan: Plan,
    outcome: _Outcome,
    telemetry: TelemetrySession | None,
    console: Console,
) -> RunResult:
    """Merge the parts, write summary.json, telemetry and the final run.json.

    Raises OSError if the disk is full; the parts then stay on disk (see ``_mark_failed``).
    """
    try:
        rows = merge_parts(run_dir.path / PARTS, run_dir.path / REQUESTS)
    except OSError:
        with contextlib.suppress(OSError):  # give the half-merged copy's space back
            (run_dir.path / REQUESTS).with_suffix(".tmp").unlink(missing_ok=True)
        raise
    end = None if outcome.status == COMPLETED else outcome.last.get("elapsed", 0.0)
    end = batch_end(run_dir.path / REQUESTS, plan, end)  # a batch run ends with its set
    phases = [{"name": p.name, "start": p.start, "end": p.end} for p in plan.phases]
    summary = summarize(read_requests(run_dir.path / REQUESTS), phases, end=end)
    summary.update(model_summaries(run_dir.path / REQUESTS, phases, end=end))  # model mix
    summary.update(input_summary(run_dir.path / REQUESTS))  # payload pool: hot vs rest
    summary.update(split_summary(run_dir, phases, end=end))  # --split: per arm + verdicts
    # the generator's own send lag and wake-up mechanism (analysis/accuracy.py, issue 17)
    summary["generator_accuracy"] = accuracy_of_run(
        run_dir.path / REQUESTS, outcome.done.get("pacing")
    )
    run_dir.write_json(SUMMARY, {"schema_version": SCHEMA_VERSION, **summary})
    telemetry_info = None
    if telemetry is not None:
        if outcome.t0 is not None:
            telemetry.add_generator_cpu(outcome.t0, outcome.cpu)
        ran_for = plan.duration if end is None else end
        telemetry_info = telemetry.finish(run_dir.path, outcome.t0, ran_for)
        sent = _counts(outcome, rows)[0].get("sent")  # the generator's own counter
        if not split_self_check(run_dir, telemetry_info, console):  # --split: control arm
            telemetry.self_check(run_dir.path, telemetry_info, console, sent)
    if batch := batch_summary(run_dir.path):  # offline scoring: inferences/s, cost (batch.py)
        summary.update(batch)
        run_dir.write_json(SUMMARY, {"schema_version": SCHEMA_VERSION, **summary})
    generator = generator_flags(outcome.cpu)
    spent = outcome.done.get("cpu_seconds") or {}
    generator["cpu_seconds"] = spent
    total_cpu = sum(spent.values())
    generator["requests_per_cpu_second"] = rows / total_cpu if total_cpu else None
    generator.update(generator_section(summary["generator_accuracy"]))
    counts, clock = _counts(outcome, rows)
    if counts.get("sent_not_recorded"):
        outcome.status = INTERRUPTED if outcome.status == COMPLETED else outcome.status
        outcome.reason = "; ".join(filter(None, [outcome.reason, counts["incomplete"]]))
    if outcome.status == COMPLETED and (why := nothing_succeeded(run_dir.path / REQUESTS)):
        outcome.status, outcome.reason = FAILED, why  # success.py: not a success
    data = run_dir.read_json(RUN_JSON)
    run_dir.update_run(
        status=outcome.status,
        reason=outcome.reason,
        engine={**data["engine"], "t0": outcome.t0, "ended_at": _now()},
        counts=counts,
        generator=generator,
        telemetry=telemetry_info,
        **clock,
    )
    if rows:
        console.print(summary_table(summary, title=f"{run_dir.name} ({outcome.status})"))
        console.print(accuracy_line(summary["generator_accuracy"]), highlight=False)
        print_split(console, summary)  # --split: arms side by side and the canary verdicts
    if generator["send_lag_warning"]:
        console.print(f"[yellow]warning: {generator['send_lag_warning']}[/]")
    for warning in clock.get("warnings", []):
        console.print(f"[yellow]warning: {warning}[/]")
    if generator["saturated"]:
        console.print(
            f"[red bold]generator_saturated[/]: a load process stayed above "
            f"{CPU_SATURATED:.0f}% CPU for {generator['saturated_seconds']}s: "
            "latencies include the generator's own delay; add --workers"
        )
    if outcome.status != COMPLETED:
        console.print(f"[yellow]run {outcome.status}: {outcome.reason}[/] ({rows:,} requests kept)")
    return RunResult(outcome.status, run_dir.path, summary, outcome.reason, generator)


def _counts(outcome: _Outcome, rows: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """run.json ``counts`` (sent, dropped, rows; per worker with --workers: what each worker
    said it sent in its last report vs the rows that reached the master) and the ``clock``
    section (each worker's measured offset to the master and any warning)."""
    done = outcome.done
    counts: dict[str, Any] = {
        "sent": done.get("sent", outcome.last.get("sent")),
        "dropped": done.get("dropped", outcome.last.get("dropped")),
        "rows": rows,
    }
    unwritten = done.get("unwritten") or 0
    if unwritten:
        counts["unwritten"] = unwritten
    if not done and outcome.last:  # the engine died: what it had collected but not written
        seen = (outcome.last.get("sent") or 0) + (outcome.last.get("dropped") or 0)
        if seen > rows:
            counts["sent_not_recorded"] = seen - rows
            counts["incomplete"] = (
                f"incomplete: at least {seen - rows} requests were sent but not recorded "
                "(the engine died holding them; from its last progress report)"
            )
    per_worker = done.get("per_worker") or {}
    if per_worker:
        counts["workers"] = per_worker
        missing = {name: w["sent_not_recorded"] for name, w in per_worker.items()}
        lost = sum(missing.values())
        counts["sent_not_recorded"] = lost
        if lost:
            counts["sent"] = (counts["sent"] or 0) + lost
            counts["incomplete"] = (
                f"incomplete: at least {lost} requests were sent but not recorded ("
                + ", ".join(f"{n}: {m}" for n, m in missing.items() if m)
                + "; from each worker's own counter in its last report)"
            )
    clock: dict[str, Any] = {}
    if done.get("clock"):
        clock["clock"] = done["clock"]
        warnings = [w for info in done["clock"].values() for w in info.get("warnings", [])]
        if warnings:
            clock["warnings"] = warnings
    return counts, clock


def generator_flags(samples: list[tuple[float, str, float]]) -> dict[str, Any]:
    """Saturated when one load process stays above 80% CPU for 5+ seconds in a row."""
    longest: dict[str, int] = {}
    streak: dict[str, int] = {}
    for _, name, value in samples:
        streak[name] = streak.get(name, 0) + 1 if value > CPU_SATURATED else 0
        longest[name] = max(longest.get(name, 0), streak[name])
    worst = max(longest.values(), default=0)
    return {
        "saturated": worst >= SATURATED_FOR_S,
        "saturated_seconds": worst,
        "cpu_max": max((value for _, _, value in samples), default=None),
        "threshold": CPU_SATURATED,
        "processes": sorted(longest),
    }


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
