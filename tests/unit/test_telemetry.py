"""Telemetry: counters to per-window numbers (known answers), parsing, samplers, failures."""

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from benchctl.telemetry.gpu import open_gpu_sampler
from benchctl.telemetry.monitor import Monitor, merge_telemetry
from benchctl.telemetry.processes import ProcessTreeSampler
from benchctl.telemetry.prometheus import parse_metrics
from benchctl.telemetry.server_metrics import SERVER_METRICS, cumulative, server_windows
from benchctl.telemetry.windows import telemetry_windows

TRITON_TEXT = """\
# HELP nv_inference_request_success Number of successful inference requests
# TYPE nv_inference_request_success counter
nv_inference_request_success{{model="mlp",version="1"}} {n}
# TYPE nv_inference_queue_duration_us counter
nv_inference_queue_duration_us{{model="mlp",version="1"}} {queue}
# TYPE nv_inference_compute_infer_duration_us counter
nv_inference_compute_infer_duration_us{{model="mlp",version="1"}} {infer}
# TYPE nv_inference_compute_input_duration_us counter
nv_inference_compute_input_duration_us{{model="mlp",version="1"}} 0
# TYPE nv_inference_compute_output_duration_us counter
nv_inference_compute_output_duration_us{{model="mlp",version="1"}} 0
"""


def scrapes(times, counts, queue_us_each=500.0, infer_us_each=2000.0) -> pd.DataFrame:
    rows = []
    for t, n in zip(times, counts, strict=True):
        text = TRITON_TEXT.format(n=n, queue=n * queue_us_each, infer=n * infer_us_each)
        rows += parse_metrics(text, t)
    return pd.DataFrame(rows, columns=["time", "source", "metric", "labels", "value"])


def test_parse_keeps_every_sample_with_labels():
    rows = parse_metrics(TRITON_TEXT.format(n=7, queue=1, infer=2), 10.0)
    assert len(rows) == 5
    success = next(r for r in rows if r[2] == "nv_inference_request_success")
    assert success[3:] == (json.dumps({"model": "mlp", "version": "1"}), 7.0)


def test_triton_counters_give_per_window_requests_queue_and_compute():
    # 100 req/s from t=0, scraped every second from before the load: 500 per 5 s window.
    times = np.arange(-1.0, 21.0, 1.0)
    raw = scrapes(times, np.clip(times, 0, None) * 100)
    table = server_windows(raw, "triton", np.arange(0.0, 20.1, 5.0))
    assert table["server_requests"].tolist() == pytest.approx([500.0] * 4)
    assert table["server_queue_ms"].tolist() == pytest.approx([0.5] * 4)
    assert table["server_compute_ms"].tolist() == pytest.approx([2.0] * 4)


def test_counter_reset_is_undone_and_missing_series_start_at_zero():
    raw = scrapes([0.0, 1.0, 2.0, 3.0], [10, 30, 5, 25])  # the server restarted after t=1
    # Increase since the first scrape: +20, then 5 (restarted at 0), then +20.
    assert cumulative(raw, "nv_inference_request_success").tolist() == [0, 20, 25, 45]
    late = scrapes([1.0, 2.0], [4, 9])
    baseline = pd.DataFrame([[0.0, "server", "up", "{}", 1.0]], columns=late.columns)
    assert cumulative(pd.concat([baseline, late]), "nv_inference_request_success").tolist() == [
        0,
        4,
        9,
    ]


def test_every_server_kind_has_one_mapping():
    assert set(SERVER_METRICS) == {"triton", "torchserve", "kserve", "tfserving"}
    assert (
        server_windows(
            pd.DataFrame(columns=["time", "source", "metric", "labels", "value"]),
            "mlserver",
            np.array([0.0, 5.0]),
        )["server_requests"]
        .isna()
        .all()
    )


def test_gpu_sampler_reports_real_nvml_state():
    gpu = open_gpu_sampler()
    if isinstance(gpu, str):  # this machine: NVML's own error, not a patched module
        assert gpu.startswith("GPU telemetry off: no NVIDIA driver")
    else:
        rows = gpu.sample(time.time())
        gpu.close()
        assert any(r[2] == "utilization_percent" for r in rows)


def test_process_tree_finds_children_that_start_later():
    script = (
        "import subprocess, sys, time; time.sleep(0.3); "
        "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(5)']); "
        "time.sleep(5)"
    )
    parent = subprocess.Popen([sys.executable, "-c", script])
    try:
        sampler = ProcessTreeSampler([parent.pid], interval=0.1)
        first = {r[3] for r in sampler.sample(time.time()) if r[2] == "rss_bytes"}
        deadline = time.monotonic() + 5
        while len(sampler.pids()) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
            sampler.sample(time.time())
        assert parent.pid in sampler.pids() and len(sampler.pids()) == 2
        assert len(first) == 2  # the parent and the tree total
        by_pattern = ProcessTreeSampler(pattern=r"time\.sleep\(5\)")
        assert len(by_pattern.processes()) >= 2
    finally:
        for child in __import__("psutil").Process(parent.pid).children(recursive=True):
            child.kill()
        parent.kill()
        parent.wait()


class Flaky:
    name = "flaky"
    interval = 0.05

    def __init__(self) -> None:
        self.calls = 0

    def sample(self, now: float):
        self.calls += 1
        if self.calls % 2 == 0:
            raise ConnectionRefusedError("endpoint went away")
        return [(now, "server", "up", "{}", 1.0)]

    def close(self) -> None:
        pass


def test_a_failing_sampler_is_recorded_and_does_not_stop_the_others(tmp_path: Path):
    flaky = Flaky()
    monitor = Monitor([flaky], tmp_path / "parts", flush_seconds=0.1).start()
    time.sleep(0.5)
    monitor.stop()
    rows = merge_telemetry(tmp_path / "parts", tmp_path / "telemetry.parquet", t0=None)
    frame = pd.read_parquet(tmp_path / "telemetry.parquet")
    errors = frame[frame["metric"] == "sampler_error"]
    assert rows == len(frame) and monitor.errors["flaky"] == len(errors) >= 2
    assert "endpoint went away" in errors["labels"].iloc[0]
    assert (frame["metric"] == "up").sum() >= 2
    assert not (tmp_path / "parts").exists()


def test_wide_windows_average_gauges():
    raw = pd.DataFrame(
        [[t, "host", "cpu_percent", "{}", v] for t, v in [(0.5, 10), (1.5, 30), (5.5, 50)]]
        + [[0.5, "host", "cpu_percent", '{"cpu": 0}', 99.0]],
        columns=["time", "source", "metric", "labels", "value"],
    )
    wide = telemetry_windows(raw, np.array([0.0, 5.0, 10.0]), "kserve")
    assert wide["host_cpu_percent"].tolist() == [20.0, 50.0]
