"""A phase of one or more runs as a windowed sample: successful latencies and per-window
request counts, the blocks the gate's block bootstrap resamples.

Memory (issue 16): a run's requests are read in batches (``LoadedRun.batches``) and only
per-window counts are kept, plus the successes' latencies and windows while there are at
most ``hold`` of them (the bootstrap's ``max_latencies``: it never resamples more). Beyond
that a sample keeps a count per bucket of latency (``exact_ranks``) and reads the runs
again for what it needs: its exact nearest-rank percentiles (one more pass, the same numbers
as from every latency in memory) and the bootstrap's seeded subsample (one pass, the same
latencies as indexing the whole array)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from benchctl.analysis.exact_ranks import RankCounter, nearest_rank_ranks
from benchctl.analysis.gate.rules import LATENCY, OVERALL, SERVED
from benchctl.analysis.gate.runs import LoadedRun
from benchctl.analysis.percentiles import percentile
from benchctl.rundir import COMPLETED
from benchctl.rundir.requests import DROPPED, WARMUP

_MIN_BLOCKS = 20  # fewer windows than this: shorter windows, so the bootstrap has blocks

Interval = tuple[float, float]


@dataclass(frozen=True)
class _Part:
    """Where one run's share of a sample comes from: its rows in ``phase``, cut into windows
    of ``width`` s kept at ``keep`` (window numbers), block numbers shifted by ``offset``."""

    run: LoadedRun
    phase: str
    width: float
    keep: np.ndarray
    offset: int = 0


@dataclass(frozen=True)
class Sample:
    """The requests of one phase selection, cut into windows (the bootstrap's blocks).

    ``latency`` and ``block`` hold every successful latency (ms) and its window, unless the
    sample has more than it was asked to hold: then they are empty, ``count`` says how many
    there are, and ``value``, ``n_latency`` and ``subsample`` read them again from the runs."""

    latency: np.ndarray  # ms, successful requests
    block: np.ndarray  # window index of each latency
    requests: np.ndarray  # per window
    sent: np.ndarray
    ok: np.ndarray
    dropped: np.ndarray
    seconds: np.ndarray  # per window: seconds of the phase it covers
    count: int | None = None  # successful latencies when not held (else len(latency))
    parts: tuple[_Part, ...] = ()
    counter: RankCounter | None = None  # latencies per bucket, when not held
    _cache: dict[float, float] = field(default_factory=dict, compare=False, repr=False)

    @property
    def blocks(self) -> int:
        """How many windows (bootstrap blocks) the selection has."""
        return len(self.seconds)

    @property
    def held(self) -> bool:
        """Whether every successful latency is in ``latency`` (else they are read again)."""
        return self.count is None

    @property
    def n_latency(self) -> int:
        """How many successful latencies the sample has."""
        return len(self.latency) if self.count is None else self.count

    def value(self, metric: str) -> float | None:
        """The point estimate, as summary.json computes it."""
        if metric in LATENCY:
            if not self.n_latency:
                return None
            if self.held:
                return percentile(self.latency, LATENCY[metric])  # nearest rank, as summary.json
            return self._percentile(LATENCY[metric])
        totals = {
            "throughput_rps": (self.ok.sum(), self.seconds.sum()),
            "error_rate": (self.sent.sum() - self.ok.sum(), self.sent.sum()),
            "drop_rate": (self.dropped.sum(), self.requests.sum()),
            SERVED: (self.ok.sum(), self.requests.sum()),  # achieved / offered
        }
        top, bottom = totals[metric]
        return float(top / bottom) if bottom else None

    def samples(self, metric: str) -> int:
        """How many observations the metric rests on (compared with min_samples)."""
        return self.n_latency if metric in LATENCY else int(self.requests.sum())

    def _percentile(self, percent: float) -> float:
        """A nearest-rank percentile of the latencies not held: every latency percentile
        of the gate's metrics is picked in one pass over the runs and kept."""
        if percent not in self._cache:
            assert self.counter is not None
            percents = sorted({*LATENCY.values(), percent})
            picker = self.counter.picker(nearest_rank_ranks(percents, self.n_latency))
            for latency, _ in self.pieces():
                picker.add(latency)
            self._cache.update(zip(percents, picker.values().tolist(), strict=True))
        return self._cache[percent]

    def pieces(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(successful latencies, their blocks) batch by batch, in the order ``latency``
        holds them: from memory when held, else read again from the runs."""
        if self.held:
            yield self.latency, self.block
            return
        for part in self.parts:
            for latency, block in _part_latencies(part):
                yield latency, block + part.offset

    def subsample(self, chosen: np.ndarray) -> Sample:
        """The sample with only the latencies at sorted indices ``chosen`` (into the order
        ``pieces`` gives), held in memory; the window counts unchanged."""
        from dataclasses import replace

        if self.held:
            return replace(self, latency=self.latency[chosen], block=self.block[chosen])
        latency, block, start = [], [], 0
        for values, blocks in self.pieces():
            lo, hi = np.searchsorted(chosen, [start, start + len(values)])
            latency.append(values[chosen[lo:hi] - start])
            block.append(blocks[chosen[lo:hi] - start])
            start += len(values)
        return replace(
            self,
            latency=np.concatenate(latency) if latency else np.array([]),
            block=np.concatenate(block) if block else np.array([], dtype=np.int64),
            count=None,
            counter=None,
            _cache={},
        )


def phase_sample(run: LoadedRun, phase: str, width: float, hold: int | None = None) -> Sample:
    """The run's requests in ``phase`` ("overall": all but warm-up) as a windowed sample.

    ``width``: the bootstrap window (s), shortened when the phase has fewer than 20 of them;
    ``hold``: the most successful latencies kept in memory (None: all; beyond it they are
    counted per bucket and read again when needed). DamagedFileError if unreadable."""
    intervals = _intervals(run, phase)
    total = sum(end - start for start, end in intervals)
    if total > 0 and total / width < _MIN_BLOCKS:
        width = total / _MIN_BLOCKS
    edges = np.arange(0.0, max((end for _, end in intervals), default=0.0) + width, width)
    seconds = _coverage(edges, intervals)
    keep = np.flatnonzero(seconds > 0)
    count = max(len(keep), 1)
    per_window = {name: np.zeros(count) for name in ("requests", "sent", "ok", "dropped")}
    part = _Part(run, phase, width, keep)
    counter = RankCounter()
    held: list[tuple[np.ndarray, np.ndarray]] | None = []
    n = 0
    for code, ok, dropped, latency in _part_rows(part):
        per_window["requests"] += np.bincount(code, minlength=count)
        per_window["sent"] += np.bincount(code[~dropped], minlength=count)
        per_window["ok"] += np.bincount(code[ok], minlength=count)
        per_window["dropped"] += np.bincount(code[dropped], minlength=count)
        n += int(ok.sum())
        if held is None:
            counter.add(latency[ok])
            continue
        held.append((latency[ok], code[ok]))
        if hold is not None and n > hold:  # too many to keep: counted per bucket instead,
            for values, _ in held:  # and read again when needed
                counter.add(values)
            held = None
    arrays = {
        "seconds": seconds[keep] if len(keep) else np.zeros(1),
        **per_window,
    }
    if held is None:
        empty = np.array([])
        return Sample(empty, empty.astype(np.int64), **arrays, count=counter.n,
                      parts=(part,), counter=counter)  # fmt: skip
    return Sample(
        latency=np.concatenate([h[0] for h in held]) if held else np.array([]),
        block=np.concatenate([h[1] for h in held]) if held else np.array([], dtype=np.int64),
        **arrays,
        parts=(part,),
    )


def _part_rows(part: _Part) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """Per batch of the part's rows in its phase: (window code, ok, dropped, latency ms)."""
    flags = {"phase": WARMUP if part.phase == OVERALL else part.phase, "error": DROPPED}
    selected = f"phase=={flags['phase']}"
    last = max(len(part.keep) - 1, 0)
    for batch in part.run.batches(["t_intended", "latency_ms", "ok"], equals=flags):
        mask = ~batch[selected] if part.phase == OVERALL else batch[selected]
        times = batch["t_intended"][mask]
        raw = np.clip((times // part.width).astype(int), 0, None)
        code = np.searchsorted(part.keep, raw).clip(0, last)
        yield code, batch["ok"][mask], batch["error==dropped"][mask], batch["latency_ms"][mask]


def _part_latencies(part: _Part) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(successful latencies ms, their window codes) per batch of the part's rows."""
    for code, ok, _, latency in _part_rows(part):
        yield latency[ok], code[ok]


def pool(samples: Sequence[Sample]) -> Sample:
    """Several runs' samples as one: their windows side by side (one sample: itself)."""
    if len(samples) == 1:
        return samples[0]
    offsets = np.cumsum([0, *(s.blocks for s in samples[:-1])])
    counts = {
        name: np.concatenate([getattr(s, name) for s in samples])
        for name in ("requests", "sent", "ok", "dropped", "seconds")
    }
    parts = tuple(
        _Part(p.run, p.phase, p.width, p.keep, p.offset + int(o))
        for s, o in zip(samples, offsets, strict=True)
        for p in s.parts
    )
    if all(s.held for s in samples):
        return Sample(
            latency=np.concatenate([s.latency for s in samples]),
            block=np.concatenate([s.block + o for s, o in zip(samples, offsets, strict=True)]),
            **counts,
            parts=parts,
        )
    counters = [s.counter or _counted(s) for s in samples]
    empty = np.array([])
    return Sample(empty, empty.astype(np.int64), **counts, count=sum(s.n_latency for s in samples),
                  parts=parts, counter=RankCounter.merged(counters))  # fmt: skip


def _counted(sample: Sample) -> RankCounter:
    """A bucket count of a held sample's latencies (to pool it with samples not held)."""
    counter = RankCounter()
    counter.add(sample.latency)
    return counter


def _intervals(run: LoadedRun, phase: str) -> list[Interval]:
    """Time intervals of the phase from the plan, cut at the last request if not completed
    (no plan: from the phase's first to its last intended send)."""
    planned = [
        (start, end)
        for name, start, end in run.phases
        if (name != WARMUP if phase == OVERALL else name == phase)
    ]
    if not planned:
        low, high = np.inf, -np.inf
        for code_times in _phase_times(run, phase):
            if len(code_times):
                low, high = min(low, float(code_times.min())), max(high, float(code_times.max()))
        return [(low, high + 1e-9)] if np.isfinite(low) or np.isfinite(high) else []
    if run.status != COMPLETED and not run.empty:
        cut = run.t_max
        planned = [(s, min(e, cut)) for s, e in planned if s < cut]
    return planned


def _phase_times(run: LoadedRun, phase: str) -> Iterator[np.ndarray]:
    """The intended send times (s) of the run's rows in ``phase``, per batch."""
    value = WARMUP if phase == OVERALL else phase
    for batch in run.batches(["t_intended"], equals={"phase": value}):
        selected = batch[f"phase=={value}"]
        yield batch["t_intended"][~selected if phase == OVERALL else selected]


def _coverage(edges: np.ndarray, intervals: Sequence[Interval]) -> np.ndarray:
    """Seconds of each window [edges[i], edges[i+1]) inside the intervals."""
    lo, hi = edges[:-1], edges[1:]
    covered = np.zeros(len(lo))
    for start, end in intervals:
        covered += np.clip(np.minimum(hi, end) - np.maximum(lo, start), 0.0, None)
    return covered
