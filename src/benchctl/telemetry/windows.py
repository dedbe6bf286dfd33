"""The per-window wide table of telemetry that the analyzer joins with request windows."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from benchctl.rundir import RUN_JSON, read_document, read_parquet
from benchctl.telemetry.server_metrics import server_windows

# (column, source, metric, labels filter, how several label sets combine)
GAUGES = [
    ("host_cpu_percent", "host", "cpu_percent", {}, "first"),
    ("host_memory_used_bytes", "host", "memory_used_bytes", {}, "first"),
    ("server_cpu_percent", "server_process", "cpu_percent", {"process": "tree"}, "first"),
    ("server_rss_bytes", "server_process", "rss_bytes", {"process": "tree"}, "first"),
    ("server_processes", "server_process", "processes", {"process": "tree"}, "first"),
    ("gpu_utilization_percent", "gpu", "utilization_percent", None, "mean"),
    ("gpu_memory_used_bytes", "gpu", "memory_used_bytes", None, "sum"),
    ("gpu_power_watts", "gpu", "power_watts", None, "sum"),
    ("generator_cpu_percent", "generator", "cpu_percent", None, "max"),
]


TELEMETRY_COLUMNS = ["time", "source", "metric", "labels", "value"]


def read_telemetry(path: Path) -> pd.DataFrame:
    """telemetry.parquet (one row per sample); DamagedFileError (one line naming the file)
    when it is empty, truncated, not Parquet or lacks one of TELEMETRY_COLUMNS."""
    return read_parquet(path, TELEMETRY_COLUMNS)


def telemetry_windows(
    raw: pd.DataFrame, edges: np.ndarray, server_kind: str, model: str | None = None
) -> pd.DataFrame:
    """One row per window ``[edges[i], edges[i+1])``: gauge means and server-side numbers
    (of the target ``model`` only; None: every model the server reports)."""
    table = server_windows(raw[raw["source"] == "server"], server_kind, edges, model)
    for column, source, metric, wanted, combine in GAUGES:
        rows = raw[(raw["source"] == source) & (raw["metric"] == metric)]
        if wanted is not None and wanted:
            keep = rows["labels"].map(lambda text, w=wanted: _matches(text, w))
            rows = rows[keep]
        elif wanted == {}:
            rows = rows[rows["labels"] == "{}"]
        if rows.empty:
            table[column] = np.nan
            continue
        per_time = rows.groupby("time")["value"].agg(combine if combine != "first" else "sum")
        bins = np.searchsorted(edges, per_time.index.to_numpy(), side="right") - 1
        inside = (bins >= 0) & (bins < len(edges) - 1)
        means = pd.Series(per_time.to_numpy()[inside]).groupby(bins[inside]).mean()
        table[column] = means.reindex(range(len(edges) - 1)).to_numpy()
    return table


def run_target(run_dir: Path) -> tuple[str, str | None]:
    """(server kind, model name) of a run, from its run.json ("" and None when unknown)."""
    info = read_document(run_dir / RUN_JSON).data
    if info is None:
        return "", None
    spec = info.get("target", {}).get("spec", {})
    spec = spec if isinstance(spec, dict) else {}
    model = spec.get("model")
    return str(spec.get("kind") or ""), str(model) if model else None


def _matches(text: str, wanted: dict[str, str]) -> bool:
    found = json.loads(text)
    return all(found.get(k) == v for k, v in wanted.items())
