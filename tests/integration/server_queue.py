"""Check shared by the Triton and TorchServe tests: the queue time a launched server reports
reaches telemetry_windows.parquet and the report's "queued vs computing" chart."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from ..e2e.helpers import Finished

CHART = "Server time per request: queued vs computing"


def assert_queue_time_reported(done: Finished) -> None:
    """server_queue_ms is finite, >= 0 and at most the slowest request's latency in every
    window where the server finished requests, and the report draws the "queued" series.

    The upper bound holds whatever the server: a request's time queued in the server is
    part of its end-to-end latency, so a window's mean queue time cannot exceed the run's
    largest latency; a counter in microseconds read as milliseconds (x1000) breaks it.
    """
    assert done.returncode == 0, done.output()
    run_dir: Path = done.run_dir  # type: ignore[assignment]
    windows = pq.read_table(run_dir / "telemetry_windows.parquet").to_pandas()
    busy = windows[windows["server_requests"] > 0.5]
    assert not busy.empty, windows.to_string()
    queue = busy["server_queue_ms"].to_numpy(float)
    assert np.isfinite(queue).all() and (queue >= 0).all(), busy.to_string()
    slowest = float(done.requests()["latency_ms"].max())
    assert (queue <= slowest).all(), (slowest, busy.to_string())
    html = (run_dir / "report.html").read_text()
    match = re.search(rf'<svg[^>]*aria-label="{CHART}".*?</svg>', html, re.DOTALL)
    assert match, f"no '{CHART}' chart in report.html"
    assert "<!-- queued -->" in match.group(0), "the chart has no 'queued' series"
