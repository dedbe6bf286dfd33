"""Capacity search, driving it: the run directory, the target, and levels one after
another until the search has its answer (or runs out of time)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
from rich.console import Console

from benchctl import facts, lifetime
from benchctl.analysis.slo import Slo
from benchctl.config import CapacityScenario, TargetSpec
from benchctl.errors import BenchctlError, InputError
from benchctl.lifetime import Guard
from benchctl.plan.shapes import WARMUP, iter_arrivals, plan_to_json
from benchctl.reports.terminal.search import print_level, print_search_directory, print_search_plan
from benchctl.run_setup import engine_spec, launcher_for, now_iso, public_target
from benchctl.run_setup import launch as launch_server
from benchctl.rundir import (
    COMPLETED,
    ENGINE_SPEC,
    FAILED,
    INTERRUPTED,
    PARTS,
    REQUESTS,
    RUN_JSON,
    RunDir,
    read_table,
    write_atomic,
)
from benchctl.rundir.parts import PartWriter, merge_parts
from benchctl.rundir.requests import SCHEMA
from benchctl.search.judging import (
    FLUSH_LAG_S,
    LevelVerdict,
    interrupted_verdict,
    judge,
    window_length,
)
from benchctl.search.level_engine import LevelEngine, PartReader, terminate
from benchctl.search.levels import LevelRecord, level_phases, level_plan, next_rate
from benchctl.search.results import SearchRecords, SearchResult, finish_search
from benchctl.stop_signals import StopSignals
from benchctl.targets import secrets
from benchctl.targets.adapter import adapter_for

LEVELS_DIR = "levels"
FLUSH_SECONDS = 1.0  # asked of the engine: write record parts this often


def run_search(
    scenario: CapacityScenario,
    scenario_name: str,
    target: TargetSpec,
    target_name: str,
    slo: Slo,
    *,
    runs_dir: Path,
    launch: bool,
    workers: int = 0,
    telemetry_options: Any = None,
    command: tuple[str, ...] = (),
    console: Console | None = None,
) -> SearchResult:
    """Run a capacity search against ``target`` into a new run directory.

    Launches the target first when ``launch`` (a server of the target's kind on loopback).
    Raises InputError for bad options; returns how it ended otherwise (the run directory is
    complete and readable whatever happens, status ``interrupted`` on Ctrl-C).
    """
    console = console or Console()
    if workers < 0:
        raise InputError("--workers must be >= 0")
    secrets.resolve_headers(target.headers)  # a missing ${VAR}: refused before any launch
    if launch:
        launcher_for(target)
    else:
        adapter_for(target.protocol).check_ready(target, f"target {target_name!r}")
    with StopSignals() as signals:  # Ctrl-C, SIGTERM, SIGHUP: raise Stopped, finish the run
        run_dir = RunDir.create(runs_dir, scenario_name, target_name)
        guard = Guard.start(run_dir.path)  # kills what is left if this process is killed
        try:
            record = _search_record(
                run_dir, guard, scenario, scenario_name, target, target_name, slo, workers, command
            )
            run_dir.write_json(RUN_JSON, record)
            searcher = Searcher(scenario, slo, run_dir, workers, console)
            options = telemetry_options
            return _search_in(run_dir, guard, signals, searcher, target, launch, options)
        finally:
            guard.close()


def search_dry_run(scenario: CapacityScenario, console: Console) -> None:
    """Print what a search would do, without sending anything."""
    print_search_plan(console, scenario)


def _search_record(
    run_dir: RunDir,
    guard: Guard,
    scenario: CapacityScenario,
    scenario_name: str,
    target: TargetSpec,
    target_name: str,
    slo: Slo,
    workers: int,
    command: tuple[str, ...],
) -> dict[str, Any]:
    """The search's first run.json (status running)."""
    return {
        "schema_version": 1,
        "id": run_dir.name,
        "status": "running",
        "reason": "",
        "command": secrets.redact_command(command, target.safe_headers),
        "owner": {**lifetime.owner_record(), "watchdog": guard.watchdog},
        "scenario": {
            "name": scenario_name,
            "time_scale": 1.0,
            "spec": scenario.model_dump(mode="json"),
        },
        "target": {"name": target_name, "spec": public_target(target), "launched": None},
        "plan": {"duration": 0.0, "expected_requests": None, "open_loop": True, "phases": []},
        "engine": {"workers": workers, "remote_workers": 0, "started_at": now_iso()},
        "search": {"slo": str(slo), "status": "running"},
        "versions": facts.versions(),
        "host": facts.host(),
    }


def _search_in(
    run_dir: RunDir,
    guard: Guard,
    signals: StopSignals,
    searcher: Searcher,
    target: TargetSpec,
    launch_target: bool,
    telemetry_options: Any,
) -> SearchResult:
    """Launch the target if asked, start telemetry, run the levels; then stop everything
    and write the result whatever happened. Re-raises a BenchctlError (after writing)."""
    from benchctl.telemetry.session import TelemetryOptions, start_telemetry

    server = telemetry = failure = None
    status, reason = COMPLETED, ""
    try:
        # printed here, where a stop (Ctrl-C, or a closed stdout: `| head`) finishes the run
        print_search_directory(searcher.console, run_dir.path, searcher.slo)
        if launch_target:
            server, target = _launch(run_dir, target, searcher.console)
        spec = engine_spec(
            searcher.scenario, target, level_plan(searcher.scenario, 1.0, 0, "probe")
        )
        telemetry = start_telemetry(
            telemetry_options or TelemetryOptions(),
            run_dir.path,
            server_kind=target.kind,
            server_pid=server.pid if server is not None else None,
            metrics_url=target.metrics_url,
        )
        searcher.server = server
        searcher.models = tuple(share.name for share in target.models)  # a mix: pooled
        searcher.loop(spec)
        reason = searcher.stop_reason
    except KeyboardInterrupt as exc:  # Ctrl-C, or Stopped (SIGTERM, SIGHUP)
        status, reason = INTERRUPTED, str(exc) or "interrupted by user (Ctrl-C)"
    except BenchctlError as exc:
        status, reason, failure = FAILED, str(exc), exc
    finally:
        signals.defer()  # from here on a signal only notes itself: finishing comes first
        searcher.stop_engine()
        if telemetry is not None:
            telemetry.monitor.stop()
        if server is not None:
            server.stop()
            lifetime.forget(server.pid)
        guard.reap()
    if searcher.interrupted and status == COMPLETED:
        status, reason = INTERRUPTED, searcher.stop_reason
    settings = searcher.scenario.model_dump(mode="json")
    levels, records = searcher.levels, searcher.records
    result = finish_search(
        run_dir, settings, levels, records, telemetry, (status, reason), searcher.slo
    )
    if failure is not None:
        raise failure
    return result


def _launch(run_dir: RunDir, target: TargetSpec, console: Console) -> tuple[Any, TargetSpec]:
    """Launch the target's server, note it in run.json and check it answers."""
    server, target = launch_server(target, run_dir, console)
    launched = {"kind": server.kind, "pid": server.pid, "log": str(server.log_path)}
    info = run_dir.read_json(RUN_JSON)
    run_dir.update_run(
        target={**info["target"], "spec": public_target(target), "launched": launched}
    )
    adapter_for(target.protocol).check_ready(target, f"launched {target.kind}")
    return server, target


class Searcher:
    """Runs levels one after another and keeps what each measured: ``levels`` (in order)
    and ``records`` (the run-wide phases, curve, CPU samples and counters)."""

    def __init__(
        self, scenario: CapacityScenario, slo: Slo, run_dir: RunDir, workers: int, console: Console
    ) -> None:
        self.scenario, self.slo, self.run_dir = scenario, slo, run_dir
        self.workers, self.console = workers, console
        self.levels: list[LevelRecord] = []
        self.records = SearchRecords()
        self.stop_reason = ""
        self.interrupted = False
        self.server: Any = None
        self.models: tuple[str, ...] = ()  # a model mix's names: its levels judge them pooled
        self._processes: list[Any] = []
        self._writer = PartWriter(run_dir.path / PARTS)
        self._names: list[str] = [WARMUP]
        self._last_in_flight = 0

    def loop(self, spec: dict[str, Any]) -> None:
        """Levels until ``next_rate`` stops, ``max_duration`` leaves too little time for
        another, or a stop signal (``interrupted``); ``stop_reason`` says which."""
        s = self.scenario
        started = time.monotonic()
        while True:
            rate, why = next_rate([(lv.offered_rps, lv.verdict.good) for lv in self.levels], s)
            if rate is None:
                self.stop_reason = why
                return
            left = s.max_duration - (time.monotonic() - started)
            needed = s.settle + window_length(rate, s, self.slo.quantile) * s.stable_windows
            if left < needed:
                self.stop_reason = f"max_duration {s.max_duration:g}s reached"
                return
            index = len(self.levels)
            hold = min(s.max_hold, left - s.settle - FLUSH_LAG_S)
            self._run_level(spec, rate, index, hold)
            if self.interrupted:
                return
            if hold < s.max_hold and not self.levels[-1].verdict.stable:
                # cut short by max_duration before its windows agreed: no room for more
                self.stop_reason = f"max_duration {s.max_duration:g}s reached"
                return
            if not self.levels[-1].verdict.good:
                time.sleep(self._cooldown())

    def _cooldown(self) -> float:
        """After a broken level the server may still work through requests the generator
        gave up on: wait ``cooldown`` plus the backlog left in flight at the best rate
        served so far (at most max_hold)."""
        served = max((lv.verdict.achieved_rps for lv in self.levels), default=0.0)
        backlog = self._last_in_flight / served if served > 0 else 0.0
        return min(self.scenario.cooldown + backlog, self.scenario.max_hold)

    def _run_level(self, spec: dict[str, Any], rate: float, index: int, hold: float) -> None:
        """Run level ``index`` at ``rate`` req/s for at most ``hold`` s after settling;
        keep its verdict, its records and print its line."""
        s = self.scenario
        name = f"level{index + 1}@{rate:.4g}rps"
        folder = self.run_dir.path / LEVELS_DIR / f"{index + 1:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        plan = level_plan(s, rate, index, name)
        arrivals = np.concatenate([np.asarray(c) for c in iter_arrivals(plan)] or [np.array([])])
        level_spec = {**spec, "plan": plan_to_json(plan), "flush_seconds": FLUSH_SECONDS}
        write_atomic(folder / ENGINE_SPEC, json.dumps(level_spec), mode=0o600)
        engine = LevelEngine(folder, self.workers)
        self._processes = engine.processes
        t0 = engine.wait_started(self.server)
        if self.records.first_t0 is None:
            self.records.first_t0 = t0
        verdict, now = self._measure(engine, PartReader(folder / PARTS), arrivals, rate, t0, hold)
        decided = min(now, s.settle + hold + FLUSH_LAG_S) - FLUSH_LAG_S  # judge's horizon
        offset = t0 - self.records.first_t0
        level = LevelRecord(
            name,
            rate,
            verdict,
            offset,
            offset + s.settle,
            offset + max(decided, s.settle),
            max(decided - s.settle, 0.0),
        )
        self.levels.append(level)
        self._names.append(name)
        self._keep_records(folder, level, max(decided, s.settle))
        print_level(self.console, level, self.slo.column, self.models)

    def _measure(
        self,
        engine: LevelEngine,
        reader: PartReader,
        arrivals: np.ndarray,
        rate: float,
        t0: float,
        hold: float,
    ) -> tuple[LevelVerdict, float]:
        """Judge the level every half second until it is decided; (verdict, seconds since
        its start). A stop signal decides it at once (``interrupted``); the engine is
        stopped and its counts added either way. BenchctlError if the target died. The
        judge never sees past ``settle + hold`` (the level's phase ends there), and a
        ``hold`` under ``max_hold`` (max_duration's) is named when it decides the level."""
        s, offset = self.scenario, t0 - (self.records.first_t0 or t0)
        last = s.settle + hold + FLUSH_LAG_S
        why = "max_hold reached"
        if hold < s.max_hold:
            why = f"cut short by max_duration {s.max_duration:g}s"
        verdict: LevelVerdict | None = None
        now = 0.0
        try:
            while verdict is None:
                time.sleep(0.5)
                engine.drain_events(self.records.cpu, offset)
                now = time.time() - t0
                final = now >= last or engine.exited()
                verdict = judge(
                    reader.frame(),
                    arrivals,
                    rate,
                    min(now, last),
                    self.slo,
                    s,
                    final=final,
                    final_why=why,
                )
                if self.server is not None and not self.server.alive():
                    raise BenchctlError(f"the launched target exited; see {self.server.log_path}")
        except KeyboardInterrupt as exc:  # Ctrl-C, or Stopped (SIGTERM, SIGHUP)
            self.interrupted = True
            self.stop_reason = str(exc) or "interrupted by user (Ctrl-C)"
            partial = judge(reader.frame(), arrivals, rate, min(now, last), self.slo, s, final=True)
            assert partial is not None  # final=True always decides
            verdict = interrupted_verdict(partial, self.stop_reason)
        finally:
            self._last_in_flight = engine.in_flight  # before the engine cancels them
            engine.stop()
            self.records.sent += engine.sent
            self.records.dropped += engine.dropped
        assert verdict is not None
        return verdict, now

    def _keep_records(self, folder: Path, level: LevelRecord, cut: float) -> None:
        """Move the level's records into the run, on its clock, phase = the level for those
        sent in [settle, ``cut``) s of the level (what the judge saw), warmup otherwise."""
        merged = folder / REQUESTS
        merge_parts(folder / PARTS, merged)
        table = read_table(merged, schema=SCHEMA)
        offset = level.start
        t = table.column("t_intended").to_numpy() + 0.0
        inside = (t >= self.scenario.settle) & (t < cut)
        index = np.where(inside, len(self._names) - 1, 0).astype(np.int8)
        phase = pa.DictionaryArray.from_arrays(
            pa.array(index, pa.int8()), pa.array(self._names, pa.string())
        )
        columns = {name: table.column(name) for name in table.column_names}
        columns["t_intended"] = pa.array(t + offset, pa.float64())
        start = table.column("t_start").to_numpy(zero_copy_only=False)
        columns["t_start"] = pa.array(start + offset, pa.float64(), from_pandas=True)
        columns["phase"] = phase
        self._writer.write(
            pa.Table.from_arrays([columns[f.name].cast(f.type) for f in SCHEMA], schema=SCHEMA)
        )
        merged.unlink()
        self.records.phases += level_phases(level, offset + t.max() if t.size else None)
        self.records.curve += [
            (level.start, level.offered_rps),
            (level.decided_at, level.offered_rps),
        ]

    def stop_engine(self) -> None:
        """SIGKILL the running level's engine processes (finishing after a stop)."""
        terminate(self._processes)
