"""summary.json and the report's time windows straight from requests.parquet, in batches.

``summarize_file`` gives the same document as ``summarize(read_requests(path), phases,
end=end)`` and ``file_windows`` the same table as ``summary.windows(read_requests(path),
width)``, without a DataFrame of the run: requests.parquet is read in batches of the needed
columns, counts are summed per phase or window, and only what an exact nearest-rank
percentile needs is kept: the successful requests' latencies (8 bytes each, plus 4 for the
window) and the send lags (8 bytes each). A 10-million-request run needs about 170 MB
there, instead of a 6-column frame and its per-phase copies (about 1.6 GB).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchctl.analysis.binned_values import BinnedValues
from benchctl.analysis.exact_ranks import Spread
from benchctl.analysis.phase_completions import Completions, done_times, phase_spans, served_rates
from benchctl.analysis.request_reader import (
    BATCH_ROWS,
    SUMMARY_COLUMNS,
    as_numpy,
    damaged,
    iter_batches,
    open_requests,
)
from benchctl.analysis.summary import (
    PERCENTILES,
    offered_over_plan,
    phase_seconds,
    stats_of_counts,
)
from benchctl.analysis.windows import measured_span
from benchctl.rundir.requests import DROPPED, WARMUP

_NULL = "\0"  # a request without a phase: measured, but in no phase of its own


class _Phase:
    """Counts and the two-pass spreads (``exact_ranks.Spread``) of one phase's latencies
    and send lags."""

    def __init__(self) -> None:
        self.requests = self.dropped = self.ok = 0
        self.latency = Spread(PERCENTILES.values())  # successes
        self.lag = Spread(PERCENTILES.values())  # non-null send lags
        self.errors: Counter[str] = Counter()


def summarize_file(
    path: Path, phases: list[dict[str, Any]], *, end: float | None = None
) -> dict[str, Any]:
    """The summary document of requests.parquet (see ``summary.summarize``: same inputs
    except the path, same output). Two passes over the file: counts and each phase's
    latency and send-lag buckets, then the values at the percentiles' ranks, so memory does
    not grow with the rows (``exact_ranks``). DamagedFileError (exit 2) if unreadable."""
    seconds = phase_seconds(phases, end)
    planned = [float(p["end"]) for p in phases if p["name"] != WARMUP]
    groups: dict[str, _Phase] = {}
    last_done = -np.inf
    completions = Completions(phase_spans(phases, end))  # a phase's throughput (F1)
    for name, batch, rows, dropped in _phase_rows(path):
        ok, latency = batch["ok"], batch["latency_ms"]
        group = groups.setdefault(name, _Phase())
        group.requests += int(rows.sum())
        group.dropped += int((rows & dropped).sum())
        good = rows & ok
        group.ok += int(good.sum())
        completions.add(done_times(batch["t_intended"], latency, good), name == WARMUP)
        group.latency.add(latency[good])
        group.lag.add(_lags(batch, rows))
        error_codes, error_names = batch["error"]
        failed = error_codes[rows & ~ok]
        counts = np.bincount(failed, minlength=len(error_names))
        group.errors.update({str(error_names[i]): int(n) for i, n in enumerate(counts) if n})
        if name != WARMUP:
            sent = rows & ~dropped
            done = batch["t_intended"][sent] + latency[sent] / 1000.0
            done = done[np.isfinite(done)]
            if len(done):
                last_done = max(last_done, float(done.max()))
    measured = [group for name, group in groups.items() if name != WARMUP]
    overall = _merge(measured)
    for spread in _spreads([*groups.values(), overall]):
        spread.want()
    for name, batch, rows, _ in _phase_rows(path):  # the second pass: values at the ranks
        group = groups[name]
        latency, lag = batch["latency_ms"][rows & batch["ok"]], _lags(batch, rows)
        group.latency.pick(latency)
        group.lag.pick(lag)
        if name != WARMUP:
            overall.latency.pick(latency)
            overall.lag.pick(lag)
    for spread in _spreads([*groups.values(), overall]):
        spread.done()
    stats = {name: _stats(group, seconds.get(name, 0.0)) for name, group in groups.items()}
    by_phase = served_rates(stats, completions.by_name())
    measured_seconds = sum(s for name, s in seconds.items() if name != WARMUP)
    interval = measured_seconds
    if end is None and planned and np.isfinite(last_done):
        interval += max(0.0, last_done - max(planned))
    return {
        "measured_seconds": measured_seconds,
        "overall": offered_over_plan(_stats(overall, interval), measured_seconds),
        "phases": {name: by_phase[name] for name in seconds if name in by_phase},
        "errors": dict(overall.errors.most_common()),
    }


def _phase_rows(path: Path) -> Iterator[tuple[str, dict[str, Any], np.ndarray, np.ndarray]]:
    """Per batch and phase present in it: (phase name, the batch, its rows of the phase,
    every row's dropped flag)."""
    columns = ["t_intended", "latency_ms", "send_lag_ms", "ok"]
    for batch in _phase_batches(path, columns):
        codes, names = batch["phase"]
        error_codes, error_names = batch["error"]
        dropped = (error_names == DROPPED)[error_codes]
        for code, name in enumerate(names):
            rows = codes == code
            if rows.any():
                yield str(name), batch, rows, dropped


def _lags(batch: dict[str, Any], rows: np.ndarray) -> np.ndarray:
    """The non-null send lags (ms) of ``rows``."""
    kept = batch["send_lag_ms"][rows]
    return kept[~np.isnan(kept)]


def _spreads(groups: list[_Phase]) -> Iterator[Spread]:
    for group in groups:
        yield group.latency
        yield group.lag


def _phase_batches(path: Path, columns: list[str]) -> Iterator[dict[str, Any]]:
    """Batches with ``phase`` and ``error`` as (int codes, their strings): a batch's
    dictionary is read once, never a million strings; a null phase gets the code of
    ``_NULL``, a null error that of "nan" (as ``astype(str)`` names it)."""
    import pyarrow as pa

    # The columns summary.json needs are all checked (in one line naming those lacking, in
    # read_requests' order), whichever of them this batch reads.
    parquet = open_requests(path, dict.fromkeys([*SUMMARY_COLUMNS, *columns]))
    try:
        for batch in parquet.iter_batches(
            batch_size=BATCH_ROWS, columns=[*columns, "phase", "error"]
        ):
            out: dict[str, Any] = {name: as_numpy(batch.column(name)) for name in columns}
            out["phase"] = _codes(batch.column("phase"), _NULL)
            out["error"] = _codes(batch.column("error"), "nan")
            yield out
    except (OSError, pa.ArrowException) as exc:
        raise damaged(Path(path), exc) from None


def _codes(array: Any, null: str) -> tuple[np.ndarray, np.ndarray]:
    """(codes, strings) of a dictionary or string column; nulls become ``null``."""
    import pyarrow as pa

    if not pa.types.is_dictionary(array.type):
        array = array.dictionary_encode()
    strings = [null if s is None else str(s) for s in array.dictionary.to_pylist()]
    codes = array.indices.to_numpy(zero_copy_only=False)
    if array.null_count:
        codes = np.where(array.is_valid().to_numpy(zero_copy_only=False), codes, len(strings))
        strings.append(null)
    # Equal strings in one dictionary (possible after a merge) share the first code.
    names, first = np.unique(np.asarray(strings, dtype=object), return_inverse=True)
    return first[codes.astype(np.int64)], names


def _merge(groups: list[_Phase]) -> _Phase:
    """The phases' counts as one; its spreads pool theirs (their second pass is fed the
    same values)."""
    total = _Phase()
    for group in groups:
        total.requests += group.requests
        total.dropped += group.dropped
        total.ok += group.ok
        total.errors.update(group.errors)
    total.latency = Spread.merged([group.latency for group in groups], PERCENTILES.values())
    total.lag = Spread.merged([group.lag for group in groups], PERCENTILES.values())
    return total


def _stats(group: _Phase, seconds: float) -> dict[str, Any]:
    """``summary.stats`` of one phase's sums and spreads (same keys, same numbers)."""
    return stats_of_counts(
        group.requests, group.dropped, group.ok, group.latency, group.lag, seconds
    )


def file_windows(path: Path, width: float = 5.0) -> pd.DataFrame:
    """``summary.windows`` of requests.parquet, read in batches: per window of intended send
    time, offered and achieved rate (successes per window of completion), p50/p95/p99 of
    successes, errors and dropped. DamagedFileError (exit 2) if unreadable."""
    low, high = np.inf, -np.inf
    for batch in iter_batches(path, ["t_intended"]):
        if len(batch["t_intended"]):
            bins = np.floor_divide(batch["t_intended"], width)
            low, high = min(low, float(bins.min())), max(high, float(bins.max()))
    if not np.isfinite(low):
        return pd.DataFrame(
            columns=["t", "offered_rps", "achieved_rps", "p50", "p95", "p99", "errors", "dropped"]
        )
    first, n = int(low), int(high) - int(low) + 1
    offered, achieved = np.zeros(n, np.int64), np.zeros(n, np.int64)
    errors, dropped_n = np.zeros(n, np.int64), np.zeros(n, np.int64)
    latencies = BinnedValues(n)  # successes' latencies by window of intended send
    columns = ["t_intended", "latency_ms", "ok"]
    for batch in iter_batches(path, columns, equals={"error": DROPPED}):
        t, latency, ok = batch["t_intended"], batch["latency_ms"], batch["ok"]
        dropped = batch["error==dropped"]
        index = np.floor_divide(t, width).astype(np.int64) - first
        offered += np.bincount(index, minlength=n)
        errors += np.bincount(index[~ok & ~dropped], minlength=n)
        dropped_n += np.bincount(index[dropped], minlength=n)
        done = (t + latency / 1000.0) // width
        counted = ok & ~np.isnan(done)
        done_index = done[counted].astype(np.int64) - first
        done_index = done_index[(done_index >= 0) & (done_index < n)]
        achieved += np.bincount(done_index, minlength=n)
        good = ok & ~np.isnan(latency)
        latencies.add(latency[good], index[good])
    p50, p95, p99 = latencies.quantiles((0.5, 0.95, 0.99))
    del latencies
    index = np.arange(first, first + n)
    return pd.DataFrame(
        {
            "t": index * width,
            "offered_rps": offered / width,
            "achieved_rps": achieved / width,
            "p50": p50,
            "p95": p95,
            "p99": p99,
            "errors": errors,
            "dropped": dropped_n,
        }
    )


def phase_latencies(path: Path) -> dict[str, np.ndarray]:
    """The successful requests' latencies (ms) per phase of requests.parquet, warm-up left
    out, read in batches (8 bytes per success; no frame). DamagedFileError if unreadable."""
    return _phase_latencies(path, None)


# called per batch with its measured rows (a mask, or None for all): ``phase_latencies_with``
MeasuredRows = Callable[[dict[str, Any], "np.ndarray | None"], None]


def phase_latencies_and_span(path: Path) -> tuple[dict[str, np.ndarray], tuple[float, float]]:
    """``phase_latencies`` and, from the same pass over the file, the measured requests'
    span (``benchctl.analysis.windows.measured_span``: earliest intended send, latest
    finite completion, of every row not in the warm-up), so that the windows need no pass
    of their own to find it. DamagedFileError if unreadable."""
    span = [math.inf, -math.inf]

    def widen(batch: dict[str, Any], keep: np.ndarray | None) -> None:
        if keep is None:  # no warm-up row in this batch: every row is measured
            measured_span(span, batch["t_intended"], batch["latency_ms"])
        else:
            measured_span(span, batch["t_intended"][keep], batch["latency_ms"][keep])

    return _phase_latencies(path, widen), (span[0], span[1])


def phase_latencies_with(path: Path, measured: MeasuredRows) -> dict[str, list[np.ndarray]]:
    """``phase_latencies`` as the pieces each batch gave (in file order: their
    concatenation is ``phase_latencies``'s array), and in the same pass ``measured(batch,
    keep)`` called with each batch (``_phase_batches``: t_intended, latency_ms, ok as numpy
    arrays, phase and error as (codes, strings)) and its measured rows (``keep``: the rows
    not in the warm-up, a boolean mask, or None when every row is), in file order: the
    windows counted in the pass that collects the level latencies (``request_pass``).
    DamagedFileError if unreadable."""
    return _phase_pieces(path, measured)


def _phase_latencies(path: Path, measured: MeasuredRows | None) -> dict[str, np.ndarray]:
    parts = _phase_pieces(path, measured)
    # each phase's pieces are let go as they are joined (not all pieces and all joined at once)
    return {name: np.concatenate(parts.pop(name)) for name in list(parts)}


def _phase_pieces(path: Path, measured: MeasuredRows | None) -> dict[str, list[np.ndarray]]:
    parts: dict[str, list[np.ndarray]] = {}
    columns = ["latency_ms", "ok"] if measured is None else ["t_intended", "latency_ms", "ok"]
    for batch in _phase_batches(path, columns):
        codes, names = batch["phase"]
        latency, ok = batch["latency_ms"], batch["ok"]
        # a batch of one phase (most are: a level is many batches long) takes its successes
        # without a pass per phase name; the same values in the same order either way
        single = len(codes) > 0 and codes.min() == codes.max()
        present = [int(codes[0])] if single else range(len(names))
        for code in present:
            name = names[code]
            if name in (WARMUP, _NULL):
                continue
            rows = ok if single else (codes == code) & ok
            if rows.any():
                taken = latency.copy() if rows.all() else latency[rows]
                parts.setdefault(str(name), []).append(taken)
        if measured is not None:
            warm = [code for code, name in enumerate(names) if name == WARMUP]
            if warm and not (single and names[codes[0]] != WARMUP):
                measured(batch, ~np.isin(codes, warm))
            else:  # no warm-up row in this batch: every row is measured
                measured(batch, None)
    return parts
