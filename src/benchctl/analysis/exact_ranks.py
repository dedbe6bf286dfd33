"""Exact order statistics of values read in batches, in memory that does not grow with them.

A nearest-rank percentile is one element of the sorted values; finding it does not need
every value in memory at once. Two passes over the same values (issue 16):

1. ``RankCounter.add`` counts the values per bucket of an order-preserving 64-bit key of
   each float64 (the top ``bits`` bits: sign, exponent and the first mantissa bits, so a
   bucket is 1/2**(bits - 12) of an octave wide; 16 bits: 6.25%);
2. ``RankPicker`` (``RankCounter.picker(ranks)``) keeps only the values of the buckets the
   wanted ranks fall in, and the k-th smallest value is picked among them.

The answer is exactly the element a full sort puts at rank k (``np.sort``: NaN last), so
``percentiles.nearest_rank`` and this agree bit for bit. Memory: the histogram (2**bits
counts, 512 KiB at 16 bits) plus the values of the chosen buckets, instead of 8 bytes per
value.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from benchctl.analysis.percentiles import rank

BITS = 16
_TOP = np.uint64(1 << 63)
_NAN_KEY = np.uint64(0xFFFF_FFFF_FFFF_FFFF)


def order_keys(values: np.ndarray) -> np.ndarray:
    """uint64 keys ordered as the float64 ``values`` are (``-inf < ... < -0 < 0 < ... < inf``),
    every NaN last (as ``np.sort`` puts it). Shape as ``values``; raises nothing."""
    data = np.ascontiguousarray(values, dtype=np.float64)
    bits = data.view(np.uint64)
    keys = np.where(bits >= _TOP, ~bits, bits | _TOP)
    nan = np.isnan(data)
    if nan.any():
        keys[nan] = _NAN_KEY
    return keys


class RankCounter:
    """First pass: how many values fall in each bucket of ``order_keys`` (top ``bits`` bits).

    ``add(values)`` per batch (any float array); ``n``: values counted; ``picker(ranks)``:
    the second pass for 0-based ``ranks`` (each in [0, n)). ``merged(others)``: the counts
    of several counters over the same ``bits`` as one (values pooled in that order)."""

    def __init__(self, bits: int = BITS) -> None:
        self.bits = bits
        self.counts = np.zeros(1 << bits, dtype=np.int64)
        self.n = 0

    def bucket(self, values: np.ndarray) -> np.ndarray:
        """The bucket (int64 in [0, 2**bits)) of each of ``values``."""
        return (order_keys(values) >> np.uint64(64 - self.bits)).astype(np.int64)

    def add(self, values: np.ndarray) -> None:
        """Count one batch of values (float, 1-D; NaN counts, last)."""
        if len(values):
            self.counts += np.bincount(self.bucket(values), minlength=len(self.counts))
            self.n += len(values)

    @staticmethod
    def merged(counters: Sequence[RankCounter]) -> RankCounter:
        """One counter holding the counts of ``counters`` (same ``bits``; at least one)."""
        total = RankCounter(counters[0].bits)
        for counter in counters:
            total.counts += counter.counts
            total.n += counter.n
        return total

    def picker(self, ranks: Iterable[int]) -> RankPicker:
        """The second pass that finds the values at these 0-based ``ranks`` of the counted
        values (fed the same values again, in any order and batching)."""
        return RankPicker(self, list(ranks))


class RankPicker:
    """Second pass: keeps the values of the buckets holding the wanted ranks.

    ``add(values)`` per batch (the same values as the counter saw); ``values()``: the value at
    each wanted rank, in the order asked (float64 array). ValueError from ``values()`` when a
    rank is outside [0, n) or the values fed differ from the counted ones."""

    def __init__(self, counter: RankCounter, ranks: list[int]) -> None:
        self._counter = counter
        self._ranks = ranks
        below = np.cumsum(counter.counts) - counter.counts  # values in lower buckets
        self._bucket_of = np.searchsorted(np.cumsum(counter.counts), np.asarray(ranks), "right")
        self._below = below
        self._wanted = np.zeros(len(counter.counts), dtype=bool)
        self._wanted[self._bucket_of[self._bucket_of < len(counter.counts)]] = True
        self._kept: list[np.ndarray] = []
        self._kept_bucket: list[np.ndarray] = []

    def add(self, values: np.ndarray) -> None:
        """Keep the values of this batch that lie in a wanted bucket."""
        if not len(values):
            return
        bucket = self._counter.bucket(values)
        hit = self._wanted[bucket]
        if hit.any():
            self._kept.append(np.asarray(values, dtype=np.float64)[hit])
            self._kept_bucket.append(bucket[hit])

    def values(self) -> np.ndarray:
        """The value at each wanted rank (the element ``np.sort`` of all values puts there)."""
        kept = np.concatenate(self._kept) if self._kept else np.array([])
        buckets = np.concatenate(self._kept_bucket) if self._kept else np.array([], np.int64)
        out = np.empty(len(self._ranks))
        ordered: dict[int, np.ndarray] = {}
        for i, (wanted, bucket) in enumerate(zip(self._ranks, self._bucket_of, strict=True)):
            if not 0 <= wanted < self._counter.n:
                raise ValueError(f"rank {wanted} outside the {self._counter.n} values counted")
            if int(bucket) not in ordered:
                ordered[int(bucket)] = np.sort(kept[buckets == bucket])
            within = wanted - int(self._below[bucket])
            values = ordered[int(bucket)]
            if within >= len(values):
                raise ValueError("the values fed to the picker differ from those counted")
            out[i] = values[within]
        return out


def nearest_rank_ranks(percents: Iterable[float], n: int) -> list[int]:
    """The 0-based ranks of the nearest-rank ``percents`` (each in (0, 100]) of ``n``
    values (``percentiles.rank``)."""
    return [rank(p / 100.0, n) for p in percents]


class Spread:
    """Values read in two passes, summarized as ``summary.stats_of_counts`` needs them: the
    count, sum and maximum and the bucket counts in the first pass (``add``); after
    ``want()``, the values at the nearest-rank percentiles and the median's ranks in the
    second (``pick``, the same values again; ``done()`` ends it).

    ``len``, ``median()``, ``at_percent(p)``, ``percentiles(wanted)`` answer as numpy does
    for the array of every value (NaN last; a NaN anywhere makes the maximum and mean NaN);
    the mean is the sum over batches / count (equal to numpy's to about 1e-15 relative)."""

    def __init__(self, percents: Iterable[float] = ()) -> None:
        self.counter = RankCounter()
        self.total = 0.0
        self.top = -np.inf
        self.percents = tuple(percents)
        self._picker: RankPicker | None = None
        self._ranks: list[int] = []
        self._at: dict[int, float] = {}

    def __len__(self) -> int:
        return self.counter.n

    def add(self, values: np.ndarray) -> None:
        """First pass: count one batch of values."""
        if not len(values):
            return
        self.counter.add(values)
        self.total += float(np.sum(values))
        high = float(np.max(values))
        self.top = high if np.isnan(high) or np.isnan(self.top) else max(self.top, high)

    @staticmethod
    def merged(spreads: Sequence[Spread], percents: Iterable[float] = ()) -> Spread:
        """One spread of the values of ``spreads`` together (first pass done for each)."""
        total = Spread(percents)
        total.counter = RankCounter.merged([s.counter for s in spreads] or [RankCounter()])
        for spread in spreads:
            total.total += spread.total
            if np.isnan(spread.top) or np.isnan(total.top):
                total.top = np.nan
            else:
                total.top = max(total.top, spread.top)
        return total

    def want(self) -> None:
        """Start the second pass: the ranks of ``percents`` and of the median."""
        n = self.counter.n
        if not n:
            return
        self._ranks = sorted({*nearest_rank_ranks(self.percents, n), (n - 1) // 2, n // 2})
        self._picker = self.counter.picker(self._ranks)

    def pick(self, values: np.ndarray) -> None:
        """Second pass: one batch of the same values."""
        if self._picker is not None:
            self._picker.add(values)

    def done(self) -> None:
        """End the second pass."""
        if self._picker is not None:
            self._at = dict(zip(self._ranks, self._picker.values().tolist(), strict=True))
            self._picker = None

    def median(self) -> float:
        """``np.median`` of the values (the mean of the two middle ones for an even count)."""
        n = self.counter.n
        if np.isnan(self.top):  # numpy's median of values with a NaN is NaN
            return float("nan")
        low, high = self._at[(n - 1) // 2], self._at[n // 2]
        return low if low == high else (low + high) / 2

    def percentiles(self, wanted: dict[str, float]) -> dict[str, float | None]:
        """``{key: nearest-rank percentile}`` for ``wanted`` (key: percent in (0, 100]) plus
        ``max`` and ``mean``; every one None without values."""
        n = self.counter.n
        if not n:
            return {**dict.fromkeys(wanted), "max": None, "mean": None}
        ranks = nearest_rank_ranks(wanted.values(), n)
        found = {k: self._at[r] for k, r in zip(wanted, ranks, strict=True)}
        return {**found, "max": float(self.top), "mean": float(self.total / n)}
