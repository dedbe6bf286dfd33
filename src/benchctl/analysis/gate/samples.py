"""A phase of one or more runs as a windowed sample: successful latencies and per-window
request counts, the blocks the gate's block bootstrap resamples."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from benchctl.analysis.gate.rules import LATENCY, OVERALL
from benchctl.analysis.gate.runs import LoadedRun
from benchctl.analysis.percentiles import percentile
from benchctl.rundir import COMPLETED
from benchctl.rundir.requests import DROPPED, WARMUP

_MIN_BLOCKS = 20  # fewer windows than this: shorter windows, so the bootstrap has blocks

Interval = tuple[float, float]


@dataclass(frozen=True)
class Sample:
    """The requests of one phase selection, cut into windows (the bootstrap's blocks)."""

    latency: np.ndarray  # ms, successful requests
    block: np.ndarray  # window index of each latency
    requests: np.ndarray  # per window
    sent: np.ndarray
    ok: np.ndarray
    dropped: np.ndarray
    seconds: np.ndarray  # per window: seconds of the phase it covers

    @property
    def blocks(self) -> int:
        """How many windows (bootstrap blocks) the selection has."""
        return len(self.seconds)

    def value(self, metric: str) -> float | None:
        """The point estimate, as summary.json computes it."""
        if metric in LATENCY:
            if not len(self.latency):
                return None
            return percentile(self.latency, LATENCY[metric])  # nearest rank, as summary.json
        totals = {
            "throughput_rps": (self.ok.sum(), self.seconds.sum()),
            "error_rate": (self.sent.sum() - self.ok.sum(), self.sent.sum()),
            "drop_rate": (self.dropped.sum(), self.requests.sum()),
        }
        top, bottom = totals[metric]
        return float(top / bottom) if bottom else None

    def samples(self, metric: str) -> int:
        """How many observations the metric rests on (compared with min_samples)."""
        return len(self.latency) if metric in LATENCY else int(self.requests.sum())


def phase_sample(run: LoadedRun, phase: str, width: float) -> Sample:
    """The run's requests in ``phase`` ("overall": all but warm-up) as a windowed sample."""
    frame = run.frame
    phase_col = frame["phase"]  # categorical: compare values, never convert 1M strings
    mask = (phase_col != WARMUP) if phase == OVERALL else (phase_col == phase)
    chosen = frame[mask.to_numpy()]
    intervals = _intervals(run, phase, chosen)
    total = sum(end - start for start, end in intervals)
    if total > 0 and total / width < _MIN_BLOCKS:
        width = total / _MIN_BLOCKS
    edges = np.arange(0.0, max((end for _, end in intervals), default=0.0) + width, width)
    seconds = _coverage(edges, intervals)
    keep = np.flatnonzero(seconds > 0)
    raw = np.clip((chosen["t_intended"].to_numpy(dtype=float) // width).astype(int), 0, None)
    code = np.searchsorted(keep, raw).clip(0, max(len(keep) - 1, 0))
    ok = chosen["ok"].to_numpy(dtype=bool)
    dropped = (chosen["error"] == DROPPED).to_numpy(dtype=bool)
    count = max(len(keep), 1)

    def per_window(flags: np.ndarray) -> np.ndarray:
        return np.bincount(code[flags], minlength=count).astype(float)

    everything = np.ones(len(chosen), dtype=bool)
    return Sample(
        latency=chosen["latency_ms"].to_numpy(dtype=float)[ok],
        block=code[ok],
        requests=per_window(everything),
        sent=per_window(~dropped),
        ok=per_window(ok),
        dropped=per_window(dropped),
        seconds=seconds[keep] if len(keep) else np.zeros(1),
    )


def pool(samples: Sequence[Sample]) -> Sample:
    """Several runs' samples as one: their windows side by side."""
    offsets = np.cumsum([0, *(s.blocks for s in samples[:-1])])
    return Sample(
        latency=np.concatenate([s.latency for s in samples]),
        block=np.concatenate([s.block + o for s, o in zip(samples, offsets, strict=True)]),
        **{
            name: np.concatenate([getattr(s, name) for s in samples])
            for name in ("requests", "sent", "ok", "dropped", "seconds")
        },
    )


def _intervals(run: LoadedRun, phase: str, chosen: pd.DataFrame) -> list[Interval]:
    """Time intervals of the phase from the plan, cut at the last request if not completed."""
    planned = [
        (start, end)
        for name, start, end in run.phases
        if (name != WARMUP if phase == OVERALL else name == phase)
    ]
    times = chosen["t_intended"].to_numpy(dtype=float)
    if not planned:
        return [(float(times.min()), float(times.max()) + 1e-9)] if len(times) else []
    if run.status != COMPLETED and len(run.frame):
        cut = float(run.frame["t_intended"].max())
        planned = [(s, min(e, cut)) for s, e in planned if s < cut]
    return planned


def _coverage(edges: np.ndarray, intervals: Sequence[Interval]) -> np.ndarray:
    """Seconds of each window [edges[i], edges[i+1]) inside the intervals."""
    lo, hi = edges[:-1], edges[1:]
    covered = np.zeros(len(lo))
    for start, end in intervals:
        covered += np.clip(np.minimum(hi, end) - np.maximum(lo, start), 0.0, None)
    return covered
