"""Offline (batch) scoring: a finite input set sent as fast as the server allows.

One setting (batch size b, concurrency c) is one run: the set of ``inputs`` rows travels in
ceil(inputs / b) requests of b rows (encoded once, each sent exactly once:
``choices["once"]``, :mod:`benchctl.load.choice`), c in flight (closed loop), until the set
is sent. A scenario with several batch sizes or concurrencies is a sweep: one run per pair,
then a table and the best setting (``run_sweep``), written to ``<runs>/<stamp>-batch-sweep.json``.

Numbers (``batch_summary``; MLPerf Offline's metric is inferences, not requests, per second):

- inferences = successful requests x b;
- time to finish = last completion - first send (s), measured;
- inferences/s = inferences / time to finish;
- cost per million inferences = price_per_hour / 3600 / (inferences/s) x 1e6;
- server-side batching where the server reports it (Triton): ``nv_inference_count``
  (inferences) vs ``nv_inference_exec_count`` (model executions) over the run, from the
  telemetry scrapes; their ratio is the mean batch the model ran.
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path
from typing import Any

from rich.console import Console

from benchctl.config import BatchScenario, TargetSpec
from benchctl.reports.terminal.batch import print_batch_setting, print_sweep
from benchctl.reports.terminal.console import quiet_stdout
from benchctl.rundir import (
    COMPLETED,
    INTERRUPTED,
    REQUESTS,
    TELEMETRY,
    read_parquet,
    read_run_json,
    read_summary,
    write_atomic,
)
from benchctl.targets.pool import build_requests
from benchctl.targets.wire import WireRequest

BATCH = "batch"


def batch_target(scenario: Any, target: TargetSpec) -> TargetSpec:
    """For a batch run (its first setting), the target whose payload pool is the set: b rows
    a request, ceil(inputs / b) requests; any other scenario's target unchanged."""
    if not isinstance(scenario, BatchScenario):
        return target
    size, _ = scenario.settings()[0]
    payload = target.payload.model_copy(
        update={"batch_size": size, "pool": scenario.requests_for(size), "popularity": "uniform"}
    )
    return target.model_copy(update={"payload": payload, "models": []})


def engine_requests(scenario: Any, target: TargetSpec) -> tuple[WireRequest, dict[str, Any]]:
    """``build_requests`` for the run; a batch run sends every body once, in order."""
    request, choices = build_requests(batch_target(scenario, target))
    if isinstance(scenario, BatchScenario):
        choices["once"] = True
    return request, choices


def batch_summary(run_dir: Path) -> dict[str, Any]:
    """``{"batch": {...}}`` for a batch run directory (run.json + requests.parquet, and
    telemetry.parquet for server-side batching); ``{}`` for any other run."""
    run = read_run_json(run_dir)
    spec = run.get("scenario", {}).get("spec", {})
    if spec.get("kind") != BATCH:
        return {}
    scenario = BatchScenario.model_validate(spec)
    size, concurrency = scenario.settings()[0]
    table = read_parquet(run_dir / REQUESTS, columns=["t_start", "latency_ms", "t_intended", "ok"])
    sent = table[table["t_start"].notna()]
    ok = int(sent["ok"].sum())
    planned = scenario.requests_for(size)
    seconds = None
    if len(sent):
        done = sent["t_intended"] + sent["latency_ms"] / 1000.0
        seconds = float(done.max() - sent["t_start"].min())
    inferences = ok * size
    rate = inferences / seconds if seconds else None
    price = scenario.price_per_hour
    result: dict[str, Any] = {
        "batch_size": size,
        "concurrency": concurrency,
        "inputs": scenario.inputs,
        "requests_planned": planned,
        "requests_sent": len(sent),
        "requests_ok": ok,
        "complete": ok == planned,
        "inferences": inferences,
        "time_to_finish_s": seconds,
        "inferences_per_s": rate,
        "requests_per_s": ok / seconds if seconds else None,
        "price_per_hour": price,
        "cost_per_million_inferences": price / 3600.0 / rate * 1e6 if price and rate else None,
        **server_batching(run_dir, run),
    }
    return {"batch": result}


def server_batching(run_dir: Path, run: dict[str, Any]) -> dict[str, Any]:
    """Triton's inference count vs execution count over the run (their increase between
    the first and last telemetry scrape), and their ratio (the mean batch the model ran);
    ``{}`` when the run has no such counters (another server, or telemetry off)."""
    path = run_dir / TELEMETRY
    if not path.is_file():
        return {}
    from benchctl.telemetry.server_metrics import counter

    raw = read_parquet(path)
    model = run.get("target", {}).get("spec", {}).get("model")
    inferences = counter(raw, "nv_inference_count", model).total
    executions = counter(raw, "nv_inference_exec_count", model).total
    if not (inferences == inferences and executions == executions) or executions <= 0:
        return {}
    return {
        "server_inferences": inferences,
        "server_executions": executions,
        "server_mean_batch": inferences / executions,
    }


def run_sweep(options: Any, scenario: BatchScenario, console: Console) -> Any:
    """One run per (batch size, concurrency) pair, then the table and the best setting
    (most inferences per second among the settings that finished the set); returns the
    last run's RunResult. A run that does not complete stops the sweep; its setting is
    kept in the sweep file with its status and reason.

    A closed stdout (``benchctl run batch ... | head``) stops the sweep as it stops
    ``run``: within a setting's run, that run ends ``interrupted``; between two settings
    (the next heading finds the pipe closed, or the console went quiet when a run's end
    was printed), the next setting is not started and is kept as interrupted with no run.
    Either way the sweep file holds the settings measured and the returned result says
    ``stopped: stdout closed`` (exit 141), naming the sweep file when no run was cut."""
    from benchctl.run import run
    from benchctl.run_outcome import RunResult
    from benchctl.stop_signals import CLOSED_STDOUT

    rows: list[dict[str, Any]] = []
    result, cut = None, False
    for size, concurrency in scenario.settings():
        one = dataclasses.replace(
            options,
            overrides=(
                *options.overrides,
                f"batch_sizes=[{size}]",
                f"concurrency=[{concurrency}]",
            ),
        )
        try:
            if console.quiet:  # PipeConsole goes quiet only when its stdout closed
                raise BrokenPipeError
            print_batch_setting(console, size, concurrency)
            result = run(one, console=console)
        except BrokenPipeError:  # the reader left between two settings: stop, keep them
            quiet_stdout()
            rows.append(_setting_row(size, concurrency, None, INTERRUPTED, CLOSED_STDOUT))
            result, cut = RunResult(INTERRUPTED, None, reason=CLOSED_STDOUT), True
            break
        if result.run_dir is None:
            break
        rows.append(_setting_row(size, concurrency, result.run_dir, result.status, result.reason))
        if result.status != COMPLETED:
            break
    path = _write_sweep(Path(options.runs_dir), rows, console)
    if cut and result is not None:
        result = dataclasses.replace(result, run_dir=path)  # what the stop line names
    return result


def _setting_row(
    size: int, concurrency: int, run_dir: Path | None, status: str, reason: str
) -> dict[str, Any]:
    """One setting of the sweep file: its run's summary.json ``batch`` section (none when
    no run was made), the run's folder name, its status and, unless completed, why."""
    batch = read_summary(run_dir).get().get("batch", {}) if run_dir is not None else {}
    row = {"batch_size": size, "concurrency": concurrency, **batch}
    row.update(run=run_dir.name if run_dir is not None else None, status=status)
    if status != COMPLETED:
        row["reason"] = reason
    return row


def _write_sweep(runs_dir: Path, rows: list[dict[str, Any]], console: Console) -> Path:
    """``<runs>/<stamp>-batch-sweep.json``: the settings, the best that finished its set,
    and how the sweep ended (``status``: completed, or the status of the setting that
    stopped it, with its ``reason``); then the table on ``console``. Returns its path."""
    finished = [r for r in rows if r.get("complete") and r.get("inferences_per_s")]
    best = max(finished, key=lambda r: r["inferences_per_s"]) if finished else None
    stopped = next((r for r in rows if r["status"] != COMPLETED), None)
    sweep: dict[str, Any] = {"settings": rows, "best": best, "status": COMPLETED}
    if stopped is not None:
        sweep.update(status=stopped["status"], reason=stopped["reason"])
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    path = runs_dir / f"{stamp}-batch-sweep.json"
    write_atomic(path, json.dumps(sweep, indent=2) + "\n")
    print_sweep(console, rows, best, path)
    return path


def batch_end(requests: Path, plan: Any, end: float | None) -> float | None:
    """A batch run ends when its set is done, not at its max_duration bound: the last
    completion (s since start) is its measurement end. Interrupted (``end``: the stop), it
    ends at the later of the stop and its last answer: the requests in flight at a Ctrl-C
    are still answered and counted, so the interval must hold their time too (63 answers
    over the 1.7 ms before the stop read as 36,873 req/s). Other runs: ``end`` unchanged."""
    if getattr(plan, "kind", None) != BATCH:
        return end
    table = read_parquet(requests, columns=["t_intended", "latency_ms"])
    done = (table["t_intended"] + table["latency_ms"] / 1000.0).dropna()
    if not len(done):
        return end
    return float(done.max()) if end is None else max(end, float(done.max()))
