"""``benchctl run``: resolve the specs, launch and check the target, drive the engine
processes, show progress, and leave a complete run directory whatever happens.

The steps by job: ``run_setup`` (the target as run.json keeps it, a launched server, the
engine's spec), ``run_drive`` (the engine processes and their events), ``run_finish``
(requests.parquet, summary.json, telemetry and the final run.json), ``run_outcome`` (how
a run ended). This module ties them together.

The engine (Locust, gevent) runs in child processes; this module never imports it. Records
reach disk as Parquet parts while the run goes on, so Ctrl-C, a dying target or a crashing
worker still leaves everything measured, marked ``interrupted``.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

from benchctl import facts, lifetime
from benchctl.batch import run_sweep
from benchctl.batch_inputs import check_jsonl_set
from benchctl.config import BatchScenario, TargetSpec, load_scenario, load_target
from benchctl.engine_processes import check_master_port
from benchctl.errors import BenchctlError, InputError
from benchctl.lifetime import Guard, owner_record
from benchctl.plan.shapes import Plan, plan_scenario, rate_curve
from benchctl.reports.terminal.console import quiet_stdout
from benchctl.reports.terminal.plan_facts import plan_facts
from benchctl.reports.terminal.run_progress import (
    print_plan_note,
    print_run_directory,
    print_telemetry_note,
)
from benchctl.reports.terminal.run_summary import print_plan
from benchctl.run_drive import drive
from benchctl.run_finish import closed_while_finishing, finalize, generator_flags, mark_failed
from benchctl.run_outcome import Outcome, RunResult, WriteFailed, write_problem
from benchctl.run_setup import engine_spec, launch, launcher_for, now_iso, public_target
from benchctl.rundir import (
    ENGINE_SPEC,
    FAILED,
    INTERRUPTED,
    RUN_JSON,
    RUNNING,
    SCHEMA_VERSION,
    RunDir,
)
from benchctl.split_run import (
    check_arms,
    split_arms,
    split_engine_spec,
    start_arms,
    stop_arm_servers,
)
from benchctl.split_telemetry import add_arm_samplers
from benchctl.splits import public_arms
from benchctl.stop_signals import CLOSED_STDOUT, Stopped, StopSignals
from benchctl.targets import secrets
from benchctl.targets.adapter import adapter_for
from benchctl.telemetry.session import TelemetryOptions, TelemetrySession, start_telemetry

# older names, kept for their importers (split_run, tests)
_public_target = public_target
__all__ = [
    "RunOptions",
    "RunResult",
    "WriteFailed",
    "generator_flags",
    "print_plan",
    "run",
]


@dataclass(frozen=True)
class RunOptions:
    """Everything ``run`` needs: which scenario (name or YAML path) against which target,
    their overrides, how many load processes, where the run goes, and what to check and
    sample. Durations in seconds, rates in req/s."""

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
    worker_wait: float = 60.0  # s for --remote-workers to join, then the run fails
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


def run(options: RunOptions, *, console: Console | None = None) -> RunResult:
    """Run one scenario against one target; returns how it ended and where it is.

    A batch scenario with several settings is a sweep (one run per setting, ``batch.py``);
    ``dry_run`` prints the plan and returns status ``planned``. Raises InputError for bad
    options or a target that is not ready (before any run directory exists), WriteFailed
    when the run directory cannot be written, and after finishing the run directory, the
    BenchctlError that stopped the run (a bug's exception surfaces likewise)."""
    console = console or Console()
    scenario, scenario_file = options.load_scenario()
    target, target_file = load_target(
        options.target, config_dir=options.config_dir, overrides=options.target_overrides
    )
    if options.split and options.users is None and getattr(scenario, "users", None):
        options = dataclasses.replace(options, users=scenario.users)  # the scenario's users:
    arms = split_arms(options, target, target_file)  # --split: every arm's target, or []
    if arms and isinstance(scenario, BatchScenario):  # before anything is launched
        raise InputError(
            f"--{'shadow' if options.shadow else 'split'}: a batch scenario sends a finite "
            "input set once, as fast as the server allows; split an open-loop scenario "
            "(steady, step, spike, ...) instead, or run the batch once per target"
        )
    if isinstance(scenario, BatchScenario):
        check_jsonl_set(scenario, target)  # a .jsonl set is one body a line (batch_inputs.py)
    sweep = isinstance(scenario, BatchScenario) and len(scenario.settings()) > 1
    if sweep and not options.dry_run:
        return run_sweep(options, scenario, console)  # one run per setting (batch.py)
    plan = plan_scenario(scenario, options.time_scale)
    check_plan(options, target, plan, console)  # the same with --dry-run
    for note in plan.notes:  # e.g. a warm-up shortened so it eats no level
        print_plan_note(console, note)
    if options.workers < 0 or options.remote_workers < 0:
        raise InputError("--workers and --remote-workers must be >= 0")
    check_master_port(options.master_bind, options.master_port, workers=options.workers,
                      remote_workers=options.remote_workers)  # fmt: skip
    if options.dry_run:
        if sweep:  # every setting, one run each (batch.run_sweep)
            from benchctl.reports.terminal.batch import print_sweep_plan

            name, description = scenario_file.stem, scenario.description
            print_sweep_plan(console, name, description, scenario, options.time_scale)
        else:
            effective = plan_facts(scenario, plan, options.time_scale)  # not the file's text
            print_plan(console, plan, scenario_file.stem, scenario.description, effective)
        return RunResult(status="planned")
    _check_target(options, target, target_file.stem, arms)
    names = (scenario_file, target_file)
    # Signals are only noted until the run directory and its watchdog exist (arm()).
    with StopSignals(raising=False) as signals:
        session = _Session.start(options, scenario, names, target, arms, plan, console)
        session.load(signals, scenario, plan, title=f"{scenario_file.stem} → {target_file.stem}")
        result = session.finish(plan)
    return session.result(result)


def check_plan(options: RunOptions, target: TargetSpec, plan: Plan, console: Console) -> None:
    """What ``--dry-run`` checks as the run does (trial 5, finding 11): a plan of under one
    request is refused, a target that cannot be launched with ``--launch`` is refused, and
    a peak rate past what the load processes send is a warning (plan/checks.py). Raises
    InputError (exit 2) for the refusals."""
    from benchctl.plan.checks import rate_warning, too_few_requests
    from benchctl.reports.terminal.run_progress import print_plan_warning

    too_few_requests(plan, options.rate, options.duration)
    if options.launch:
        launcher_for(target)  # the real run's refusal of an unlaunchable kind
    if warning := rate_warning(plan, options.workers, options.remote_workers):
        print_plan_warning(console, warning)


def _check_target(options: RunOptions, target: TargetSpec, name: str, arms: list[Any]) -> None:
    """Before any run directory: the target (and every arm) launchable, or ready; with
    ``--no-preflight`` a payload file is needed; every header's ``${VAR}`` set and its value
    valid. Raises InputError otherwise."""
    for spec in [target, *(arm.target for arm in arms)]:  # nothing launched for a bad header
        secrets.resolve_headers(spec.headers)
    if options.launch:
        launcher_for(target)  # refuse an unlaunchable kind before making a run directory
    elif options.preflight:
        adapter_for(target.protocol).check_ready(target, f"target {name!r}")
    elif target.payload.source != "file":
        raise InputError(
            "--no-preflight cannot read the model's metadata: give the payload as "
            "a file (--target-set payload.source=file --target-set payload.file=...)"
        )
    check_arms(arms, options, launcher_for)  # the other arms: launchable, or ready


def _create_run_dir(base: Path, scenario: str, target: str) -> RunDir:
    try:
        return RunDir.create(base, scenario, target)
    except OSError as exc:
        raise WriteFailed(write_problem(exc, base), exit_code=2) from None


def _run_record(
    options: RunOptions,
    run_dir: RunDir,
    guard: Guard,
    scenario: Any,
    names: tuple[Path, Path],
    target: TargetSpec,
    plan: Plan,
) -> dict[str, Any]:
    """The run's first run.json (status running): command (secrets redacted), owner,
    scenario, target, plan, engine, versions and host."""
    scenario_file, target_file = names
    return {
        "schema_version": SCHEMA_VERSION,
        "id": run_dir.name,
        "status": RUNNING,
        "reason": "",
        "command": secrets.redact_command(options.command, target.safe_headers),
        # Who finishes this run: a later `benchctl runs` recovers it once both are gone.
        "owner": {**owner_record(), "watchdog": guard.watchdog},
        "scenario": {
            "name": scenario_file.stem,
            "file": str(scenario_file.resolve()),  # absolute: run.json is read from anywhere
            "time_scale": options.time_scale,
            "spec": scenario.model_dump(mode="json"),
        },
        "target": {
            "name": target_file.stem,
            "file": str(target_file.resolve()),
            "spec": public_target(target),
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
            "started_at": now_iso(),
        },
        "versions": facts.versions(),
        "host": facts.host(),
    }


class _Session:
    """One run from its directory on: load, stop everything, finish; errors are kept
    (``failure``: a BenchctlError to raise; ``crash``: a bug's exception) until the run
    directory says how the run ended."""

    def __init__(
        self,
        options: RunOptions,
        run_dir: RunDir,
        guard: Guard,
        target: TargetSpec,
        arms: list[Any],
        console: Console,
    ) -> None:
        self.options, self.run_dir, self.guard = options, run_dir, guard
        self.target, self.arms, self.console = target, arms, console
        self.server: Any = None
        self.arm_servers: list[Any] = []  # the other arms' launched servers (--split --launch)
        self.telemetry: TelemetrySession | None = None
        self.outcome = Outcome()
        self.failure: BenchctlError | None = None
        self.crash: Exception | None = None

    @classmethod
    def start(
        cls,
        options: RunOptions,
        scenario: Any,
        names: tuple[Path, Path],
        target: TargetSpec,
        arms: list[Any],
        plan: Plan,
        console: Console,
    ) -> _Session:
        """Make the run directory, its watchdog and its first run.json. Raises WriteFailed
        (exit 2; nothing is left behind) when they cannot be written."""
        run_dir = _create_run_dir(options.runs_dir, names[0].stem, names[1].stem)
        guard = Guard.start(run_dir.path)
        record = _run_record(options, run_dir, guard, scenario, names, target, plan)
        if arms:
            record["arms"] = public_arms(arms, options.users, public_target, options.shadow)
        try:
            run_dir.write_json(RUN_JSON, record)
        except (OSError, BenchctlError) as exc:
            guard.close()
            shutil.rmtree(run_dir.path, ignore_errors=True)
            if isinstance(exc, OSError):
                raise WriteFailed(
                    write_problem(exc, run_dir.path / RUN_JSON), exit_code=2
                ) from None
            raise
        print_run_directory(console, run_dir.path)
        return cls(options, run_dir, guard, target, arms, console)

    def load(self, signals: StopSignals, scenario: Any, plan: Plan, *, title: str) -> None:
        """Launch what was asked, write the engine's spec, start telemetry and drive the
        load; then stop the servers and telemetry whatever happened."""
        run_dir, failed = self.run_dir, None
        try:
            signals.arm()  # a signal before this point is acted on now
            self._launch()
            spec = engine_spec(scenario, self.target, plan)
            if self.arms:  # one wire request per arm (its own server and protocol)
                spec["arms"] = split_engine_spec(self.arms, self.options, scenario, run_dir)
            run_dir.write_text(ENGINE_SPEC, json.dumps(spec), mode=0o600)
            self._start_telemetry()
            self.outcome = drive(
                self.options, run_dir, self.server, self.console, title=title, signals=signals
            )
        except Stopped as exc:
            self.outcome = Outcome(status=INTERRUPTED, reason=f"{exc} before the load started")
        except BrokenPipeError:  # stdout closed (`| head`): a stop, never a disk error
            quiet_stdout()  # nothing more reaches the closed pipe
            self.outcome = Outcome(status=INTERRUPTED, reason=CLOSED_STDOUT)
        except BenchctlError as exc:
            self.failure, failed = exc, str(exc)
        except OSError as exc:
            self.failure = WriteFailed(write_problem(exc, run_dir.path))
            failed = str(self.failure)
        except Exception as exc:  # a bug: finish the run directory, then let it surface
            self.crash, failed = exc, f"internal error: {type(exc).__name__}"
        finally:
            signals.defer()  # from here on a signal only notes itself: finishing comes first
            self._stop()
        if failed is not None:
            self.outcome = Outcome(status=FAILED, reason=failed)

    def _launch(self) -> None:
        """--launch: start the server, note it in run.json, check it answers; --split: the
        other arms' servers too."""
        if self.options.launch:
            self.server, self.target = launch(self.target, self.run_dir, self.console)
            server = self.server
            shown = ("kind", "pid", "http_url", "grpc_address")
            launched = {k: getattr(server, k) for k in shown} | {"log": str(server.log_path)}
            info = self.run_dir.read_json(RUN_JSON)
            self.run_dir.update_run(
                target={**info["target"], "spec": public_target(self.target), "launched": launched}
            )
            adapter_for(self.target.protocol).check_ready(
                self.target, f"launched {self.target.kind}"
            )
        if self.arms:
            self.arms = start_arms(
                self.arms, self.target, self.options, self.arm_servers, self.run_dir,
                self.console, launch,
            )  # fmt: skip

    def _start_telemetry(self) -> None:
        options, server = self.options, self.server
        self.telemetry = start_telemetry(
            options.telemetry,
            self.run_dir.path,
            server_kind=self.target.kind,
            server_pid=server.pid if server is not None else None,
            metrics_url=self.target.metrics_url,
        )
        add_arm_samplers(self.telemetry, self.arms, options.telemetry)  # --split: each arm
        for note in self.telemetry.notes:
            print_telemetry_note(self.console, note)

    def _stop(self) -> None:
        """Stop telemetry (while the server still answers its last scrape), the servers,
        and anything half-started (a signal between spawn and registration)."""
        if self.telemetry is not None:
            try:
                self.telemetry.monitor.stop()
            except OSError as exc:
                self.failure = self.failure or WriteFailed(write_problem(exc, self.run_dir.path))
        if self.server is not None:
            self.server.stop()
            lifetime.forget(self.server.pid)
        stop_arm_servers(self.arm_servers)
        self.guard.reap()

    def finish(self, plan: Plan) -> RunResult:
        """Write the run's files (``run_finish.finalize``); if that fails, mark the run
        failed in run.json (``mark_failed``) and keep the error."""
        outcome, run_dir = self.outcome, self.run_dir
        if self.failure is not None and outcome.status != FAILED:
            outcome.status, outcome.reason = FAILED, str(self.failure)
        try:
            return finalize(run_dir, plan, outcome, self.telemetry, self.console)
        except BrokenPipeError:  # stdout closed while the run's end was printed: not a disk
            quiet_stdout()  # error (run_finish.py)
            return closed_while_finishing(run_dir, outcome)
        except (OSError, BenchctlError) as exc:
            if isinstance(exc, OSError):
                exc = WriteFailed(write_problem(exc, run_dir.path))
            if outcome.write_error:  # the engine's error came first: name that file
                exc = WriteFailed(outcome.write_error)
            self.failure = self.failure or exc
            return mark_failed(run_dir, outcome, str(self.failure))
        except Exception as exc:  # a bug while finishing: the run still says how it ended
            self.crash = self.crash or exc
            return mark_failed(run_dir, outcome, f"internal error: {type(exc).__name__}")

    def result(self, result: RunResult) -> RunResult:
        """Close the watchdog; raise the kept error (a bug first), else return ``result``."""
        self.guard.close()
        if self.crash is not None:
            raise self.crash
        if self.failure is None and self.outcome.write_error:  # the engine's: one line
            self.failure = WriteFailed(self.outcome.write_error)
        if self.failure is not None:
            raise self.failure
        return result
