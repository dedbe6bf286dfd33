"""Per-window nearest-rank quantiles added batch by batch (analysis/binned_values.py)."""

from __future__ import annotations

import numpy as np

from benchctl.analysis.binned_values import BinnedValues
from benchctl.analysis.percentiles import nearest_rank


def test_a_window_split_across_batches_known_answer() -> None:
    """Window 0 gets 1..10 ms over two batches (1..6, then 7..10), window 1 gets 100 and
    200, window 2 nothing. Nearest rank: p50 of 10 values is the ceil(5)=5th smallest = 5 ms,
    p90 the 9th = 9 ms, p100 the 10th = 10 ms; of (100, 200): p50 is the 1st = 100 ms, p90
    and p100 the 2nd = 200 ms; window 2 is NaN."""
    binned = BinnedValues(3)
    binned.add(np.array([6.0, 100.0, 1.0, 5.0, 2.0, 4.0, 3.0]), np.array([0, 1, 0, 0, 0, 0, 0]))
    binned.add(np.array([10.0, 8.0, 200.0, 7.0, 9.0]), np.array([0, 0, 1, 0, 0]))
    p50, p90, p100 = binned.quantiles((0.5, 0.9, 1.0))
    np.testing.assert_array_equal(p50, [5.0, 100.0, np.nan])
    np.testing.assert_array_equal(p90, [9.0, 200.0, np.nan])
    np.testing.assert_array_equal(p100, [10.0, 200.0, np.nan])
    np.testing.assert_array_equal(binned.counts(), [10, 2, 0])


def test_batches_give_the_same_quantiles_as_one_sort_per_window() -> None:
    """Random batches with overlapping windows: each window's quantile equals nearest_rank of
    all its values gathered at once (the definition), whatever the batching."""
    rng = np.random.default_rng(7)
    n = 40
    values = rng.exponential(10.0, size=20_000).round(2)  # ties on purpose
    bins = np.sort(rng.integers(0, n, size=values.size))  # time order, as requests come
    bins[::97] = rng.integers(0, n, size=bins[::97].size)  # and a few out of order
    binned = BinnedValues(n)
    for part in np.array_split(np.arange(values.size), 7):
        binned.add(values[part], bins[part])
    found = binned.quantiles((0.5, 0.99, 0.999))
    for i in range(n):
        expected = nearest_rank(values[bins == i], (50, 99, 99.9))
        assert [f[i] for f in found] == list(expected)


def test_no_values_gives_nan_windows() -> None:
    binned = BinnedValues(2)
    binned.add(np.array([]), np.array([], dtype=np.int64))
    (p99,) = binned.quantiles((0.99,))
    assert np.isnan(p99).all() and len(p99) == 2
