"""summary.json from requests.parquet: counts, throughput, latency percentiles, per phase.

Percentiles come from every raw latency (never from Locust's rounded stats), over the
requests that succeeded; latency counts from the intended send time; the definition is the
nearest rank (``benchctl.analysis.percentiles``). The warm-up phase is reported on its own
and left out of ``overall``.

Throughput is successful completions divided by the measurement interval: a phase's is the
successes that completed (intended send + latency) within its planned seconds (cut at the
stop of an interrupted run), whichever phase sent them (``phase_completions``: a backlog is
served when it completes, not when it was queued); ``overall``'s is every measured success
over the measured seconds, extended for a completed run to the last completion when the
last request finished after the planned end (so a burst the server needs 2 s to drain is
not credited to a 1 s plan). A phase's ``ok`` still counts the successes of the requests
it sent (its latencies are theirs), and ``completed`` its completions. Below
``MIN_RATE_REQUESTS`` requests sent, throughput is None and ``throughput_note`` says why: a
count of n has a relative error of about 1/sqrt(n) (32% at 10), and fewer than that is not
a rate. Over an interval shorter than the median latency of the answers it counts, throughput
and offered rate are None too (``too_short``; ``throughput_note`` says "too short to measure
a rate"): those answers' requests lay mostly outside it, so the count is a burst of what was
in flight, not a rate the server sustained (an interrupted batch: 63 answers over the 1.7 ms
before its Ctrl-C, each taking far longer, read as 36,873 req/s).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchctl.analysis.percentiles import grouped_quantile, nearest_rank
from benchctl.analysis.phase_completions import (
    Completions,
    done_times,
    phase_spans,
    served_rates,
)
from benchctl.analysis.request_reader import read_columns
from benchctl.rundir.requests import DROPPED, WARMUP

PERCENTILES = {"p50": 50, "p90": 90, "p95": 95, "p99": 99, "p99.9": 99.9}
MIN_RATE_REQUESTS = 10  # requests sent: fewer give no throughput number
_COLUMNS = ["t_intended", "latency_ms", "send_lag_ms", "ok", "error", "phase"]


def read_requests(path: Path, columns: Iterable[str] = _COLUMNS) -> pd.DataFrame:
    """``columns`` of requests.parquet as a DataFrame (``phase``/``error`` categorical),
    converted column by column so a 10-million-row run never holds two copies (see
    ``benchctl.analysis.request_reader``). DamagedFileError (exit 2) if unreadable."""
    return read_columns(path, columns)


def phase_seconds(phases: list[dict[str, Any]], end: float | None = None) -> dict[str, float]:
    """Total planned seconds per phase name (a name can recur, e.g. every spike's 'burst').

    ``phases``: ``{"name", "start", "end"}`` dicts (s on the run's clock); ``end``: the time an
    interrupted run stopped (s), cutting every phase short there; None for a whole run. Returns
    ``{name: seconds}`` in first-seen order, each >= 0. KeyError for a phase without those keys.
    """
    totals: dict[str, float] = {}
    for phase in phases:
        stop = phase["end"] if end is None else min(phase["end"], end)
        totals[phase["name"]] = totals.get(phase["name"], 0.0) + max(0.0, stop - phase["start"])
    return totals


def summarize(
    frame: pd.DataFrame, phases: list[dict[str, Any]], *, end: float | None = None
) -> dict[str, Any]:
    """The summary document (summary.json) of a run's requests.

    ``frame``: one row per request (requests.parquet's columns: t_intended s, latency_ms,
    send_lag_ms, ok, error, phase); ``phases``: the planned phases (``{"name", "start", "end"}``,
    s); ``end``: where an interrupted run stopped (s), cutting phase durations short (None: a whole
    run, whose interval then includes the overrun past the planned end). Returns
    ``{"measured_seconds", "overall", "phases", "errors"}``: overall and per-phase ``stats``
    (counts, requests/s, latency percentiles in ms) without the warm-up, and error counts by kind.
    KeyError for a missing column.
    """
    seconds = phase_seconds(phases, end)
    measured = frame[frame["phase"] != WARMUP]
    measured_seconds = sum(s for name, s in seconds.items() if name != WARMUP)
    by_phase = {
        str(name): stats(group, seconds.get(str(name), 0.0))
        for name, group in frame.groupby("phase", observed=True, sort=False)
    }
    completions = Completions(phase_spans(phases, end))  # throughput: completions (F1)
    ok = frame["ok"].to_numpy(dtype=bool)
    warmup = (frame["phase"] == WARMUP).to_numpy(dtype=bool)[ok]
    completions.add(done_times(*_floats(frame, "t_intended", "latency_ms"), ok), warmup)
    served_rates(by_phase, completions.by_name())
    ordered = {name: by_phase[name] for name in seconds if name in by_phase}
    interval = measured_seconds
    if end is None:
        interval += overrun(measured, phases)
    return {
        "measured_seconds": measured_seconds,
        "overall": offered_over_plan(stats(measured, interval), measured_seconds),
        "phases": ordered,
        "errors": _error_counts(measured),
    }


def _floats(frame: pd.DataFrame, *columns: str) -> list[np.ndarray]:
    return [frame[column].to_numpy(dtype=float) for column in columns]


def offered_over_plan(overall: dict[str, Any], planned_seconds: float) -> dict[str, Any]:
    """``overall`` with ``offered_rps`` over the planned measured seconds: arrivals happen only
    within the plan, while completions (``throughput_rps``) may run past it (``overrun``), so
    dividing the arrivals by the stretched interval understated the offered rate (100
    requests offered at 10 req/s over 10 s, the last done at 11.9 s: 8.4 instead of 10).

    ``overall``: a ``stats`` dict (changed in place and returned); ``planned_seconds``: the planned
    measured seconds. ``offered_rps`` becomes requests / planned_seconds in requests/s (None when
    0). Raises nothing.
    """
    _say_after_warmup(overall)
    if overall.get("offered_rps") is None:  # no interval, or too short (``too_short``)
        return overall
    requests = overall.get("requests") or 0
    overall["offered_rps"] = requests / planned_seconds if planned_seconds else None
    return overall


def overrun(measured: pd.DataFrame, phases: list[dict[str, Any]]) -> float:
    """Seconds (>= 0) by which the last measured request completed (t_intended + latency_ms / 1000)
    after the planned end of the last measured phase; 0.0 without phases or requests. ``measured``:
    the requests after warm-up (dropped ones are not counted); ``phases``: the planned phases (s).
    KeyError for a missing column or key.
    """
    planned = [float(p["end"]) for p in phases if p["name"] != WARMUP]
    if not planned or measured.empty:
        return 0.0
    sent = measured[measured["error"] != DROPPED]
    done = (sent["t_intended"] + sent["latency_ms"] / 1000.0).to_numpy(dtype=float)
    done = done[np.isfinite(done)]
    return max(0.0, float(done.max()) - max(planned)) if len(done) else 0.0


def stats(frame: pd.DataFrame, seconds: float) -> dict[str, Any]:
    """Counts, rates over ``seconds`` (the measurement interval, s) and percentiles of the requests
    in ``frame`` (columns ok, error, latency_ms in ms, send_lag_ms in ms): the keys and numbers of
    ``stats_of_counts`` (requests/s, latency and send-lag percentiles in ms by nearest rank, error
    and drop rates as fractions). KeyError for a missing column.
    """
    dropped = int((frame["error"] == DROPPED).sum())
    ok = int(frame["ok"].sum())
    requests = len(frame)
    latency = frame.loc[frame["ok"], "latency_ms"].to_numpy(dtype=float)
    lag = frame["send_lag_ms"].dropna().to_numpy(dtype=float)
    return stats_of_counts(requests, dropped, ok, latency, lag, seconds)


def too_short(seconds: float | None, latency_ms: np.ndarray) -> float | None:
    """The median latency (s) of the answers counted (``latency_ms``) when the interval
    ``seconds`` is shorter than it, so too short to measure a rate over; None when the
    interval holds a rate (or there is no interval or no answer).

    ``seconds``: the interval (s) or None; ``latency_ms``: the answers' latencies (ms, 1-D; or an
    ``exact_ranks.Spread`` of them). Raises nothing.
    """
    if not seconds or not len(latency_ms):
        return None
    # an exact_ranks.Spread (summary_file: read in two passes) knows its median
    spread = hasattr(latency_ms, "percentiles")
    found = latency_ms.median() if spread else np.median(latency_ms)  # type: ignore[union-attr]
    median = float(found) / 1000.0
    return median if seconds < median else None


def too_short_note(seconds: float, median_s: float, what: str) -> str:
    """Why no rate is given over ``seconds``: ``what`` happened in that interval, shorter
    than the answers' median latency ``median_s`` (both shown in ms below 1 s).

    Returns one sentence; raises nothing.
    """

    def shown(value: float) -> str:
        return f"{value * 1000:,.1f} ms" if value < 1 else f"{value:,.2f} s"

    return (
        f"too short to measure a rate: {what} in {shown(seconds)}, less than their median "
        f"latency of {shown(median_s)} (a burst of what was in flight, not a sustained rate)"
    )


def stats_of_counts(
    requests: int,
    dropped: int,
    ok: int,
    latency: np.ndarray,
    lag: np.ndarray,
    seconds: float,
) -> dict[str, Any]:
    """``stats`` from counts: ``requests`` planned (dropped included), ``dropped`` never sent,
    ``ok`` successes, ``latency`` the successes' latencies (ms), ``lag`` the send lags (ms),
    ``seconds`` the measurement interval. Shared by ``stats`` (a frame) and the batched reader
    (``summary_file``), so both give the same keys and numbers.

    Returns ``{"requests", "sent", "ok", "errors", "dropped", "error_rate", "drop_rate", "seconds",
    "offered_rps", "throughput_rps", "latency_ms", "send_lag_ms", ...}``: rates in requests/s (None
    over no interval, one shorter than the median latency, or, for throughput, fewer than
    MIN_RATE_REQUESTS = 10 sent), error_rate of the sent and drop_rate of all as fractions (None
    over zero), latency and send-lag percentiles in ms (nearest rank; None without values). Raises
    nothing of its own.
    """
    sent = requests - dropped
    return {
        "requests": requests,
        "sent": sent,
        "ok": ok,
        "errors": sent - ok,
        "dropped": dropped,
        "error_rate": (sent - ok) / sent if sent else None,
        "drop_rate": dropped / requests if requests else None,
        "seconds": seconds,
        "offered_rps": requests / seconds
        if seconds and too_short(seconds, latency) is None
        else None,
        "throughput_rps": ok / seconds
        if seconds and sent >= MIN_RATE_REQUESTS and too_short(seconds, latency) is None
        else None,
        "latency_ms": _percentiles(latency),
        "send_lag_ms": _percentiles(lag, keys=("p50", "p99")),
        **_throughput_note(sent, seconds, ok, latency),
    }


def _throughput_note(
    sent: int, seconds: float, ok: int = 0, latency: np.ndarray | None = None
) -> dict[str, str]:
    if not seconds:
        return {"throughput_note": "no measurement interval: no throughput"}
    median = too_short(seconds, latency if latency is not None else np.array([]))
    if median is not None:
        what = f"{ok:,} of {sent:,} sent answered"
        return {"throughput_note": too_short_note(seconds, median, what)}
    if sent < MIN_RATE_REQUESTS:
        return {"throughput_note": _too_few_note(sent)}
    return {}


def _too_few_note(sent: int, where: str = "") -> str:
    """The note for a throughput not given: ``sent`` (< MIN_RATE_REQUESTS) requests sent
    ``where`` (e.g. " after the warm-up")."""
    return f"only {sent:,} requests sent{where}: throughput needs at least {MIN_RATE_REQUESTS}"


def _say_after_warmup(overall: dict[str, Any]) -> None:
    """``overall`` counts the requests after the warm-up only: its too-few note says so
    (trial 5: "only 0 requests sent" on a run stopped in its warm-up, which sent 191).
    Changes ``overall`` in place."""
    sent = overall.get("sent") or 0
    if overall.get("throughput_note") == _too_few_note(sent):
        overall["throughput_note"] = _too_few_note(sent, " after the warm-up")


def windows(frame: pd.DataFrame, width: float = 5.0) -> pd.DataFrame:
    """Per ``width``-second window of intended send time (default 5 s): a DataFrame with ``t`` (the
    window's start, s), offered_rps (requests intended in it / width), achieved_rps (successes
    completed in it / width), p50/p95/p99 of the successes' latency (ms, nearest rank; NaN without
    any), errors and dropped (counts). Empty (those columns) for an empty ``frame``. KeyError for a
    missing column.
    """
    if frame.empty:
        return pd.DataFrame(
            columns=["t", "offered_rps", "achieved_rps", "p50", "p95", "p99", "errors", "dropped"]
        )
    bins = (frame["t_intended"] // width).astype(int)
    done = ((frame["t_intended"] + frame["latency_ms"] / 1000.0) // width).dropna().astype(int)
    grouped = frame.assign(bin=bins).groupby("bin")
    ok_latency = frame["latency_ms"].where(frame["ok"])
    index = np.arange(bins.min(), bins.max() + 1)
    result = pd.DataFrame(index=index)
    result["t"] = index * width
    result["offered_rps"] = grouped.size().reindex(index, fill_value=0) / width
    ok_done = done[frame.loc[done.index, "ok"]]
    result["achieved_rps"] = ok_done.value_counts().reindex(index, fill_value=0) / width
    for q, name in ((0.5, "p50"), (0.95, "p95"), (0.99, "p99")):
        quantile = grouped_quantile(ok_latency.to_numpy(dtype=float), bins.to_numpy(), q)
        result[name] = quantile.reindex(index).to_numpy()
    errors = (~frame["ok"]) & (frame["error"] != DROPPED)
    result["errors"] = errors.groupby(bins).sum().reindex(index, fill_value=0)
    result["dropped"] = (frame["error"] == DROPPED).groupby(bins).sum().reindex(index, fill_value=0)
    return result.reset_index(drop=True)


def _percentiles(
    values: np.ndarray, keys: Iterable[str] = tuple(PERCENTILES)
) -> dict[str, float | None]:
    keys = list(keys)
    if hasattr(values, "percentiles"):  # an exact_ranks.Spread (summary_file)
        return values.percentiles({k: PERCENTILES[k] for k in keys})
    if not len(values):
        return {**dict.fromkeys(keys), "max": None, "mean": None}
    points = nearest_rank(values, [PERCENTILES[k] for k in keys])
    result = {k: float(v) for k, v in zip(keys, points, strict=True)}
    return {**result, "max": float(values.max()), "mean": float(values.mean())}


def _error_counts(frame: pd.DataFrame) -> dict[str, int]:
    counts = frame.loc[~frame["ok"], "error"].astype(str).value_counts()
    return {str(kind): int(n) for kind, n in counts.items()}
