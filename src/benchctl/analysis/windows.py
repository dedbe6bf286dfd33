"""Analysis windows: requests per window of time, joined with telemetry windows.

Per window (default 5 s, warm-up dropped): offered rate, achieved throughput, latency
percentiles of successes, errors, dropped, and requests in flight measured two ways: from
the overlap of every request with the window, and by Little's law (throughput × mean
latency). They must agree; when they do not, the windows are too short or the records
are inconsistent, and the analysis says so.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from benchctl.analysis.percentiles import grouped_quantile
from benchctl.analysis.summary import read_requests
from benchctl.load.records import DROPPED
from benchctl.load.shapes import WARMUP

COLUMNS = ["t_intended", "t_start", "latency_ms", "ok", "error", "phase"]


def request_windows(
    frame: pd.DataFrame, width: float, quantiles: tuple[float, ...]
) -> pd.DataFrame:
    """One row per window of completion time after the warm-up."""
    measured = frame[frame["phase"] != WARMUP]
    if measured.empty:
        return pd.DataFrame()
    start = float(measured["t_intended"].min() // width * width)
    done = measured["t_intended"] + measured["latency_ms"] / 1000.0
    end = float(np.nanmax(done.to_numpy())) if done.notna().any() else start + width
    edges = np.arange(start, end + width, width)
    table = pd.DataFrame({"t": edges[:-1]})
    offered_bin = np.searchsorted(edges, measured["t_intended"], side="right") - 1
    table["offered_rps"] = np.bincount(offered_bin, minlength=len(table))[: len(table)] / width
    sent = measured[measured["error"] != DROPPED]
    sent_done = (sent["t_intended"] + sent["latency_ms"] / 1000.0).to_numpy()
    done_bin = np.clip(np.searchsorted(edges, sent_done, side="right") - 1, 0, len(table) - 1)
    ok = sent["ok"].to_numpy()
    table["throughput_rps"] = np.bincount(done_bin[ok], minlength=len(table)) / width
    table["errors"] = np.bincount(done_bin[~ok], minlength=len(table))
    dropped_bin = offered_bin[(measured["error"] == DROPPED).to_numpy()]
    table["dropped"] = np.bincount(dropped_bin, minlength=len(table))[: len(table)]
    ok_latency = sent["latency_ms"].to_numpy(dtype=float)[ok]
    latency = pd.Series(ok_latency).groupby(done_bin[ok])
    for q in quantiles:  # nearest rank, as everywhere (benchctl.analysis.percentiles)
        quantile = grouped_quantile(ok_latency, done_bin[ok], q)
        table[f"p{q * 100:g}"] = quantile.reindex(range(len(table))).to_numpy()
    table["mean_latency_ms"] = latency.mean().reindex(range(len(table))).to_numpy()
    table["in_flight"] = _mean_in_flight(sent_done, sent["t_intended"].to_numpy(), edges)
    table["littles_law_in_flight"] = (
        np.bincount(done_bin, minlength=len(table))
        / width
        * pd.Series(sent["latency_ms"].to_numpy())
        .groupby(done_bin)
        .mean()
        .reindex(range(len(table)))
        .to_numpy()
        / 1000.0
    )
    return table


def _mean_in_flight(done: np.ndarray, intended: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Average number of requests outstanding per window (from intended time to end)."""
    width = edges[1] - edges[0]
    result = np.zeros(len(edges) - 1)
    lo, hi = edges[:-1], edges[1:]
    for begin, end in (
        (intended[i : i + 65536], done[i : i + 65536]) for i in range(0, len(done), 65536)
    ):
        overlap = np.clip(np.minimum(end[:, None], hi) - np.maximum(begin[:, None], lo), 0, None)
        result += overlap.sum(axis=0)
    return result / width


def littles_law_gap(table: pd.DataFrame) -> float | None:
    """Median relative difference between measured and Little's-law in-flight counts."""
    busy = table[table["in_flight"] > 0.05]
    if busy.empty:
        return None
    gap = (busy["littles_law_in_flight"] - busy["in_flight"]).abs() / busy["in_flight"]
    return float(gap.median())


def run_windows(run_dir: Path, width: float, quantiles: tuple[float, ...]) -> pd.DataFrame:
    """Request windows of one run, joined with its telemetry windows when it has them."""
    frame = read_requests(run_dir / "requests.parquet", COLUMNS)
    table = request_windows(frame, width, quantiles)
    telemetry = run_dir / "telemetry.parquet"
    if table.empty or not telemetry.is_file():
        return table
    from benchctl.telemetry.windows import read_telemetry, run_target, telemetry_windows

    raw = read_telemetry(telemetry)
    edges = np.append(table["t"].to_numpy(), table["t"].iloc[-1] + width)
    kind, model = run_target(run_dir)
    wide = telemetry_windows(raw, edges, kind, model).drop(columns=["t"])
    return pd.concat([table.reset_index(drop=True), wide.reset_index(drop=True)], axis=1)

