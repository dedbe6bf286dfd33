"""A phase's throughput: the successful requests that *completed* within its interval.

Throughput (the achieved rate) is completions per unit time (Jain, *The Art of Computer
Systems Performance Analysis*, 1991, sec. 3.3; the "throughput" of the Little's-law
triple). A request's completion time is its intended send plus its latency
(``t_intended + latency_ms / 1000``: latency counts from the intended send). So a phase's
throughput is its successful completions in [start, stop) over its measured seconds,
whichever phase sent them. Counting the successes of the requests *scheduled* in the
phase instead credits a backlog to the phase that queued it: a 1-worker server with a
20 ms spin (at most 50 completions/s) showed 59.0 req/s at a 60 req/s step whose requests
mostly completed seconds later (trial 7, F1). For a level held steady the two agree up to
the requests in flight at its edges (about rate x latency).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from benchctl.analysis.request_reader import iter_batches
from benchctl.rundir.requests import WARMUP

Span = tuple[str, float, float]  # (phase name, start s, stop s)
_WARMUP = {"phase": WARMUP}  # iter_batches: the "phase==warmup" flag per row


def phase_spans(phases: list[dict[str, Any]], end: float | None = None) -> list[Span]:
    """(name, start s, stop s) of every phase occurrence in ``phases`` (``{"name", "start",
    "end"}``, s), cut at ``end`` (where an interrupted run stopped; None: the whole plan), by
    start; empty ones left out. Raises KeyError for a phase without those keys."""
    found = []
    for phase in sorted(phases, key=lambda p: float(p["start"])):
        start, stop = float(phase["start"]), float(phase["end"])
        stop = stop if end is None else min(stop, end)
        if stop > start:
            found.append((str(phase["name"]), start, stop))
    return found


class Completions:
    """Successful completions per phase, counted batch by batch.

    ``spans``: the phases' non-overlapping intervals (``phase_spans``). ``add(done, warmup)``
    counts completion times (s; NaN counts nowhere) in [start, stop) of each span, a warm-up
    request's only in a warm-up span and a measured one's only in a measured span (the
    warm-up is left out of every measurement); ``by_name()`` sums them per phase name (a
    name can recur, e.g. every spike's burst).
    """

    def __init__(self, spans: list[Span]) -> None:
        self.names = [name for name, _, _ in spans]
        self.warmup = np.array([name == WARMUP for name in self.names], dtype=bool)
        self.starts = np.array([start for _, start, _ in spans], dtype=float)
        self.stops = np.array([stop for _, _, stop in spans], dtype=float)
        self.counts = np.zeros(len(spans), dtype=np.int64)

    def add(self, done: np.ndarray, warmup: np.ndarray | bool = False) -> None:
        """Count the completion times ``done`` (s, 1-D) of requests sent in the warm-up where
        ``warmup`` (bool, or an array like ``done``). Raises nothing."""
        if not len(self.names) or not len(done):
            return
        at = np.searchsorted(self.starts, done, side="right") - 1
        index = np.clip(at, 0, len(self.names) - 1)
        inside = (at >= 0) & (done < self.stops[index]) & (self.warmup[index] == warmup)
        self.counts += np.bincount(at[inside], minlength=len(self.names))

    def by_name(self) -> dict[str, int]:
        """{phase name: successful completions within its intervals}."""
        totals: dict[str, int] = {}
        for name, count in zip(self.names, self.counts.tolist(), strict=True):
            totals[name] = totals.get(name, 0) + int(count)
        return totals


def done_times(intended: np.ndarray, latency_ms: np.ndarray, ok: np.ndarray) -> np.ndarray:
    """Completion times (s) of the successful requests: ``intended`` (s) + ``latency_ms``
    (ms) / 1000 where ``ok``. Raises nothing for equal-length arrays."""
    return intended[ok] + latency_ms[ok] / 1000.0


def file_completions(path: Path, spans: list[Span]) -> dict[str, int]:
    """``Completions.by_name`` of requests.parquet at ``path`` (read in batches of three
    columns). Raises DamagedFileError (exit 2) when the file is unreadable."""
    counts = Completions(spans)
    count_file(counts, path)
    return counts.by_name()


def count_file(counts: Completions, path: Path) -> None:
    """Add requests.parquet's successful completions at ``path`` to ``counts`` (its own pass,
    in batches of three columns). Raises DamagedFileError (exit 2) when unreadable."""
    for batch in iter_batches(path, ["t_intended", "latency_ms", "ok"], equals=_WARMUP):
        ok = batch["ok"]
        done = done_times(batch["t_intended"], batch["latency_ms"], ok)
        counts.add(done, batch["phase==warmup"][ok])


def count_batch(counts: Completions, batch: dict[str, Any], keep: np.ndarray | None) -> None:
    """Add one batch's successful completions to ``counts``: ``batch`` holds t_intended (s),
    latency_ms and ok as numpy arrays, ``keep`` marks its measured rows (the rest are the
    warm-up's; None: all are measured), as ``summary_file.phase_latencies_with`` passes
    them, so ``analyze``'s one pass over the file counts completions too. Raises nothing."""
    ok = batch["ok"]
    done = done_times(batch["t_intended"], batch["latency_ms"], ok)
    counts.add(done, False if keep is None else ~keep[ok])


def served_rates(
    by_phase: dict[str, dict[str, Any]], completed: dict[str, int]
) -> dict[str, dict[str, Any]]:
    """Each phase's ``stats`` (summary.json) with ``completed`` (successes that completed
    within its interval) and ``throughput_rps`` = completed / ``seconds`` (req/s), where a
    throughput is given at all (``summary.stats_of_counts``'s rules: an interval, at least
    10 sent, not shorter than the median latency). Changes the dicts in place; returns
    ``by_phase``. Raises nothing."""
    for name, phase in by_phase.items():
        phase["completed"] = completed.get(name, 0)
        if phase.get("throughput_rps") is not None and phase.get("seconds"):
            phase["throughput_rps"] = phase["completed"] / phase["seconds"]
    return by_phase


def file_completions_by_model(
    path: Path, phases: list[dict[str, Any]], end: float | None = None
) -> dict[str, dict[str, int]]:
    """{phase name: {model: its successful completions within the phase's intervals}} of
    requests.parquet at ``path`` (requests without a model left out); ``phases`` and ``end``
    as in ``phase_spans``. Raises DamagedFileError (exit 2) when the file is unreadable."""
    spans = phase_spans(phases, end)
    counts: dict[str, Completions] = {}
    for batch in iter_batches(path, ["t_intended", "latency_ms", "ok", "model"], equals=_WARMUP):
        model = batch["model"]
        known = np.array([value is not None and value == value for value in model], dtype=bool)
        good = batch["ok"] & known
        done = done_times(batch["t_intended"], batch["latency_ms"], good)
        names, warmup = model[good].astype(str), batch["phase==warmup"][good]
        for name in np.unique(names).tolist():
            mine = names == name
            counts.setdefault(name, Completions(spans)).add(done[mine], warmup[mine])
    found: dict[str, dict[str, int]] = {}
    for name, completions in counts.items():
        for phase, count in completions.by_name().items():
            found.setdefault(phase, {})[name] = count
    return found
