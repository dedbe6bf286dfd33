"""From each server's raw Prometheus samples to per-window server-side numbers.

One mapping per server kind, here and nowhere else: which cumulative counters give the
number of requests the server finished, and the time they spent queued and computing.
Counters become per-window deltas (interpolated at the window edges, resets handled);
histograms and summaries give their ``_sum``/``_count`` and quantiles.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class MetricMap:
    """Sample names (summed over label sets) and the unit factor to milliseconds."""

    requests: str  # cumulative count of finished inference requests
    queue: tuple[str, ...] = ()  # cumulative queue time
    compute: tuple[str, ...] = ()  # cumulative compute time
    to_ms: float = 1.0


SERVER_METRICS: dict[str, MetricMap] = {
    # Triton: counters in microseconds; success count excludes failures.
    "triton": MetricMap(
        requests="nv_inference_request_success",
        queue=("nv_inference_queue_duration_us",),
        compute=(
            "nv_inference_compute_input_duration_us",
            "nv_inference_compute_infer_duration_us",
            "nv_inference_compute_output_duration_us",
        ),
        to_ms=1e-3,
    ),
    # TorchServe: cumulative counters (not histograms) in microseconds.
    "torchserve": MetricMap(
        requests="ts_inference_requests_total",
        queue=("ts_queue_latency_microseconds",),
        compute=("ts_inference_latency_microseconds",),
        to_ms=1e-3,
    ),
    # KServe: histograms in seconds; no queue metric.
    "kserve": MetricMap(
        requests="request_predict_seconds_count",
        compute=(
            "request_preprocess_seconds_sum",
            "request_predict_seconds_sum",
            "request_postprocess_seconds_sum",
        ),
        to_ms=1e3,
    ),
    # TF-Serving (with --monitoring_config_file): latency histogram in microseconds.
    "tfserving": MetricMap(
        requests=":tensorflow:serving:request_count",
        compute=(":tensorflow:serving:request_latency_sum",),
        to_ms=1e-3,
    ),
}


def cumulative(raw: pd.DataFrame, name: str) -> pd.Series:
    """A counter summed over its label sets at every scrape, with resets undone.

    Labelled series appear only after their first observation: at scrapes before that the
    counter is 0, not unknown.
    """
    rows = raw[raw["metric"] == name]
    if rows.empty:
        return pd.Series(dtype=float)
    scrapes = np.unique(raw["time"].to_numpy())
    series = rows.groupby("time")["value"].sum().reindex(scrapes)
    first = series.first_valid_index()
    series[series.index < first] = 0.0
    series = series.ffill()
    steps = series.diff().fillna(series.iloc[0])
    steps[steps < 0] = series[steps < 0]  # a restart: the counter began again at 0
    return steps.cumsum()


def per_window(series: pd.Series, edges: np.ndarray) -> np.ndarray:
    """Increase of a cumulative series over each window (interpolated at the edges).

    Outside the scraped span the counter is taken as flat: the monitor scrapes once before
    the load starts and once after it ends.
    """
    if series.empty:
        return np.full(len(edges) - 1, np.nan)
    return np.diff(np.interp(edges, series.index.to_numpy(), series.to_numpy()))


def server_windows(raw: pd.DataFrame, kind: str, edges: np.ndarray) -> pd.DataFrame:
    """Per window: server-side requests finished, mean queue and compute ms per request."""
    mapping = SERVER_METRICS.get(kind)
    result = pd.DataFrame({"t": edges[:-1]})
    if mapping is None or raw.empty:
        for column in ("server_requests", "server_queue_ms", "server_compute_ms"):
            result[column] = np.nan
        return result
    requests = per_window(cumulative(raw, mapping.requests), edges)
    result["server_requests"] = requests
    for column, names in (
        ("server_queue_ms", mapping.queue),
        ("server_compute_ms", mapping.compute),
    ):
        if not names:
            result[column] = np.nan
            continue
        total = sum(per_window(cumulative(raw, name), edges) for name in names)
        with np.errstate(divide="ignore", invalid="ignore"):
            result[column] = np.where(requests > 0, total * mapping.to_ms / requests, np.nan)
    return result
