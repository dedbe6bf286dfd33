"""The generator's accuracy section (``accuracy.generator_accuracy``) straight from
requests.parquet, in memory that does not grow with the rows (issue 16).

``generator_accuracy`` takes a frame of the whole run (six columns: about 190 bytes a
request with pandas' copies: 1.9 GB for 10 million). Here the file is read twice in
batches: the first pass counts each group's finite values per bucket (``exact_ranks``) with
their count and maximum, the second keeps only the values of the buckets that hold each
group's p50 and p99. Groups: every sent request after warm-up (overall, scheduler lag, slot
wait, the successes' latency for the warning), per load process, per process and phase,
per phase. Same keys, order and numbers as ``generator_accuracy`` of the frame.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from benchctl.analysis.accuracy import SLOT_WAIT, _process_name, lag_warning_of
from benchctl.analysis.exact_ranks import RankCounter, RankPicker
from benchctl.analysis.percentiles import rank
from benchctl.rundir.requests import DROPPED, WARMUP

_NULL = "\0"  # summary_file's name for a null phase

Route = Iterator[tuple[Hashable, np.ndarray]]


class _Finite:
    """Two-pass ``accuracy.lag_stats`` of one group: its finite values' count, maximum,
    nearest-rank p50 and p99."""

    def __init__(self) -> None:
        self.counter = RankCounter()
        self.top = -np.inf
        self.picker: RankPicker | None = None
        self.found: list[float] = []

    def count(self, values: np.ndarray) -> None:
        """First pass: one batch of the group's finite values (ms)."""
        if len(values):
            self.counter.add(values)
            self.top = max(self.top, float(values.max()))

    def want(self) -> None:
        """Start the second pass: the ranks of p50 and p99 (nearest rank)."""
        n = self.counter.n
        if n:
            self.picker = self.counter.picker([rank(0.5, n), rank(0.99, n)])

    def pick(self, values: np.ndarray) -> None:
        """Second pass: the same batch of values again."""
        if self.picker is not None and len(values):
            self.picker.add(values)

    def stats(self) -> dict[str, float | int | None]:
        """``{"requests", "p50", "p99", "max"}`` as ``lag_stats`` gives them."""
        if self.picker is None:
            return {"requests": 0, "p50": None, "p99": None, "max": None}
        if not self.found:
            self.found = self.picker.values().tolist()
        return {
            "requests": self.counter.n,
            "p50": float(self.found[0]),
            "p99": float(self.found[1]),
            "max": float(self.top),
        }


def accuracy_of_file(path: Path, pacing: dict[str, Any] | None, waits: bool) -> dict[str, Any]:
    """``generator_accuracy`` of requests.parquet at ``path`` (``waits``: it has the
    slot_wait_ms column), read in two passes. DamagedFileError if unreadable."""
    from benchctl.analysis.summary_file import _phase_batches

    pacing = {str(k): v for k, v in (pacing or {}).items() if isinstance(v, dict)}
    columns = ["send_lag_ms", "latency_ms", "ok", "worker", *([SLOT_WAIT] if waits else [])]
    groups: dict[Hashable, _Finite] = {}
    order: dict[str, list[Any]] = {"worker": [], "phase": []}  # phases: first seen
    worker_phases: dict[Any, list[str]] = {}
    totals = {"measured": 0, "waited": 0}

    def routes(first: bool) -> Iterator[tuple[Hashable, np.ndarray]]:
        for batch in _phase_batches(path, columns):
            yield from _route(batch, order, worker_phases, totals if first else None)

    for key, values in routes(True):
        groups.setdefault(key, _Finite()).count(values)
    for group in groups.values():
        group.want()
    for key, values in routes(False):
        groups[key].pick(values)

    def stats(key: Hashable) -> dict[str, Any]:
        return groups[key].stats() if key in groups else _Finite().stats()

    processes: dict[str, dict[str, Any]] = {}
    for worker in sorted(order["worker"]):
        name = _process_name(worker, pacing)
        processes[name] = {
            **stats(("worker", worker)),
            "phases": {p: stats(("worker_phase", worker, p)) for p in worker_phases[worker]},
            **{k: v for k, v in pacing.get(name, {}).items() if k != "seconds"},
        }
    for name, info in pacing.items():  # a process that sent nothing still says how it paced
        processes.setdefault(name, {**_Finite().stats(), **info})
    wakes = sorted({str(p["wake"]) for p in pacing.values() if p.get("wake")})
    wait = None
    if waits:
        share = totals["waited"] / totals["measured"] if totals["measured"] else 0.0
        wait = {**stats(("wait",)), "share": share}
    scheduler = stats(("scheduler",))
    return {
        "wake": wakes[0] if len(wakes) == 1 else ("mixed" if wakes else None),
        "send_lag_ms": stats(("measured",)),
        "processes": processes,
        "phases": {p: stats(("phase", p)) for p in order["phase"]},
        "scheduler_lag_ms": scheduler,
        "slot_wait": wait,
        "warning": _warning(scheduler, stats(("latency",)), waits),
    }


def _route(
    batch: dict[str, Any],
    order: dict[str, list[Any]],
    worker_phases: dict[Any, list[str]],
    totals: dict[str, int] | None,
) -> Route:
    """Each group's finite values in one batch (sent requests; warm-up only per phase)."""
    codes, names = batch["phase"]
    error_codes, error_names = batch["error"]
    sent = ~(error_names == DROPPED)[error_codes]
    lag, worker = batch["send_lag_ms"], batch["worker"]
    warm = np.isin(codes, [i for i, n in enumerate(names) if n == WARMUP])
    measured = sent & ~warm
    finite = np.isfinite(lag)
    yield ("measured",), lag[measured & finite]
    for code in _first_seen(codes[sent]):  # per phase, warm-up included (no null phase)
        if names[code] == _NULL:
            continue
        phase = str(names[code])
        if totals is not None and phase not in order["phase"]:
            order["phase"].append(phase)
        yield ("phase", phase), lag[sent & (codes == code) & finite]
    valid = measured & ~np.isnan(worker.astype(float))
    for w in np.unique(worker[valid]).tolist():
        rows = valid & (worker == w)
        if totals is not None and w not in worker_phases:
            order["worker"].append(w)
            worker_phases[w] = []
        yield ("worker", w), lag[rows & finite]
        for code in _first_seen(codes[rows]):
            if names[code] == _NULL:
                continue
            phase = str(names[code])
            if totals is not None and phase not in worker_phases[w]:
                worker_phases[w].append(phase)
            yield ("worker_phase", w, phase), lag[rows & (codes == code) & finite]
    scheduler = lag[measured]
    if SLOT_WAIT in batch:
        wait = batch[SLOT_WAIT][measured]
        waited = np.isfinite(wait)
        if totals is not None:
            totals["measured"] += len(wait)
            totals["waited"] += int(waited.sum())
        yield ("wait",), wait[waited]
        scheduler = scheduler - np.where(waited, wait, 0.0)
    yield ("scheduler",), scheduler[np.isfinite(scheduler)]
    latency = batch["latency_ms"][measured & batch["ok"]]
    yield ("latency",), latency[np.isfinite(latency)]


def _first_seen(codes: np.ndarray) -> list[int]:
    """The distinct codes in order of first appearance."""
    found, first = np.unique(codes, return_index=True)
    return [int(c) for c in found[np.argsort(first)]]


def _warning(scheduler: dict[str, Any], latency: dict[str, Any], waits: bool) -> str | None:
    """``accuracy.lag_warning`` from the successes' latency stats."""
    if scheduler.get("p50") is None or not latency["requests"]:
        return None
    return lag_warning_of(scheduler, latency["p50"], latency["p99"], separated=waits)
