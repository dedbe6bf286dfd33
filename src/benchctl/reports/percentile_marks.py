"""Latency percentiles that rest on too few requests: the nearest-rank pP of n successes is
their largest latency (the max) when ceil(P/100 x n) >= n, i.e. n < 1 / (1 - P/100): p95
needs 20 successes, p99 100 and p99.9 1,000 before it is anything but the max (trial 8: a
13-request run printed p95 = p99 = p99.9 = max = 12.7 ms). Such a value is still shown,
marked "*", with a footnote saying so (terminal table and HTML report alike); summary.json
keeps the numbers and ``ok``, the count they rest on."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

PERCENTS = {"p50": 50.0, "p90": 90.0, "p95": 95.0, "p99": 99.0, "p99.9": 99.9}
MARK = "*"


def at_max(key: str, n: Any) -> bool:
    """Whether percentile ``key`` ("p95", ...) of ``n`` successes is their largest value
    (nearest rank ceil(P/100 x n) >= n, P/100 x n rounded to 9 decimals as
    ``analysis.percentiles.rank`` does); False for "max", an unknown key or no count."""
    percent = PERCENTS.get(key)
    if percent is None or not isinstance(n, int) or isinstance(n, bool) or n < 1:
        return False
    return math.ceil(round(percent / 100.0 * n, 9)) >= n


def mark(key: str, n: Any) -> str:
    """``MARK`` when percentile ``key`` of ``n`` successes is their max (``at_max``), else ""
    (the HTML report's ``at_max`` filter)."""
    return MARK if at_max(key, n) else ""


def needed(key: str) -> int:
    """The fewest successes whose percentile ``key`` is not their max: ceil(1 / (1 - P/100))
    (p95: 20, p99: 100, p99.9: 1,000). KeyError for an unknown key."""
    return math.ceil(round(1.0 / (1.0 - PERCENTS[key] / 100.0), 9))


def footnote(keys: Iterable[str], counts: Iterable[Any]) -> str | None:
    """The footnote of a table whose rows rest on ``counts`` successes, for the percentile
    columns ``keys``: "*: the largest latency: too few successes for that percentile (p95
    needs 20, ...; fewest here: 13)", naming the columns marked; None when none is."""
    counts = [n for n in counts if isinstance(n, int) and not isinstance(n, bool) and n > 0]
    marked = [k for k in keys if any(at_max(k, n) for n in counts)]
    if not marked:
        return None
    need = ", ".join(f"{k} needs {needed(k):,}" for k in marked)
    return (
        f"{MARK}: the largest latency of the row, too few successes for that percentile "
        f"({need}; fewest here: {min(counts):,})"
    )
