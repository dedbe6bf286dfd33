"""Analysis windows: requests per window of time, joined with telemetry windows.

Per window (default 5 s, warm-up dropped): offered rate, achieved throughput, latency
percentiles of successes, errors, dropped, and requests in flight measured two ways: from
the overlap of every request with the window, and by Little's law (throughput × mean
latency). They must agree; when they do not, the windows are too short or the records
are inconsistent, and the analysis says so.

Scale: ``run_windows`` reads requests.parquet in batches (two passes over 4 columns: the
time span, then the per-window sums; only the second when an earlier pass found the span)
and keeps per window only counts and sums, plus the successful latencies and their window
(12 bytes per success) for the exact nearest-rank percentiles. In flight per window is
computed in O(rows + windows) (``InFlight``): each request adds its partial overlap to its
first and last window and a +1/-1 to a difference array for the whole windows between,
never a rows × windows matrix.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from benchctl.analysis.binned_values import BinnedValues
from benchctl.analysis.request_reader import iter_batches
from benchctl.rundir.names import REQUESTS, TELEMETRY
from benchctl.rundir.requests import DROPPED, WARMUP

COLUMNS = ["t_intended", "t_start", "latency_ms", "ok", "error", "phase"]
_READ = ["t_intended", "latency_ms", "ok"]


class InFlight:
    """Time-integral of the requests outstanding per window, accumulated batch by batch.

    Input: window ``edges`` (s, increasing, n + 1 of them). ``add(begin, end)`` takes each
    request's interval (s; from intended time to completion), clipped to the edges;
    non-finite or empty intervals count for nothing. ``mean()``: the average number in
    flight per window, ∫ N(t) dt over the window / its width (the width of the first
    window, as the dense method divided by). Cost O(rows · log windows + windows): a
    request inside one window adds its length there; one that spans windows adds its
    partial overlaps to its first and last window and +1 / -1 to a difference array whose
    cumulative sum counts the whole windows it covers.
    """

    def __init__(self, edges: np.ndarray) -> None:
        self.edges = np.asarray(edges, dtype=float)
        n = len(self.edges) - 1
        self._partial = np.zeros(n)
        self._whole = np.zeros(n + 1, dtype=np.int64)

    def add(
        self,
        begin: np.ndarray,
        end: np.ndarray,
        bins: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> None:
        """Add requests' intervals: ``begin`` and ``end`` (s, same shape (rows,)), clipped to
        the edges; non-finite or empty ones count for nothing. ``bins``: the windows of
        ``begin`` and ``end`` when the caller has them (``searchsorted(edges, x, "right") - 1``
        of the unclipped times, clipped to [0, n - 1]: the same as of the clipped times,
        as searching is monotone), so they are not searched again. Raises nothing."""
        edges, n = self.edges, len(self._partial)
        begin = np.clip(np.asarray(begin, dtype=float), edges[0], edges[-1])
        end = np.clip(np.asarray(end, dtype=float), edges[0], edges[-1])
        # clipped to finite edges, a time is finite unless NaN, and a NaN fails end > begin:
        # this is isfinite(begin) & isfinite(end) & (end > begin)
        keep = end > begin
        every = bool(keep.all())  # then no copies: the same elements in the same order
        if not every:
            begin, end = begin[keep], end[keep]
        if bins is None:
            first = np.clip(np.searchsorted(edges, begin, side="right") - 1, 0, n - 1)
            last = np.clip(np.searchsorted(edges, end, side="right") - 1, 0, n - 1)
        else:
            first, last = (bins[0], bins[1]) if every else (bins[0][keep], bins[1][keep])
        one = first == last
        spans = np.flatnonzero(~one)  # the few requests that span windows
        if not spans.size:  # the sums below would all add 0
            self._partial += np.bincount(first, weights=end - begin, minlength=n)
            return
        # a request that spans windows weighs +0.0 here: every sum is >= +0.0, so adding it
        # leaves the sum as the bincount of only the others (same values, same order) had it
        inside = np.where(one, end - begin, 0.0)
        self._partial += np.bincount(first, weights=inside, minlength=n)
        first, last, begin, end = first[spans], last[spans], begin[spans], end[spans]
        self._partial += np.bincount(first, weights=edges[first + 1] - begin, minlength=n)
        self._partial += np.bincount(last, weights=end - edges[last], minlength=n)
        self._whole += np.bincount(first + 1, minlength=n + 1)
        self._whole -= np.bincount(last, minlength=n + 1)

    def mean(self, seconds: np.ndarray | None = None) -> np.ndarray:
        """The mean number in flight per window, shape (windows,): the time-integral over each
        window / ``seconds`` (each window's measured seconds, ``measured_widths``; None: the
        first window's width), s / s. Raises nothing."""
        whole = np.cumsum(self._whole)[:-1] * np.diff(self.edges)
        divisor = self.edges[1] - self.edges[0] if seconds is None else seconds
        return (self._partial + whole) / divisor


def window_index(edges: np.ndarray, times: np.ndarray) -> np.ndarray:
    """``np.searchsorted(edges, times, side="right") - 1``: the window of each time (s) among
    increasing ``edges`` (-1 before the first, len(edges) - 1 from the last on), the same
    int64 array. When ``times`` are sorted (requests are written in time order; no NaN),
    the edges are searched among the times instead, O(windows · log rows + rows), and the
    windows repeated over the rows between edges; otherwise numpy's binary search per time.
    Raises nothing."""
    if len(times) > 1 and bool((times[1:] >= times[:-1]).all()):
        before = np.searchsorted(times, edges, side="left")  # times before each edge
        counts = np.diff(before, prepend=0, append=len(times))
        return np.repeat(np.arange(-1, len(edges), dtype=np.int64), counts)
    return np.searchsorted(edges, times, side="right") - 1


def _mean_in_flight(done: np.ndarray, intended: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Average number of requests outstanding per window (from intended time to end)."""
    accumulator = InFlight(edges)
    accumulator.add(intended, done)
    return accumulator.mean()


class _Sums:
    """Per-window counts and sums over batches of measured (after warm-up) requests."""

    def __init__(self, edges: np.ndarray) -> None:
        self.edges = edges
        n = len(edges) - 1
        self.offered, self.dropped = np.zeros(n, np.int64), np.zeros(n, np.int64)
        self.ok = np.zeros(n, np.int64)
        self.sent, self.ok_latency_n = np.zeros(n, np.int64), np.zeros(n, np.int64)
        self.sent_latency_n = np.zeros(n, np.int64)
        self.sent_latency, self.ok_latency = np.zeros(n), np.zeros(n)  # sums (ms)
        self.in_flight = InFlight(edges)
        # successes' latencies by window of completion, grouped per batch (binned_values)
        self.latencies = BinnedValues(n)
        self.last_send = -np.inf  # the latest intended send counted (s): answered or not
        # the edge after each window (then +inf twice): where a later completion crosses
        self._after = np.concatenate([edges[1:], [np.inf, np.inf]])

    def add(
        self, intended: np.ndarray, latency: np.ndarray, ok: np.ndarray, dropped: np.ndarray
    ) -> np.ndarray:
        """Count one batch: ``intended`` send times (s), ``latency`` (ms, NaN for none), ``ok``
        and ``dropped`` flags, all shape (rows,). Arrivals count in their intended window, the
        rest in their completion window. Returns the sent requests' completion times (s,
        ``intended + latency / 1000``, in row order; every row's when none was dropped).
        Raises nothing."""
        edges, n = self.edges, len(self.edges) - 1
        offered_bin = window_index(edges, intended)
        if len(intended):
            self.last_send = max(self.last_send, float(np.nanmax(intended)))
        inside = (offered_bin >= 0) & (offered_bin < n)
        every_inside = bool(inside.all())
        self.offered += np.bincount(
            offered_bin if every_inside else offered_bin[inside], minlength=n
        )
        sent = ~dropped
        all_sent = not dropped.any()  # then no copies: the same elements in the same order
        if not all_sent:  # (with none dropped this bincount adds only zeros)
            self.dropped += np.bincount(offered_bin[inside & dropped], minlength=n)
            intended, latency, ok = intended[sent], latency[sent], ok[sent]
        sent_bin = offered_bin if all_sent else offered_bin[sent]
        done = intended + latency / 1000.0
        done_bin = None
        ordered = bool(len(latency)) and bool(latency.min() >= 0.0)  # (so no NaN either)
        if every_inside and ordered:
            done_bin = self._later(done, sent_bin)
        if done_bin is None:
            done_bin = np.clip(np.searchsorted(edges, done, side="right") - 1, 0, n - 1)
        # a count or sum over the same rows as one already made is that one (same inputs)
        done_n = np.bincount(done_bin, minlength=n)
        all_ok = bool(ok.all())
        self.ok += done_n if all_ok else np.bincount(done_bin[ok], minlength=n)
        self.sent += done_n  # errors: sent - ok, in ``table``
        finite = None if ordered else ~np.isnan(latency)
        all_finite = ordered or bool(finite.all())
        if all_finite:
            finite_n, finite_sum = done_n, np.bincount(done_bin, weights=latency, minlength=n)
        else:
            finite_bin = done_bin[finite]
            finite_n = np.bincount(finite_bin, minlength=n)
            finite_sum = np.bincount(finite_bin, weights=latency[finite], minlength=n)
        self.sent_latency += finite_sum
        self.sent_latency_n += finite_n
        if all_ok and all_finite:
            good_bin, good_latency = done_bin, latency
            self.ok_latency += finite_sum
            self.ok_latency_n += done_n
        else:
            good = ok if finite is None else ok & finite  # (None: every latency finite)
            good_bin, good_latency = done_bin[good], latency[good]
            self.ok_latency += np.bincount(good_bin, weights=good_latency, minlength=n)
            self.ok_latency_n += np.bincount(good_bin, minlength=n)
        self.latencies.add(good_latency, good_bin)
        first = np.clip(sent_bin, 0, n - 1)
        self.in_flight.add(intended, done, (first, done_bin))
        return done

    def _later(self, done: np.ndarray, start: np.ndarray) -> np.ndarray | None:
        """The completion windows (clipped to [0, n - 1], as ``add`` clips numpy's
        ``searchsorted(edges, done, "right") - 1``) of requests sent in windows ``start``
        (each in [0, n - 1]) that completed at or after their send (``done`` s, no NaN):
        each completion is in its send's window or a later one, so it is that window, or
        the next when it reached the next edge; None when one reached the edge after that
        too (then the caller searches). The same integers in two comparisons per request
        instead of a binary search. Raises nothing."""
        after = self._after
        window = start + (done >= after[start])
        if (done >= after[window]).any():
            return None
        return np.clip(window, 0, len(self.edges) - 2)

    def trimmed(self, edges: np.ndarray) -> _Sums | None:
        """These sums over ``edges``, the first ``m + 1`` of this one's (m windows): the same
        numbers the requests would have given counted over ``edges`` from the start, or None
        when they would not (a request counted at or beyond window m, other than a sent one
        without a latency: those count in the last window, at m - 1 over ``edges``; only
        their success and sent counts, integers, move). Used when the windows were counted
        over edges guessed before the span was known (``request_pass``). Raises nothing."""
        n, m = len(self.edges) - 1, len(edges) - 1
        if m < 1 or m > n or not np.array_equal(self.edges[: m + 1], edges):
            return None
        beyond = [self.offered, self.dropped, self.sent_latency_n, self.ok_latency_n]
        flight = self.in_flight
        if any(a[m:].any() for a in beyond) or flight._partial[m:].any():
            return None
        if flight._whole[m + 1 :].any() or self.latencies.counts()[m:].any():
            return None
        if self.sent[m : n - 1].any() or self.ok[m : n - 1].any():
            return None
        out = _Sums(edges)
        out.last_send = self.last_send
        for name in ("offered", "dropped", "ok", "sent", "ok_latency_n", "sent_latency_n"):
            setattr(out, name, getattr(self, name)[:m].copy())
        out.sent_latency, out.ok_latency = self.sent_latency[:m], self.ok_latency[:m]
        if n > m:  # the sent requests without a latency: in the last window, whichever
            out.sent[m - 1] += self.sent[n - 1]
            out.ok[m - 1] += self.ok[n - 1]
        out.in_flight._partial = flight._partial[:m].copy()
        out.in_flight._whole = flight._whole[: m + 1].copy()
        out.latencies = self.latencies.first_bins(m)
        return out

    def table(
        self, width: float, quantiles: tuple[float, ...], span: tuple[float, float] | None = None
    ) -> pd.DataFrame:
        """The per-window table, one row per window of ``width`` s: t (s), seconds (the
        part of the window the run measured: ``measured_widths`` over ``span``, the earliest
        measured send and latest completion in s, or the latest send where later; ``width``
        each without a span), offered_rps and
        throughput_rps (req/s: counts over ``seconds``), errors, dropped, the nearest-rank
        percentiles (ms) of ``quantiles`` (fractions) as p50.., mean_latency_ms
        (successes), in_flight (measured) and littles_law_in_flight (sent rate x mean
        latency); then the end windows measured for under half their width are left out
        (``_without_slivers``). Empties the latency bins (call once). Raises nothing."""
        if span is not None:  # a request sent after the last completion, never answered
            span = (span[0], max(span[1], self.last_send))
        seconds = measured_widths(self.edges, span)
        table = pd.DataFrame({"t": self.edges[:-1], "seconds": seconds})
        table["offered_rps"] = self.offered / seconds
        table["throughput_rps"] = self.ok / seconds
        table["errors"] = self.sent - self.ok  # sent and answered, not a success
        table["dropped"] = self.dropped
        found = self.latencies.quantiles(quantiles)
        self.latencies = BinnedValues(len(table))
        for q, values in zip(quantiles, found, strict=True):  # nearest rank, as everywhere
            table[f"p{q * 100:g}"] = values
        with np.errstate(invalid="ignore", divide="ignore"):
            table["mean_latency_ms"] = np.where(
                self.ok_latency_n > 0, self.ok_latency / self.ok_latency_n, np.nan
            )
            mean_sent = np.where(
                self.sent_latency_n > 0, self.sent_latency / self.sent_latency_n, np.nan
            )
        table["in_flight"] = self.in_flight.mean(seconds)
        table["littles_law_in_flight"] = self.sent / seconds * mean_sent / 1000.0
        return _without_slivers(table, width)


def measured_widths(edges: np.ndarray, span: tuple[float, float] | None) -> np.ndarray:
    """Seconds of each window (``edges``, s, n + 1 increasing) that the run measured: the
    window cut to ``span`` = (earliest measured send, latest completion), s. A run's first
    window starts at a multiple of the width before its first send (after the warm-up), and
    its last ends after its last completion (an interrupted run stops partway through it),
    so a count over either divided by the full width reads low (a run at 8 req/s stopped
    3 s into a 5 s window: its 24 sends there are 8 req/s over 3 s, not 4.8 over 5 s).
    Without a finite ``span`` (or where it leaves a window nothing) the full widths.
    Shape (n,). Raises nothing."""
    edges = np.asarray(edges, dtype=float)
    full = np.diff(edges)
    if span is None or not (np.isfinite(span[0]) and np.isfinite(span[1])):
        return full
    cut = np.minimum(edges[1:], span[1]) - np.maximum(edges[:-1], span[0])
    return np.where(cut > 0, cut, full)


def _without_slivers(table: pd.DataFrame, width: float) -> pd.DataFrame:
    """``table`` without its first and last window where the run measured under half of
    it (``seconds`` < width / 2; never its only window): a rate over a sliver of a window
    (the few stragglers completing just after the last send, or a run stopped 0.4 s into
    its last window) is noise, not a window's rate. Rows renumbered from 0."""
    short = table["seconds"].to_numpy() < width / 2.0
    first, last = 0, len(table)
    if last > 1 and short[-1]:
        last -= 1
    if last - first > 1 and short[0]:
        first += 1
    return table.iloc[first:last].reset_index(drop=True)


def window_quantiles(
    values: np.ndarray, bins: np.ndarray, n: int, quantiles: tuple[float, ...]
) -> list[np.ndarray]:
    """Nearest-rank ``quantiles`` (fractions) of ``values`` per bin 0..n-1 (NaN where a bin
    has none). Values are grouped by bin with a stable sort (near linear: requests come in
    time order), then each bin's values are sorted on their own and every quantile is an
    index into them: O(rows · log(rows per bin)), no (bin, value) sort of all rows. Batch
    by batch: ``benchctl.analysis.binned_values.BinnedValues``."""
    binned = BinnedValues(n)
    binned.add(values, bins)
    return binned.quantiles(quantiles)


def _edges(start: float, end: float, width: float) -> np.ndarray:
    return np.arange(start, end + width, width)


def request_windows(
    frame: pd.DataFrame, width: float, quantiles: tuple[float, ...]
) -> pd.DataFrame:
    """One row per window of completion time after the warm-up (from a frame in memory)."""
    measured = frame[frame["phase"] != WARMUP]
    if measured.empty:
        return pd.DataFrame()
    intended = measured["t_intended"].to_numpy(dtype=float)
    latency = measured["latency_ms"].to_numpy(dtype=float)
    start = float(intended.min() // width * width)
    done = intended + latency / 1000.0
    end = float(np.nanmax(done)) if np.isfinite(done).any() else start + width
    sums = _Sums(_edges(start, end, width))
    dropped = (measured["error"] == DROPPED).to_numpy(dtype=bool)
    sums.add(intended, latency, measured["ok"].to_numpy(dtype=bool), dropped)
    return sums.table(width, quantiles, (float(intended.min()), end))


def measured_span(span: list[float], intended: np.ndarray, latency: np.ndarray) -> None:
    """Widen ``span`` ([earliest intended send, latest finite completion], s; start it at
    [inf, -inf]) by one batch of measured (not warm-up) requests: ``intended`` (s) and
    ``latency`` (ms). A span whose start stays inf saw no measured request."""
    if not len(intended):
        return
    span[0] = min(span[0], float(intended.min()))
    done = intended + latency / 1000.0
    if np.isfinite(done).any():
        span[1] = max(span[1], float(np.nanmax(done)))


def requests_file_windows(
    path: Path,
    width: float,
    quantiles: tuple[float, ...],
    span: tuple[float, float] | None = None,
) -> pd.DataFrame:
    """``request_windows`` of a requests.parquet read in batches (same numbers): memory
    grows with the windows, plus 12 bytes per successful request for exact percentiles.
    ``span``: the measured requests' span when a pass over the file already found it
    (``summary_file.phase_latencies_and_span``); None: a first pass finds it.
    DamagedFileError (exit 2) if the file is unreadable."""
    flags = {"phase": WARMUP, "error": DROPPED}
    if span is None:
        found = [np.inf, -np.inf]
        for batch in iter_batches(path, ["t_intended", "latency_ms"], equals={"phase": WARMUP}):
            keep = ~batch["phase==warmup"]
            measured_span(found, batch["t_intended"][keep], batch["latency_ms"][keep])
        span = (found[0], found[1])
    start, end = span
    if start == np.inf:
        return pd.DataFrame()
    start = float(start // width * width)
    sums = _Sums(_edges(start, end if np.isfinite(end) else start + width, width))
    for batch in iter_batches(path, _READ, equals=flags):
        keep = ~batch["phase==warmup"]
        sums.add(
            batch["t_intended"][keep],
            batch["latency_ms"][keep],
            batch["ok"][keep],
            batch["error==dropped"][keep],
        )
    return sums.table(width, quantiles, span)


def littles_law_gap(table: pd.DataFrame) -> float | None:
    """Median relative difference between measured and Little's-law in-flight counts."""
    busy = table[table["in_flight"] > 0.05]
    if busy.empty:
        return None
    gap = (busy["littles_law_in_flight"] - busy["in_flight"]).abs() / busy["in_flight"]
    return float(gap.median())


def run_windows(
    run_dir: Path,
    width: float,
    quantiles: tuple[float, ...],
    span: tuple[float, float] | None = None,
) -> pd.DataFrame:
    """Request windows of one run, joined with its telemetry windows when it has them
    (``span``: as in ``requests_file_windows``)."""
    table = requests_file_windows(run_dir / REQUESTS, width, quantiles, span)
    return with_telemetry(run_dir, table, width)


def with_telemetry(run_dir: Path, table: pd.DataFrame, width: float) -> pd.DataFrame:
    """The request windows ``table`` (``requests_file_windows`` of the run at ``run_dir``,
    ``width`` s) joined with the run's telemetry windows when it has telemetry.parquet."""
    telemetry = run_dir / TELEMETRY
    if table.empty or not telemetry.is_file():
        return table
    from benchctl.telemetry.windows import read_telemetry, run_target, telemetry_windows

    raw = read_telemetry(telemetry)
    edges = np.append(table["t"].to_numpy(), table["t"].iloc[-1] + width)
    kind, model = run_target(run_dir)
    wide = telemetry_windows(raw, edges, kind, model).drop(columns=["t"])
    return pd.concat([table.reset_index(drop=True), wide.reset_index(drop=True)], axis=1)
