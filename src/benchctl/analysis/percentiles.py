"""The one percentile definition benchctl uses: nearest rank.

The p-th percentile of n values is the smallest value at or below which at least p% of
the values lie: the ``ceil(p/100 · n)``-th smallest (1-based). It is what HdrHistogram
(``getValueAtPercentile``), wrk2 and most load testers report, numpy's
``method="inverted_cdf"``, and it is always a latency some request really had: p99 of
990 × 10 ms and 10 × 1000 ms is 10 ms (the 990th value), where linear interpolation gives
19.9 ms, a latency no request had. Summary, analysis windows, capacity points, the gate's
point estimate and its bootstrap, and the reports all use it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # pandas is imported only where grouped quantiles are needed (not by the
    import pandas as pd  # engine process, whose live display uses ``nearest_rank``)

_DIGITS = 9  # p/100 · n is rounded here first, so 99.9% of 1000 is rank 999, not 1000


def rank(fraction: float, n: int) -> int:
    """0-based index of the nearest-rank ``fraction`` quantile (0 < fraction <= 1) in n
    sorted values: ``ceil(fraction · n) - 1``, at least 0.

    ``fraction x n`` is rounded to _DIGITS = 9 decimals first, so 0.999 x 1000 is rank 999, not
    1000. Raises nothing (n = 0 gives 0: the caller checks for values).
    """
    return max(0, math.ceil(round(fraction * n, _DIGITS)) - 1)


def ranks(fraction: float, counts: np.ndarray) -> np.ndarray:
    """``rank`` for many group sizes at once: the 0-based index of the nearest-rank ``fraction``
    quantile (0 < fraction <= 1) in each group of ``counts[i]`` sorted values, ceil(fraction x
    count) - 1 (after rounding fraction x count to _DIGITS = 9 decimals, so float noise does not
    push an exact rank up), at least 0. Returns an int64 array shaped like ``counts``; raises
    nothing (a count of 0 gives index 0: the caller skips it).
    """
    scaled = np.round(fraction * np.asarray(counts, dtype=float), _DIGITS)
    return np.maximum(np.ceil(scaled).astype(np.int64) - 1, 0)


def nearest_rank(values: np.ndarray, percents: Iterable[float]) -> np.ndarray:
    """The nearest-rank percentiles (each in (0, 100]) of ``values``; ValueError if empty.

    The ranked values are found by selection (``np.partition`` at the needed ranks: the
    element a full sort would put there, NaN last as in a sort), O(n) instead of
    O(n log n): a 10-million-latency summary selects its six ranks instead of sorting."""
    data = np.asarray(values, dtype=float)
    if not len(data):
        raise ValueError("no values: a percentile needs at least one")
    at = [rank(p / 100.0, len(data)) for p in percents]
    if not at:
        return np.array([])
    data = np.partition(data, sorted(set(at)))
    return np.array([data[i] for i in at])


def percentile(values: np.ndarray, percent: float) -> float:
    """One nearest-rank percentile of ``values`` (any unit, 1-D), in that unit.

    ``percent``: in (0, 100], e.g. 99.0. Raises ValueError when ``values`` is empty.
    """
    return float(nearest_rank(values, (percent,))[0])


def grouped_quantile(values: np.ndarray, groups: np.ndarray, fraction: float) -> pd.Series:
    """The nearest-rank ``fraction`` quantile of ``values`` within each group (an integer
    code per value), indexed by group; NaN values are left out.

    ``values``: shape (k,), any unit; ``groups``: shape (k,), one integer code per value;
    ``fraction`` in (0, 1]. Returns a float Series in the values' unit, one entry per group that has
    a value (empty when none does). Raises IndexError (numpy) when the two arrays differ in length.
    """
    import pandas as pd

    values = np.asarray(values, dtype=float)
    groups = np.asarray(groups)
    keep = ~np.isnan(values)
    values, groups = values[keep], groups[keep]
    if not len(values):
        return pd.Series(dtype=float)
    order = np.lexsort((values, groups))
    values, groups = values[order], groups[order]
    codes, starts, counts = np.unique(groups, return_index=True, return_counts=True)
    return pd.Series(values[starts + ranks(fraction, counts)], index=codes)
