"""Change points over the history of runs: where p50, p99, throughput or error rate shifted.

The detection is Apache Otava's (``otava.analysis.compute_change_points``): E-Divisive means
(Matteson and James, "A Nonparametric Approach for Multiple Change Point Analysis of
Multivariate Data", JASA 2014) over sliding windows proposes candidate points, and a
two-sided Student's t-test between the segments on either side keeps only those with
p-value <= ``max_pvalue`` (Fleming et al., "Hunter: Using Change Point Detection to Hunt for
Performance Regressions", ICPE 2023, the method behind Otava and MongoDB's performance CI).
Otava's default significance, 0.001, is kept: on flat series of 10-40 normal or lognormal
points it finds a change point in about 2-3% of series.

Each run's numbers come from its summary.json (``overall``: every phase after the warm-up),
so the history sees what the report showed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchctl.rundir.reader import summary_overall

#: The fewest runs carrying a metric in which a change point can be found: the t-test between
#: the segments on either side needs 2 runs in each (a segment of one run has no variance).
MIN_RUNS = 4

#: metric -> (path in summary.json "overall", +1 if a rise is worse, -1 if a fall is)
METRICS: dict[str, tuple[tuple[str, ...], int]] = {
    "p50_ms": (("latency_ms", "p50"), +1),
    "p99_ms": (("latency_ms", "p99"), +1),
    "throughput_rps": (("throughput_rps",), -1),
    "error_rate": (("error_rate",), +1),
}
RATE_METRICS = ("error_rate",)
MAX_PVALUE = 0.001  # Otava's default
WINDOW = 50  # Otava's default sliding window (runs)


@dataclass(frozen=True)
class Shift:
    """One change point of one metric.

    ``index``: position (0 = oldest) of the first run after the shift; ``run``/``label``/
    ``started``: that run's id, its commit or label from run.json (else ""), its start time.
    ``before``/``after``: mean of the metric over the segments on either side (ms, req/s or a
    fraction); ``change``: ``after / before - 1``, or ``after - before`` for error_rate;
    ``pvalue``: the t-test's two-sided p-value; ``regression``: the shift makes it worse.
    """

    metric: str
    index: int
    run: str
    label: str
    started: str
    before: float
    after: float
    change: float
    pvalue: float
    regression: bool

    @property
    def kind(self) -> str:
        """How ``change`` is expressed: ``"difference"`` (after - before) for a rate metric in
        RATE_METRICS such as error_rate, else ``"ratio"`` (after / before - 1).
        """
        return "difference" if self.metric in RATE_METRICS else "ratio"


@dataclass(frozen=True)
class Point:
    """One run in a history: id, start time, label (commit or label, "" if none), numbers."""

    run: str
    started: str
    label: str
    values: dict[str, float | None]


def summary_values(run_dir: Path) -> dict[str, float | None]:
    """The key metrics of the run at ``run_dir`` from its summary.json ``overall``: ``{metric:
    value}`` for each of METRICS (p50_ms and p99_ms in ms, throughput_rps in requests/s, error_rate
    a fraction 0..1); None where missing, not a number or not finite. Never raises for a missing or
    damaged summary.json (every value is then None).
    """
    overall = summary_overall(Path(run_dir))
    found: dict[str, float | None] = {}
    for metric, (path, _) in METRICS.items():
        value: Any = overall
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        found[metric] = float(value) if ok and math.isfinite(value) else None
    return found


def run_label(info: dict[str, Any]) -> str:
    """The commit or label a run carries in run.json (``info``: its parsed object): the first
    non-empty of ``label``, ``commit``, ``git.commit``, ``git.sha``, stripped; else "". Raises
    nothing.
    """
    git = info.get("git") if isinstance(info.get("git"), dict) else {}
    for value in (info.get("label"), info.get("commit"), git.get("commit"), git.get("sha")):
        if isinstance(value, str | int) and str(value).strip():
            return str(value).strip()
    return ""


def find_shifts(
    points: Sequence[Point],
    metric: str,
    *,
    max_pvalue: float = MAX_PVALUE,
    min_change: float = 0.0,
) -> list[Shift]:
    """The change points of ``metric`` over ``points`` (oldest first), oldest first.

    Runs without the metric are left out of the series (never filled in). ``min_change``:
    drop shifts smaller than this (a fraction of the mean before, or percentage points for
    error_rate). Fewer than 4 runs with the metric: no change point can be significant, so
    none is reported. ValueError for an unknown metric.
    """
    if metric not in METRICS:
        raise ValueError(f"{metric!r}: change points are found for {', '.join(METRICS)}")
    kept = [(i, p.values.get(metric)) for i, p in enumerate(points)]
    kept = [(i, v) for i, v in kept if v is not None]
    if len(kept) < MIN_RUNS:
        return []
    from otava.analysis import compute_change_points  # numpy + scipy only

    series = [v for _, v in kept]
    found, _ = compute_change_points(
        [float(v) for v in series], window_len=WINDOW, max_pvalue=max_pvalue
    )
    worse = METRICS[metric][1]
    shifts = []
    for change_point in found:
        position = int(change_point.index)
        stats = change_point.stats
        before, after = float(stats.mean_1), float(stats.mean_2)
        if metric in RATE_METRICS:
            change = after - before
        else:
            change = after / before - 1.0 if before else math.inf
        if abs(change) < min_change:
            continue
        point = points[kept[position][0]]
        shifts.append(
            Shift(
                metric=metric,
                index=kept[position][0],
                run=point.run,
                label=point.label,
                started=point.started,
                before=before,
                after=after,
                change=change,
                pvalue=float(stats.pvalue),
                regression=(after - before) * worse > 0,
            )
        )
    return shifts


def all_shifts(
    points: Sequence[Point], *, max_pvalue: float = MAX_PVALUE, min_change: float = 0.0
) -> list[Shift]:
    """:func:`find_shifts` for every metric in :data:`METRICS`, sorted by position then metric.

    ``points``: the runs, oldest first; ``max_pvalue``: the two-sided t-test p-value a shift must be
    below (default MAX_PVALUE = 0.001, Otava's default); ``min_change``: the smallest shift kept (a
    fraction of the mean before, or percentage points for error_rate). Returns a list of Shift
    (empty with fewer than 4 runs carrying a metric). Raises nothing of its own.
    """
    found = [
        shift
        for metric in METRICS
        for shift in find_shifts(points, metric, max_pvalue=max_pvalue, min_change=min_change)
    ]
    return sorted(found, key=lambda s: (s.index, list(METRICS).index(s.metric)))
