"""Latency by input popularity for a payload-pool run (``payload.pool`` > 1), for summary.json.

Inputs are ranked by how many measured requests carried them (the ``input_id`` column,
per model); the requests to the ``HOT`` most requested inputs are compared with the rest:
their count, share and nearest-rank p50/p95 latency of successes. A server that caches
answers shows a lower latency for the hot inputs; one that does not, about the same.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from benchctl.analysis.summary import _percentiles, read_requests
from benchctl.rundir.reader import parquet_columns
from benchctl.rundir.requests import WARMUP

HOT = 10  # the most requested inputs, per model
_COLUMNS = ["latency_ms", "ok", "phase", "model", "input_id"]


def input_summary(path: Path) -> dict[str, Any]:
    """``{"inputs": {...}}`` when measured requests carried more than ``HOT`` distinct
    inputs of one model; ``{}`` otherwise (no pool, or a run made before ``input_id``).

    ``path``: requests.parquet. Output: ``distinct`` inputs sent, ``top_share`` (share of
    requests carrying the single most requested input), and ``hot`` / ``rest`` groups,
    each ``requests``, ``share`` and ``latency_ms`` (p50, p95, max, mean; ms).

    HOT = 10 inputs per model form the hot group. Raises DamagedFileError when requests.parquet is
    missing, unreadable or lacks a column read.
    """
    if "input_id" not in parquet_columns(path):
        return {}
    from benchctl.analysis.request_reader import iter_batches

    if all(np.isnan(b["input_id"].astype(float)).all() for b in iter_batches(path, ["input_id"])):
        return {}  # no request carried an input id: no pool (one column read, not a frame)
    frame = read_requests(path, _COLUMNS)
    sent = frame[(frame["phase"] != WARMUP) & frame["input_id"].notna()]
    if sent.empty:
        return {}
    key = sent["model"].astype(str) + "/" + sent["input_id"].astype("int64").astype(str)
    counts = key.value_counts()
    if len(counts) <= HOT:
        return {}
    hot = key.isin(set(counts.index[:HOT]))
    groups = {}
    for name, mask in (("hot", hot), ("rest", ~hot)):
        part = sent[mask]
        latency = part.loc[part["ok"], "latency_ms"].to_numpy(dtype=float)
        groups[name] = {
            "requests": len(part),
            "share": len(part) / len(sent),
            "latency_ms": _percentiles(latency, keys=("p50", "p95")),
        }
    return {
        "inputs": {
            "distinct": len(counts),
            "top_share": float(counts.iloc[0]) / len(sent),
            "hot_inputs": HOT,
            **groups,
        }
    }
