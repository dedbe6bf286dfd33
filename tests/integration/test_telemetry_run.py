"""Telemetry beside real runs: KServe's own metrics agree with the generator's counts,
the server's processes are found, and a vanishing metrics endpoint leaves a gap, not a
failed run."""

import http.server
import io
import json
import threading
import time
from pathlib import Path

import pandas as pd
from rich.console import Console

from benchctl.run import RunOptions, run

from .conftest import target_overrides

QUIET = Console(file=io.StringIO(), width=120)


def test_launched_kserve_metrics_agree_with_generator_counts(tmp_path: Path):
    result = run(
        RunOptions(
            scenario="steady",
            target="kserve",
            rate=40,
            duration="8s",
            overrides=("warmup=1s",),
            launch=True,
            runs_dir=tmp_path,
        ),
        console=QUIET,
    )
    assert result.status == "completed", result.reason
    info = json.loads((result.run_dir / "run.json").read_text())
    assert info["target"]["launched"]["pid"] > 0
    assert {"host", "server_processes", "server_metrics"} <= set(info["telemetry"]["samplers"])
    wide = pd.read_parquet(result.run_dir / "telemetry_windows.parquet")
    sent = info["counts"]["sent"]
    # Scraped before the load and after it: only interpolation at window edges differs.
    assert abs(wide["server_requests"].sum() - sent) <= 3, (wide["server_requests"].sum(), sent)
    assert (
        wide["server_compute_ms"].dropna().gt(0).all() and wide["server_compute_ms"].notna().any()
    )
    assert wide["server_processes"].max() >= 1
    assert wide["server_rss_bytes"].max() > 10 * 2**20
    assert wide["host_cpu_percent"].notna().all()
    assert wide["generator_cpu_percent"].notna().any()


class _Metrics(http.server.BaseHTTPRequestHandler):
    body = b"# TYPE up gauge\nup 1\n"

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args) -> None:
        pass


def test_metrics_endpoint_vanishing_mid_run_leaves_a_completed_run_with_a_gap(tmp_path, kserve):
    metrics = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Metrics)
    threading.Thread(target=metrics.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{metrics.server_address[1]}/metrics"

    def vanish() -> None:
        time.sleep(4)
        metrics.shutdown()
        metrics.server_close()

    threading.Thread(target=vanish, daemon=True).start()
    result = run(
        RunOptions(
            scenario="steady",
            target="kserve",
            rate=20,
            duration="8s",
            overrides=("warmup=0",),
            runs_dir=tmp_path,
            target_overrides=(*target_overrides(kserve), f"metrics_url={url}"),
        ),
        console=QUIET,
    )
    assert result.status == "completed", result.reason
    info = json.loads((result.run_dir / "run.json").read_text())
    assert info["telemetry"]["sampler_errors"]["server_metrics"] >= 1
    raw = pd.read_parquet(result.run_dir / "telemetry.parquet")
    up = raw[raw["metric"] == "up"]["time"]
    errors = raw[raw["metric"] == "sampler_error"]["time"]
    assert len(up) >= 2 and errors.min() > up.min()  # samples, then the recorded gap
    assert (raw["source"] == "host").sum() > 0  # the other samplers went on
