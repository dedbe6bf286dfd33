"""Exact nearest-rank quantiles per bin (window) of values that arrive batch by batch.

A batch of requests.parquet gives each successful request's latency and its window. The
values are kept once, grouped by window inside their batch (one stable sort of the batch by
window: near linear, requests come in time order), with a count per (batch, window); the
bins themselves are not kept, and there is never one array of the whole run's values and
its sort order. At the end each window's values (its slice of each batch that has any: one
or two, as windows are short next to a batch) are joined and the wanted ranks selected
(``np.partition``: the elements a sort puts there, without sorting), and every quantile is
an index into them (``benchctl.analysis.percentiles.ranks``: nearest rank).
Memory: 8 bytes per value plus the counts (batches × windows), instead of the 8 + 4 bytes
per value, their concatenation, the sort order (8) and the grouped copy (8) of one
whole-run sort.
"""

from __future__ import annotations

import numpy as np

from benchctl.analysis.percentiles import ranks


class BinnedValues:
    """Values in bins ``0 .. n-1`` (``n`` windows), added per batch; ``quantiles`` at the end.

    ``add(values, bins)``: float values (ms) and their integer bin in [0, n) (the caller
    drops NaN values and out-of-range bins as it means them). ``quantiles(fractions)``: one
    float array of length ``n`` per fraction (each in (0, 1]), the nearest-rank quantile of
    the bin's values, NaN for a bin without values. Raises nothing of its own.
    """

    def __init__(self, n: int) -> None:
        self.n = n
        self._values: list[np.ndarray] = []  # per batch, grouped by bin
        self._counts: list[np.ndarray] = []  # per batch, values per bin

    def add(self, values: np.ndarray, bins: np.ndarray) -> None:
        """Add one batch: ``values`` (shape (k,), ms) and their ``bins`` (shape (k,), integers in
        [0, n)).

        Keeps the values grouped by bin (one stable argsort of ``bins``) and the count per bin.
        An empty batch is ignored. Raises nothing of its own; a bin outside [0, n) is the
        caller's error (numpy raises ValueError for a negative one; one >= n is dropped from the
        counts, so the caller filters them first).
        """
        values = np.asarray(values, dtype=np.float64)
        if not len(values):
            return
        bins = np.asarray(bins)
        order = np.argsort(bins, kind="stable")
        self._values.append(values[order])
        self._counts.append(np.bincount(bins, minlength=self.n)[: self.n])

    def first_bins(self, m: int) -> BinnedValues:
        """These values in bins ``0 .. m-1`` only (m <= n), the same values in the same order:
        the caller has checked that no value lies in a later bin (``counts()[m:]`` is zero).
        Shares the values; raises nothing."""
        out = BinnedValues(m)
        out._values = self._values
        out._counts = [c[:m] for c in self._counts]
        return out

    def counts(self) -> np.ndarray:
        """Values per bin (int64, length ``n``)."""
        if not self._counts:
            return np.zeros(self.n, dtype=np.int64)
        return np.sum(self._counts, axis=0)

    def quantiles(self, fractions: tuple[float, ...]) -> list[np.ndarray]:
        """Nearest-rank quantiles of each bin's values, one array per fraction.

        ``fractions``: each in (0, 1] (0.99 = p99). Returns a list of ``len(fractions)`` float
        arrays of shape (n,), in the values' unit (ms); NaN for a bin without values. The rank
        is ``benchctl.analysis.percentiles.ranks`` (nearest rank: the ceil(q * count)-th
        smallest value). Raises nothing of its own.
        """
        result = [np.full(self.n, np.nan) for _ in fractions]
        if not self._values:
            return result
        per_batch = np.vstack(self._counts)  # batches × bins
        stops = np.cumsum(per_batch, axis=1)
        counts = per_batch.sum(axis=0)
        at = [ranks(q, counts) for q in fractions]
        for i in np.flatnonzero(counts):
            holders = np.flatnonzero(per_batch[:, i])
            pieces = [self._values[b][stops[b, i] - per_batch[b, i] : stops[b, i]] for b in holders]
            wanted = [int(index[i]) for index in at]
            # selection, not a sort: np.partition puts at each wanted rank the element a
            # sort would (O(values) instead of O(values log values) per window)
            joined = pieces[0] if len(pieces) == 1 else np.concatenate(pieces)
            ordered = np.partition(joined, sorted(set(wanted)))
            for column, index in zip(result, wanted, strict=True):
                column[i] = ordered[index]
        return result
