"""Capacity search: find one replica's capacity under an SLO by measuring, not by fitting.

Open-loop levels climb (doubling from ``start_rate``) until a level breaks the SLO, then
bisect between the last good and the first bad level until ``first_bad / last_good - 1 <=
resolution``. A level breaks when its SLO percentile, its error rate (errors + dropped) or
its achieved-vs-offered ratio is out of bounds. Each level is held until it is stable:
``stable_windows`` consecutive windows whose throughput agrees within ``tolerance``
(widened to 3/√n for Poisson noise) and whose percentile agrees within
``latency_tolerance`` (or lies clearly on one side of the SLO), holding at least
``2 / (1 - q)`` successes in all; never longer than ``max_hold``. A level that is plainly
broken (the share of requests over the SLO, counting requests still waiting longer than the
SLO, is significantly above ``1 - q``) is stopped at once.

Each level is one engine process (or a Locust master with ``--workers N`` local workers)
running a steady open-loop plan; levels are decided here, on the master side, from the
records the engine has flushed. The levels become phases of one run directory (the
``warmup`` phase marks each level's settle time and tail), so analysis reads them like step
levels; ``search.json`` keeps every level and its verdict.

Formulas: percentile by numpy's default (linear) definition, as in the summary; the
binomial test uses the normal approximation p̂ − 2·√(p̂(1−p̂)/n) > 1 − q.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import json
import math
import queue
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from rich.console import Console

from benchctl import facts
from benchctl.analysis.slo import Slo
from benchctl.analysis.summary import read_requests, summarize
from benchctl.config import CapacityScenario, SteadyScenario, TargetSpec
from benchctl.errors import BenchctlError, InputError
from benchctl.lifetime import Guard, signal_if_running
from benchctl.load.records import SCHEMA, PartWriter, merge_parts
from benchctl.load.shapes import WARMUP, Phase, Plan, iter_arrivals, plan_scenario, plan_to_json
from benchctl.stop_signals import StopSignals
from benchctl.store import (
    COMPLETED,
    FAILED,
    INTERRUPTED,
    PARTS,
    REQUESTS,
    RUN_JSON,
    RunDir,
    write_atomic,
)
from benchctl.targets.launch import free_port

SEARCH = "search.json"
LEVELS_DIR = "levels"
FLUSH_SECONDS = 1.0  # asked of the engine: write record parts this often
FLUSH_LAG_S = 2.5  # a window is judged once its end is this far in the past
STOP_WAIT_S = 15.0
MIN_RATE_FACTOR = 64  # never search below start_rate / 64


# --------------------------------------------------------------------------- verdicts


@dataclass(frozen=True)
class LevelVerdict:
    """What one level measured and whether it met the SLO (``good``)."""

    good: bool
    stable: bool
    reason: str
    achieved_rps: float
    latency_ms: float | None  # the SLO percentile of successes in the judged windows
    samples: int  # successes in the judged windows
    error_rate: float
    ratio: float  # successes / scheduled arrivals in the judged windows
    overloaded: bool
    arrived_rps: float = 0.0  # scheduled arrivals per second in the judged windows


def window_length(rate: float, s: CapacityScenario, quantile: float = 0.99) -> float:
    """Seconds per stability window: at least ``window``, and long enough for the
    ``stable_windows`` windows together to expect ``2 / (1 - q)`` successes (and each
    ``window_samples``), but short enough for ``stable_windows`` + 1 windows to fit in
    ``max_hold``."""
    needed = max(s.window_samples, math.ceil(2 / (1 - quantile)) / s.stable_windows)
    return max(s.window, min(needed / rate, s.max_hold / (s.stable_windows + 1)))


def judge(
    frame: pd.DataFrame,
    arrivals: np.ndarray,
    rate: float,
    now: float,
    slo: Slo,
    s: CapacityScenario,
    *,
    final: bool = False,
) -> LevelVerdict | None:
    """The level's verdict from its records so far, or None while it is not yet decided.

    ``frame``: records of this level (t_intended, latency_ms, ok, error; seconds since the
    level's start). ``arrivals``: the level's scheduled intended times. ``now``: seconds
    since the level's start. ``final``: decide now (``max_hold`` reached) from all windows.
    """
    q, threshold = slo.quantile, slo.threshold_ms
    width = window_length(rate, s, q)
    horizon = now - FLUSH_LAG_S
    count = int((horizon - s.settle) // width)
    if count < 1:
        if not final or horizon <= s.settle:
            return _final_without_windows() if final else None
        width, count = horizon - s.settle, 1  # judge what there is
    edges = s.settle + width * np.arange(count + 1)
    measured = frame[frame["t_intended"] >= s.settle]
    done = measured["t_intended"].to_numpy() + np.nan_to_num(
        measured["latency_ms"].to_numpy() / 1000.0, nan=0.0
    )
    ok = measured["ok"].to_numpy()
    latency = measured["latency_ms"].to_numpy()
    windows = []
    for start, end in itertools.pairwise(edges):
        inside = (done >= start) & (done < end)
        good = latency[inside & ok]
        windows.append(
            {
                "ok": int(good.size),
                "failed": int((inside & ~ok).sum()),
                "arrivals": int(((arrivals >= start) & (arrivals < end)).sum()),
                "latency": good,
            }
        )
    # Requests scheduled long enough ago to be past the SLO, still without a record: each
    # will miss the SLO whatever happens (a queue the server is not draining).
    recorded = np.sort(measured["t_intended"].to_numpy())
    old = horizon - threshold / 1000.0
    waiting = int(((arrivals >= s.settle) & (arrivals < old)).sum()) - int(
        np.searchsorted(recorded, old)
    )
    broken = _plainly_broken(windows, max(waiting, 0), q, threshold, s)
    if broken:
        return _verdict(windows, width, q, threshold, s, good=False, stable=True, reason=broken)
    recent = windows[-s.stable_windows :]
    enough = _pooled(windows)[1] >= math.ceil(2 / (1 - q))  # successes for the percentile
    if len(recent) >= s.stable_windows and enough:
        stable, _ = _agree(recent, width, q, threshold, s)
        if stable:
            verdict = _verdict(recent, width, q, threshold, s, good=True, stable=True, reason="")
            problem = _problem(verdict, threshold, s)
            if problem:  # stable, but on the wrong side of a bound
                return dataclasses.replace(verdict, good=False, reason=problem)
            return dataclasses.replace(verdict, reason="stable and within every bound")
    if final:
        verdict = _verdict(windows, width, q, threshold, s, good=True, stable=False, reason="")
        problem = _problem(verdict, threshold, s)
        reason = f"max_hold reached before the windows agreed; judged on all {len(windows)}"
        return dataclasses.replace(
            verdict, good=not problem, reason=f"{reason}: {problem or 'within every bound'}"
        )
    return None


def _final_without_windows() -> LevelVerdict:
    return LevelVerdict(False, False, "nothing measured before max_hold", 0, None, 0, 0, 0, True)


def _pooled(windows: list[dict[str, Any]]) -> tuple[np.ndarray, int, int, int]:
    latency = np.concatenate([w["latency"] for w in windows]) if windows else np.array([])
    return (
        latency,
        sum(w["ok"] for w in windows),
        sum(w["failed"] for w in windows),
        sum(w["arrivals"] for w in windows),
    )


def _tolerance(s: CapacityScenario, expected: int) -> float:
    """Throughput tolerance, never tighter than 3 Poisson standard deviations."""
    return max(s.tolerance, 3.0 / math.sqrt(max(expected, 1)))


def _plainly_broken(
    windows: list[dict[str, Any]], waiting: int, q: float, threshold: float, s: CapacityScenario
) -> str:
    latency, ok, failed, arrivals = _pooled(windows)
    over = int((latency > threshold).sum()) + waiting
    n = ok + waiting
    if n >= 20:
        share = over / n
        if share - 2.0 * math.sqrt(share * (1 - share) / n) > 1 - q:
            return (
                f"{share:.1%} of requests over {threshold:g} ms ({waiting} still waiting "
                f"past it) where at most {1 - q:.1%} may be"
            )
    total = ok + failed
    if total >= 20:
        rate = failed / total
        if rate - 2.0 * math.sqrt(rate * (1 - rate) / total) > s.max_error_rate:
            return f"error rate {rate:.1%} > {s.max_error_rate:.1%}"
    if len(windows) >= 2 and arrivals:
        ratio = ok / arrivals
        if ratio < 1 - 2 * _tolerance(s, arrivals):
            return f"achieved only {ratio:.0%} of the offered rate: the server cannot keep up"
    return ""


def _agree(
    recent: list[dict[str, Any]], width: float, q: float, threshold: float, s: CapacityScenario
) -> tuple[bool, str]:
    _, _, _, arrivals = _pooled(recent)
    rates = np.array([w["ok"] / width for w in recent])
    per_window = max(1, arrivals // len(recent))
    if rates.mean() <= 0 or np.ptp(rates) / rates.mean() > 2 * _tolerance(s, per_window):
        return False, "throughput still moving"
    marks = [  # nearest rank, as everywhere (benchctl.analysis.percentiles)
        np.percentile(w["latency"], q * 100, method="inverted_cdf")
        for w in recent
        if w["latency"].size
    ]
    if len(marks) < len(recent):
        return False, "a window without successes"
    marks_array = np.array(marks)
    close = np.ptp(marks_array) / max(marks_array.mean(), 1e-9) <= s.latency_tolerance
    # Windows agree on the verdict when they all lie on one side of the SLO: with few
    # samples per window a percentile is noisy, but which side it falls on is what counts.
    clear = bool(np.all(marks_array <= threshold) or np.all(marks_array > threshold))
    return (close or clear), "" if (close or clear) else "percentile still moving"


def _verdict(
    windows: list[dict[str, Any]],
    width: float,
    q: float,
    threshold: float,
    s: CapacityScenario,
    *,
    good: bool,
    stable: bool,
    reason: str,
) -> LevelVerdict:
    latency, ok, failed, arrivals = _pooled(windows)
    mark = float(np.percentile(latency, q * 100, method="inverted_cdf")) if latency.size else None
    ratio = ok / arrivals if arrivals else 0.0
    total = ok + failed
    return LevelVerdict(
        good=good,
        stable=stable,
        reason=reason,
        achieved_rps=ok / (width * len(windows)),
        latency_ms=mark,
        samples=ok,
        error_rate=failed / total if total else 0.0,
        ratio=ratio,
        overloaded=ratio < 1 - _tolerance(s, arrivals),
        arrived_rps=arrivals / (width * len(windows)),
    )


def _problem(verdict: LevelVerdict, threshold: float, s: CapacityScenario) -> str:
    if verdict.latency_ms is None:
        return "no successful request"
    if verdict.latency_ms > threshold:
        return f"percentile {verdict.latency_ms:.1f} ms > {threshold:g} ms"
    if verdict.error_rate > s.max_error_rate:
        return f"error rate {verdict.error_rate:.1%} > {s.max_error_rate:.1%}"
    if verdict.overloaded:
        return f"achieved {verdict.ratio:.0%} of the offered rate"
    return ""


# --------------------------------------------------------------------------- the search


@dataclass
class LevelRecord:
    """One level as search.json keeps it (times on the search run's clock)."""

    name: str
    offered_rps: float
    verdict: LevelVerdict
    start: float
    settle_end: float
    decided_at: float
    hold_s: float

    def to_json(self) -> dict[str, Any]:
        v = self.verdict
        return {
            "name": self.name,
            "offered_rps": self.offered_rps,
            "achieved_rps": v.achieved_rps,
            "latency_ms": v.latency_ms,
            "samples": v.samples,
            "error_rate": v.error_rate,
            "arrived_rps": v.arrived_rps,  # offered in the judged windows (Poisson draws)
            "achieved_over_offered": v.ratio,  # achieved_rps / arrived_rps
            "good": v.good,
            "stable": v.stable,
            "overloaded": v.overloaded,
            "reason": v.reason,
            "start": self.start,
            "measured_from": self.settle_end,
            "decided_at": self.decided_at,
            "hold_s": self.hold_s,
        }


def next_rate(levels: list[tuple[float, bool]], s: CapacityScenario) -> tuple[float | None, str]:
    """The next level's offered rate from (rate, good) so far, or (None, why it stops)."""
    if not levels:
        return min(s.start_rate, s.max_rate), "start"
    good = [rate for rate, ok in levels if ok]
    best = max(good) if good else None
    above = [rate for rate, ok in levels if not ok and (best is None or rate > best)]
    if not above:
        assert best is not None
        if best >= s.max_rate:
            return None, f"reached max_rate {s.max_rate:g} rps without breaking the SLO"
        return min(best * 2, s.max_rate), "climb"
    bad = min(above)
    if best is None:
        lower = bad / 2
        if lower < s.start_rate / MIN_RATE_FACTOR:
            return None, f"the SLO broke even at {bad:g} rps"
        return lower, "below the first level"
    if bad / best - 1 <= s.resolution:
        return None, f"resolution reached: {best:g}–{bad:g} rps"
    return (best + bad) / 2, "bisect"


@dataclass(frozen=True)
class SearchResult:
    status: str
    run_dir: Path
    levels: list[dict[str, Any]]
    stop_reason: str
    best_good_rps: float | None
    first_bad_rps: float | None


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
    from benchctl import run as runmod
    from benchctl.targets.adapter import adapter_for

    console = console or Console()
    if workers < 0:
        raise InputError("--workers must be >= 0")
    adapter = adapter_for(target.protocol)
    if launch:
        runmod._launcher(target)
    else:
        adapter.check_ready(target, f"target {target_name!r}")
    with StopSignals() as signals:  # Ctrl-C, SIGTERM, SIGHUP: raise Stopped, finish the run
        run_dir = RunDir.create(runs_dir, scenario_name, target_name)
        guard = Guard.start(run_dir.path)  # kills what is left if this process is killed
        try:
            return _search_in(
                run_dir, guard, signals, scenario, scenario_name, target, target_name, slo,
                launch=launch, workers=workers, telemetry_options=telemetry_options,
                command=command, console=console,
            )  # fmt: skip
        finally:
            guard.close()


def _search_in(
    run_dir: RunDir,
    guard: Any,
    signals: Any,
    scenario: CapacityScenario,
    scenario_name: str,
    target: TargetSpec,
    target_name: str,
    slo: Slo,
    *,
    launch: bool,
    workers: int,
    telemetry_options: Any,
    command: tuple[str, ...],
    console: Console,
) -> SearchResult:
    from benchctl import lifetime
    from benchctl import run as runmod
    from benchctl.targets import secrets
    from benchctl.targets.adapter import adapter_for
    from benchctl.telemetry.session import TelemetryOptions, start_telemetry

    adapter = adapter_for(target.protocol)
    record = {
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
        "target": {"name": target_name, "spec": runmod._public_target(target), "launched": None},
        "plan": {"duration": 0.0, "expected_requests": None, "open_loop": True, "phases": []},
        "engine": {"workers": workers, "remote_workers": 0, "started_at": runmod._now()},
        "search": {"slo": str(slo), "status": "running"},
        "versions": facts.versions(),
        "host": facts.host(),
    }
    run_dir.write_json(RUN_JSON, record)
    console.print(f"capacity search: [bold]{run_dir.path}[/] (SLO {slo})")
    server = None
    telemetry = None
    searcher = _Searcher(scenario, slo, run_dir, workers, console)
    status, reason = COMPLETED, ""
    failure: BenchctlError | None = None
    try:
        if launch:
            server, target = runmod._launch(target, run_dir, console)
            run_dir.update_run(
                target={
                    **record["target"],
                    "spec": runmod._public_target(target),
                    "launched": {
                        "kind": server.kind,
                        "pid": server.pid,
                        "log": str(server.log_path),
                    },
                }
            )
            adapter.check_ready(target, f"launched {target.kind}")
        base_plan = _level_plan(scenario, 1.0, 0, "probe")
        spec = runmod._engine_spec(scenario, target, base_plan)
        telemetry = start_telemetry(
            telemetry_options or TelemetryOptions(),
            run_dir.path,
            server_kind=target.kind,
            server_pid=server.pid if server is not None else None,
            metrics_url=target.metrics_url,
        )
        searcher.server = server
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
    result = _finish(run_dir, searcher, telemetry, status, reason, slo)
    if failure is not None:
        raise failure
    return result


def _level_plan(scenario: CapacityScenario, rate: float, index: int, name: str) -> Plan:
    duration = scenario.settle + scenario.max_hold + FLUSH_LAG_S + 1.0
    steady = SteadyScenario(
        kind="steady",
        rate=rate,
        duration=duration,
        arrivals=scenario.arrivals,
        seed=scenario.seed + index,
        drop_after=scenario.drop_after,
        max_in_flight=scenario.max_in_flight,
    )
    plan = plan_scenario(steady)
    return dataclasses.replace(plan, phases=(Phase(name, 0.0, duration),))


class _Searcher:
    """Runs levels one after another and keeps what each measured."""

    def __init__(
        self, scenario: CapacityScenario, slo: Slo, run_dir: RunDir, workers: int, console: Console
    ) -> None:
        self.scenario, self.slo, self.run_dir = scenario, slo, run_dir
        self.workers, self.console = workers, console
        self.levels: list[LevelRecord] = []
        self.first_t0: float | None = None
        self.cpu: list[tuple[float, str, float]] = []
        self.stop_reason = ""
        self.interrupted = False
        self.server: Any = None
        self._processes: list[subprocess.Popen] = []
        self._writer = PartWriter(run_dir.path / PARTS)
        self._names: list[str] = [WARMUP]
        self._phases: list[dict[str, Any]] = []
        self._curve: list[tuple[float, float]] = []
        self._sent = self._dropped = 0
        self._last_in_flight = 0

    # -- the loop
    def loop(self, spec: dict[str, Any]) -> None:
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
            self._run_level(spec, rate, index, min(s.max_hold, left - s.settle - FLUSH_LAG_S))
            if self.interrupted:
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
        s = self.scenario
        name = f"level{index + 1}@{rate:.4g}rps"
        folder = self.run_dir.path / LEVELS_DIR / f"{index + 1:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        plan = _level_plan(s, rate, index, name)
        arrivals = np.concatenate([np.asarray(c) for c in iter_arrivals(plan)] or [np.array([])])
        level_spec = {**spec, "plan": plan_to_json(plan), "flush_seconds": FLUSH_SECONDS}
        write_atomic(folder / "engine-spec.json", json.dumps(level_spec), mode=0o600)
        engine = _LevelEngine(folder, self.workers)
        self._processes = engine.processes
        t0 = engine.wait_started(self.server)
        if self.first_t0 is None:
            self.first_t0 = t0
        reader = _PartReader(folder / PARTS)
        verdict: LevelVerdict | None = None
        now = 0.0
        try:
            while verdict is None:
                time.sleep(0.5)
                engine.drain_events(self.cpu, t0 - self.first_t0)
                now = time.time() - t0
                final = now >= s.settle + hold + FLUSH_LAG_S or engine.exited()
                verdict = judge(reader.frame(), arrivals, rate, now, self.slo, s, final=final)
                if self.server is not None and not self.server.alive():
                    raise BenchctlError(f"the launched target exited; see {self.server.log_path}")
        except KeyboardInterrupt as exc:  # Ctrl-C, or Stopped (SIGTERM, SIGHUP)
            self.interrupted = True
            self.stop_reason = str(exc) or "interrupted by user (Ctrl-C)"
            verdict = judge(reader.frame(), arrivals, rate, now, self.slo, s, final=True)
        finally:
            self._last_in_flight = engine.in_flight  # before the engine cancels them
            engine.stop()
            self._sent += engine.sent
            self._dropped += engine.dropped
        assert verdict is not None
        decided = min(now, s.settle + hold + FLUSH_LAG_S) - FLUSH_LAG_S
        offset = t0 - self.first_t0
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
        self._keep_records(folder, level)
        mark = "—" if verdict.latency_ms is None else f"{verdict.latency_ms:,.1f} ms"
        colour = "green" if verdict.good else "red"
        self.console.print(
            f"  {name}: {self.slo.column} {mark}, achieved {verdict.achieved_rps:,.1f} rps "
            f"of {verdict.arrived_rps:,.1f} rps arriving in the same windows "
            f"({verdict.ratio:.0%}), errors {verdict.error_rate:.1%}: "
            f"[{colour}]{'good' if verdict.good else 'broke the SLO'}[/] "
            f"after {level.hold_s:.0f}s ({verdict.reason})",
            highlight=False,
        )

    def _keep_records(self, folder: Path, level: LevelRecord) -> None:
        """Move the level's records into the run, on its clock, phase = level or warmup."""
        merged = folder / REQUESTS
        merge_parts(folder / PARTS, merged)
        table = pq.read_table(merged, schema=SCHEMA)
        offset = level.start
        t = table.column("t_intended").to_numpy() + 0.0
        inside = (t >= self.scenario.settle) & (t < level.decided_at - offset)
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
        self._phases += [
            {"name": WARMUP, "start": level.start, "end": level.settle_end},
            {"name": level.name, "start": level.settle_end, "end": level.decided_at},
        ]
        self._curve += [(level.start, level.offered_rps), (level.decided_at, level.offered_rps)]

    def stop_engine(self) -> None:
        _terminate(self._processes)


# --------------------------------------------------------------------------- engines


class _LevelEngine:
    """One level's engine: a local engine process, or a master with local workers."""

    def __init__(self, folder: Path, workers: int) -> None:
        spec = str(folder / "engine-spec.json")
        base = [sys.executable, "-m", "benchctl.load.engine"]
        self.events: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.sent = self.dropped = self.in_flight = 0
        self.done = False
        if workers:
            port = free_port()
            self.main = _spawn(
                [
                    *base,
                    "--role",
                    "master",
                    "--spec",
                    spec,
                    "--run-dir",
                    str(folder),
                    "--bind-host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--expect-workers",
                    str(workers),
                ],
                folder / "engine.log",
            )
            self.workers = [
                _spawn(
                    [*base, "--role", "worker", "--master-host", "127.0.0.1", "--port", str(port)],
                    folder / f"worker-{i}.log",
                    stdout=subprocess.DEVNULL,
                )
                for i in range(workers)
            ]
        else:
            self.main = _spawn(
                [*base, "--role", "local", "--spec", spec, "--run-dir", str(folder)],
                folder / "engine.log",
            )
            self.workers = []
        self.processes = [self.main, *self.workers]
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.main.stdout is not None
        for line in self.main.stdout:
            with contextlib.suppress(json.JSONDecodeError):
                self.events.put(json.loads(line))
        self.events.put(None)

    def wait_started(self, server: Any, timeout: float = 90.0) -> float:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                event = self.events.get(timeout=0.5)
            except queue.Empty:
                if server is not None and not server.alive():
                    break
                continue
            if event is None:
                break
            if event.get("type") == "started":
                return float(event["t0"])
            if event.get("type") == "done":
                break
        self.stop()
        raise BenchctlError(
            f"the load engine did not start; see {Path(self.main.args[-1]).parent / 'engine.log'}"
        )

    def drain_events(self, cpu: list[tuple[float, str, float]], offset: float) -> None:
        while True:
            try:
                event = self.events.get_nowait()
            except queue.Empty:
                return
            if event is None:
                self.done = True
                return
            if event.get("type") == "progress":
                self.in_flight = int(event.get("in_flight") or 0)
                for name, value in event.get("cpu", {}).items():
                    cpu.append((event["elapsed"] + offset, name, value))
            if event.get("type") in ("progress", "done"):
                self.sent = event.get("sent", self.sent) or 0
                self.dropped = event.get("dropped", self.dropped) or 0
            if event.get("type") == "done":
                self.done = True

    def exited(self) -> bool:
        return self.done or self.main.poll() is not None

    def stop(self) -> None:
        """SIGTERM (the engine keeps what it recorded), then SIGKILL after a grace."""
        signal_if_running(self.main, signal.SIGTERM)
        try:
            self.main.wait(timeout=STOP_WAIT_S)
        except subprocess.TimeoutExpired:
            _terminate(self.processes)
        for worker in self.workers:
            try:
                worker.wait(timeout=10)
            except subprocess.TimeoutExpired:
                _terminate([worker])
        self.drain_events([], 0.0)


def _spawn(
    command: list[str], log_path: Path, *, stdout: Any = subprocess.PIPE
) -> subprocess.Popen:
    """An engine process as ``benchctl run`` starts one: its own session, SIGTERM when this
    process dies, registered with the run's watchdog."""
    from benchctl import run as runmod

    return runmod._spawn(command, log_path, stdout=stdout)


def _terminate(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        signal_if_running(process, signal.SIGKILL)
    for process in processes:
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=5)


class _PartReader:
    """Reads the engine's flushed record parts as they appear (each part is complete)."""

    COLUMNS: ClassVar[list[str]] = ["t_intended", "latency_ms", "ok", "error"]

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._seen: set[str] = set()
        self._frames: list[pd.DataFrame] = []

    def frame(self) -> pd.DataFrame:
        if self.folder.is_dir():
            for part in sorted(self.folder.glob("part-*.parquet")):
                if part.name in self._seen:
                    continue
                try:
                    table = pq.read_table(part, columns=self.COLUMNS)
                except (OSError, pa.ArrowException):
                    continue  # being replaced: read it next time
                self._seen.add(part.name)
                frame = table.to_pandas()
                frame["error"] = frame["error"].astype(str)
                self._frames.append(frame)
        if not self._frames:
            return pd.DataFrame({c: pd.Series(dtype=float) for c in self.COLUMNS})
        return pd.concat(self._frames, ignore_index=True)


# --------------------------------------------------------------------------- finishing


def _finish(
    run_dir: RunDir, searcher: _Searcher, telemetry: Any, status: str, reason: str, slo: Slo
) -> SearchResult:
    from benchctl.run import generator_flags

    rows = merge_parts(run_dir.path / PARTS, run_dir.path / REQUESTS)
    levels = [level.to_json() for level in searcher.levels]
    good = [lv["offered_rps"] for lv in levels if lv["good"]]
    best = max(good) if good else None
    bad_above = [
        lv["offered_rps"]
        for lv in levels
        if not lv["good"] and (best is None or lv["offered_rps"] > best)
    ]
    first_bad = min(bad_above) if bad_above else None
    duration = max((lv["decided_at"] for lv in levels), default=0.0)
    phases = searcher._phases
    document = {
        "schema_version": 1,
        "slo": str(slo),
        "status": status,
        "stop_reason": reason,
        "settings": searcher.scenario.model_dump(mode="json"),
        "best_good_rps": best,
        "first_bad_rps": first_bad,
        "levels": levels,
    }
    run_dir.write_json(SEARCH, document)
    summary = {}
    if rows:
        summary = summarize(read_requests(run_dir.path / REQUESTS), phases)
        run_dir.write_json("summary.json", {"schema_version": 1, **summary})
    telemetry_info = None
    if telemetry is not None and searcher.first_t0 is not None:
        telemetry.add_generator_cpu(searcher.first_t0, searcher.cpu)
        with contextlib.suppress(Exception):  # telemetry must never lose the search
            telemetry_info = telemetry.finish(run_dir.path, searcher.first_t0, duration)
    info = run_dir.read_json(RUN_JSON)
    run_dir.update_run(
        status=status,
        reason=reason,
        plan={
            "duration": duration,
            "expected_requests": None,
            "open_loop": True,
            "phases": phases,
            "curve": [list(point) for point in searcher._curve],
        },
        engine={**info["engine"], "t0": searcher.first_t0, "ended_at": _now_iso()},
        counts={"sent": searcher._sent, "dropped": searcher._dropped, "rows": rows},
        generator=generator_flags(searcher.cpu),
        telemetry=telemetry_info,
        search={
            "slo": str(slo),
            "status": status,
            "stop_reason": reason,
            "best_good_rps": best,
            "first_bad_rps": first_bad,
            "levels": len(levels),
        },
    )
    return SearchResult(status, run_dir.path, levels, reason, best, first_bad)


def _now_iso() -> str:
    from datetime import UTC, datetime

    return datetime.now(UTC).isoformat(timespec="seconds")


def search_dry_run(scenario: CapacityScenario, console: Console) -> None:
    """What a search would do, without sending anything."""
    s = scenario
    console.print(
        f"capacity search: levels from {s.start_rate:g} rps doubling up to {s.max_rate:g} rps, "
        f"then bisection to {s.resolution:.0%}; each level held until {s.stable_windows} "
        f"windows of ≥{s.window:g}s agree (at most {s.max_hold:g}s); at most "
        f"{s.max_duration:g}s in all"
    )
