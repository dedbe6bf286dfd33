"""Per-model statistics of a model-mix run (``models:`` in the target), for summary.json.

Each model's requests get the same statistics as the run's ``overall`` (counts, offered
rate and throughput over the measurement interval, latency percentiles by nearest rank:
``benchctl.analysis.summary.stats``) plus its share of the requests sent. Warm-up is left
out, as in ``overall``. Dropped arrivals never picked a model, so they count in no model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from benchctl.analysis.summary import overrun, phase_seconds, read_requests, stats
from benchctl.rundir.reader import parquet_columns
from benchctl.rundir.requests import WARMUP

_COLUMNS = ["t_intended", "latency_ms", "send_lag_ms", "ok", "error", "phase", "model"]


def model_summaries(
    path: Path, phases: list[dict[str, Any]], *, end: float | None = None
) -> dict[str, Any]:
    """``{"models": {name: stats + share}}`` for a run whose requests carried two or more
    models; ``{}`` otherwise (one model, or a run made before the ``model`` column).

    ``path``: requests.parquet; ``phases``: run.json's plan phases (start/end in s);
    ``end``: the stop time of an interrupted run (s), which cuts the interval short.

    Each model: ``share`` (a fraction of the measured requests) and ``stats`` (requests/s, latency
    percentiles in ms, error rate as a fraction). Raises DamagedFileError when requests.parquet is
    missing, unreadable or lacks a column read.
    """
    if "model" not in parquet_columns(path):
        return {}
    from benchctl.analysis.request_reader import distinct_values

    if len(distinct_values(path, "model")) < 2:  # no mix (one column read, not a frame)
        return {}
    frame = read_requests(path, _COLUMNS)
    measured = frame[(frame["phase"] != WARMUP) & frame["model"].notna()]
    names = [str(n) for n in measured["model"].astype(str).unique()]
    if len(names) < 2:
        return {}
    seconds = sum(s for name, s in phase_seconds(phases, end).items() if name != WARMUP)
    interval = seconds + (overrun(measured, phases) if end is None else 0.0)
    total = len(measured)
    result = {}
    for name, group in measured.groupby(measured["model"].astype(str), sort=False):
        result[str(name)] = {"share": len(group) / total, **stats(group, interval)}
    return {"models": {name: result[name] for name in sorted(result)}}
