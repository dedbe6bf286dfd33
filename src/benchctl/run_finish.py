"""``benchctl run``, finishing: merge the record parts into requests.parquet, write
summary.json, finish the telemetry, write the final run.json and print the summary.

Finishing runs whatever happened to the load (a stop signal, a dead target): a run that
ends leaves a complete, readable directory. When the disk is full, ``mark_failed`` still
says so in run.json and keeps the parts (``benchctl runs`` merges them later).
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

from rich.console import Console

from benchctl.analysis.accuracy import accuracy_of_run, generator_section
from benchctl.analysis.inputs import input_summary
from benchctl.analysis.models import model_summaries
from benchctl.analysis.summary_file import summarize_file
from benchctl.batch import batch_end, batch_summary
from benchctl.errors import BenchctlError
from benchctl.plan.shapes import Plan
from benchctl.reports.terminal.rates import print_rate_notes
from benchctl.reports.terminal.run_summary import print_run_end, print_self_check
from benchctl.run_outcome import Outcome, RunResult
from benchctl.run_setup import now_iso
from benchctl.rundir import (
    COMPLETED,
    FAILED,
    INTERRUPTED,
    PARTS,
    REQUESTS,
    RUN_JSON,
    SCHEMA_VERSION,
    SUMMARY,
    RunDir,
    write_text_fallback,
)
from benchctl.rundir.parts import merge_parts
from benchctl.split_run import split_summary
from benchctl.split_telemetry import split_self_check
from benchctl.success import nothing_succeeded
from benchctl.telemetry.session import TelemetrySession

CPU_SATURATED = 80.0  # percent of one core
SATURATED_FOR_S = 5  # consecutive seconds above CPU_SATURATED


def finalize(
    run_dir: RunDir,
    plan: Plan,
    outcome: Outcome,
    telemetry: TelemetrySession | None,
    console: Console,
) -> RunResult:
    """Merge the parts, write summary.json, telemetry and the final run.json; print the
    summary table and any warning. Returns how the run ended.

    Raises OSError if the disk is full; the parts then stay on disk (see ``mark_failed``).
    """
    rows = _merge_parts(run_dir)
    end = None if outcome.status == COMPLETED else stop_time(outcome)
    end = batch_end(run_dir.path / REQUESTS, plan, end)  # a batch run ends with its set
    summary = _write_summary(run_dir, plan, outcome, end)
    telemetry_info = None
    if telemetry is not None:
        telemetry_info = _finish_telemetry(run_dir, plan, outcome, telemetry, end, rows, console)
    if batch := batch_summary(run_dir.path):  # offline scoring: inferences/s, cost (batch.py)
        summary.update(batch)
        run_dir.write_json(SUMMARY, {"schema_version": SCHEMA_VERSION, **summary})
    generator = _generator(outcome, rows, summary)
    counts, clock = run_counts(outcome, rows)
    if counts.get("sent_not_recorded"):
        outcome.status = INTERRUPTED if outcome.status == COMPLETED else outcome.status
        outcome.reason = "; ".join(filter(None, [outcome.reason, counts["incomplete"]]))
    if outcome.status == COMPLETED and (why := nothing_succeeded(run_dir.path / REQUESTS)):
        outcome.status, outcome.reason = FAILED, why  # success.py: not a success
    data = run_dir.read_json(RUN_JSON)
    run_dir.update_run(
        status=outcome.status,
        reason=outcome.reason,
        engine={**data["engine"], "t0": outcome.t0, "ended_at": now_iso()},
        counts=counts,
        generator=generator,
        telemetry=telemetry_info,
        **clock,
    )
    print_run_end(
        console,
        run_dir.name,
        summary,
        outcome,
        rows,
        generator,
        clock,
        cpu_limit=CPU_SATURATED,
        counts=counts,
    )
    print_rate_notes(console, summary)  # a rate not given: why (too short, too few)
    return RunResult(outcome.status, run_dir.path, summary, outcome.reason, generator)


def _merge_parts(run_dir: RunDir) -> int:
    """requests.parts -> requests.parquet; the number of rows. On OSError (disk full) the
    half-merged copy's space is given back and the error raised."""
    try:
        return merge_parts(run_dir.path / PARTS, run_dir.path / REQUESTS)
    except OSError:
        with contextlib.suppress(OSError):
            (run_dir.path / REQUESTS).with_suffix(".tmp").unlink(missing_ok=True)
        raise


def _write_summary(
    run_dir: RunDir, plan: Plan, outcome: Outcome, end: float | None
) -> dict[str, Any]:
    """summary.json: per phase and overall, model mix, payload pool, arms, send lag."""
    requests = run_dir.path / REQUESTS
    phases = [{"name": p.name, "start": p.start, "end": p.end} for p in plan.phases]
    summary = summarize_file(requests, phases, end=end)  # in batches, not a frame (issue 16)
    summary.update(model_summaries(requests, phases, end=end))  # model mix
    summary.update(input_summary(requests))  # payload pool: hot vs rest
    summary.update(split_summary(run_dir, phases, end=end))  # --split: per arm + verdicts
    # the generator's own send lag and wake-up mechanism (analysis/accuracy.py, issue 17)
    summary["generator_accuracy"] = accuracy_of_run(requests, outcome.done.get("pacing"))
    run_dir.write_json(SUMMARY, {"schema_version": SCHEMA_VERSION, **summary})
    return summary


def _finish_telemetry(
    run_dir: RunDir,
    plan: Plan,
    outcome: Outcome,
    telemetry: TelemetrySession,
    end: float | None,
    rows: int,
    console: Console,
) -> dict[str, Any] | None:
    """Add the generator's CPU, write the telemetry files and run its self-check against
    the generator's own request counter; run.json's telemetry section."""
    if outcome.t0 is not None:
        telemetry.add_generator_cpu(outcome.t0, outcome.cpu)
    ran_for = plan.duration if end is None else end
    info = telemetry.finish(run_dir.path, outcome.t0, ran_for)
    counts = run_counts(outcome, rows)[0]  # the generator's own counter (maybe a bound)
    sent, bound = counts.get("sent"), counts.get("sent_is_lower_bound") is True
    if not split_self_check(run_dir, info, console):  # --split: control arm
        print_self_check(console, telemetry.self_check(run_dir.path, info, sent, bound))
    return info


def _generator(outcome: Outcome, rows: int, summary: dict[str, Any]) -> dict[str, Any]:
    """run.json's generator section: saturation, CPU seconds, requests per CPU second and
    the send-lag figures."""
    generator = generator_flags(outcome.cpu)
    spent = outcome.done.get("cpu_seconds") or {}
    generator["cpu_seconds"] = spent
    total_cpu = sum(spent.values())
    generator["requests_per_cpu_second"] = rows / total_cpu if total_cpu else None
    generator.update(generator_section(summary["generator_accuracy"]))
    return generator


def mark_failed(run_dir: RunDir, outcome: Outcome, reason: str) -> RunResult:
    """Finishing failed (disk full): say so in run.json even with no room for a second copy,
    and keep the parts on disk (``benchctl runs`` merges them once there is space).
    Returns a failed RunResult; never raises for a write that fails."""
    return _mark_ended(run_dir, outcome, FAILED, reason)


def closed_while_finishing(run_dir: RunDir, outcome: Outcome) -> RunResult:
    """stdout was closed (``benchctl run ... | head``) while ``finalize`` printed and no run
    noted it: a stop, never a disk error. When run.json is final already (the closing came
    while the run's end was printed) the run stands as written there; otherwise it is
    marked ``interrupted`` with the reason ``CLOSED_STDOUT`` (the parts, if any are left,
    are merged by ``benchctl runs``). Returns the RunResult; never raises for a write that
    fails."""
    from benchctl.stop_signals import CLOSED_STDOUT

    try:
        written = run_dir.read_json(RUN_JSON)
    except (OSError, BenchctlError):
        written = {}
    status = written.get("status")
    if status in (COMPLETED, INTERRUPTED, FAILED):
        return RunResult(status, run_dir.path, None, str(written.get("reason", "")))
    outcome.status, outcome.reason = INTERRUPTED, CLOSED_STDOUT
    return _mark_ended(run_dir, outcome, INTERRUPTED, CLOSED_STDOUT)


def _mark_ended(run_dir: RunDir, outcome: Outcome, status: str, reason: str) -> RunResult:
    """run.json says the run ended with ``status`` and ``reason`` (written even with no room
    for a second copy); the parts stay on disk. Never raises for a write that fails."""
    with contextlib.suppress(OSError):
        tmp = run_dir.path / REQUESTS
        tmp.with_suffix(".tmp").unlink(missing_ok=True)
    try:
        data = run_dir.read_json(RUN_JSON)
        data.update(status=status, reason=reason)
        data["engine"] = {**data.get("engine", {}), "t0": outcome.t0, "ended_at": now_iso()}
        data["counts"] = {
            "sent": outcome.done.get("sent", outcome.last.get("sent")),
            "dropped": outcome.done.get("dropped", outcome.last.get("dropped")),
            "rows": None,  # in requests.parts, merged by `benchctl runs` once there is room
            "unwritten": outcome.done.get("unwritten"),
        }
        write_text_fallback(run_dir.path / RUN_JSON, json.dumps(data, indent=2, default=str))
    except (OSError, BenchctlError):
        pass
    return RunResult(status, run_dir.path, None, reason)


def stop_time(outcome: Outcome) -> float:
    """Seconds after t0 at which a run that did not complete stopped: when the engine saw
    the stop (``stopped_at`` on its done line), else (the engine died) its last progress
    line. The measurement interval ends there: it holds every request sent before the stop
    (a progress line comes once a second, up to 1 s before the stop)."""
    stopped = outcome.done.get("stopped_at")
    if isinstance(stopped, int | float) and stopped >= 0:
        return float(stopped)
    return float(outcome.last.get("elapsed", 0.0))


def run_counts(outcome: Outcome, rows: int) -> tuple[dict[str, Any], dict[str, Any]]:
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
    counts.update(_worker_counts(done.get("per_worker") or {}, counts["sent"]))
    counts.update(sent_lower_bound(done, outcome.last))
    clock: dict[str, Any] = {}
    if done.get("clock"):
        clock["clock"] = done["clock"]
        warnings = [w for info in done["clock"].values() for w in info.get("warnings", [])]
        if warnings:
            clock["warnings"] = warnings
    return counts, clock


def _worker_counts(per_worker: dict[str, Any], sent: int | None) -> dict[str, Any]:
    """With workers: each worker's counts, the requests they sent but did not record, and
    ``sent`` raised by those; {} without workers."""
    if not per_worker:
        return {}
    missing = {name: w["sent_not_recorded"] for name, w in per_worker.items()}
    lost = sum(missing.values())
    counts: dict[str, Any] = {"workers": per_worker, "sent_not_recorded": lost}
    if lost:
        counts["sent"] = (sent or 0) + lost
        counts["incomplete"] = (
            f"incomplete: at least {lost} requests were sent but not recorded ("
            + ", ".join(f"{n}: {m}" for n, m in missing.items() if m)
            + "; from each worker's own counter in its last report)"
        )
    return counts


def sent_lower_bound(done: dict[str, Any], last: dict[str, Any]) -> dict[str, Any]:
    """run.json ``counts`` fields when ``sent`` is only a lower bound: a load process died,
    so the requests it sent after its last report were counted nowhere. ``done``: the
    engine's done line ({} when the engine died: ``sent`` is then from its ``last``
    progress line); ``done["per_worker"]``: a worker not ``finished`` died or was lost
    before its final report. Returns ``{"sent_is_lower_bound": True, "sent_bound": why}``
    or {} when every process reported to the end (``sent`` is then exact)."""
    if not done:
        why = "the engine died: sent is its last progress report's count" if last else ""
    else:
        workers = done.get("per_worker") or {}
        lost = [name for name, w in workers.items() if w.get("finished") is False]
        it, its = ("it", "its") if len(lost) == 1 else ("they", "their")
        why = (
            f"{', '.join(lost)} died before {its} final report: what {it} sent after {its} "
            "last report is counted nowhere"
            if lost
            else ""
        )
    return {"sent_is_lower_bound": True, "sent_bound": why} if why else {}


def generator_flags(samples: list[tuple[float, str, float]]) -> dict[str, Any]:
    """Saturated when one load process stays above 80% CPU for 5+ seconds in a row.

    ``samples``: (s, process name, % of one core), one per process per second. Returns
    run.json's generator flags: saturated, saturated_seconds (longest streak), cpu_max
    (None without samples), threshold (%), processes (names)."""
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
