"""The ``batch`` scenario (offline scoring) as a user runs it: installed ``benchctl``, fresh
directory, default ``runs/``, a real Triton launched with dynamic batching."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.helpers import benchctl

COST_MS = 5.0  # CPU per model execution (one execute call, whatever its rows)
INPUTS = 384


def test_larger_client_batches_raise_inferences_per_second_on_triton(tmp_path: Path) -> None:
    """One Triton instance, dynamic batching up to 32 rows, 5 ms of CPU per execution: at
    most 1000 / 5 = 200 executions/s. With batch size 1 and 2 requests in flight an
    execution holds at most 2 rows: at most 400 inferences/s. With batch size 16 every
    execution holds at least 16 rows (mean batch >= 16), so the same 200 executions/s allow
    up to 3,200: larger client batches must beat the batch-1 bound of 400 inferences/s.
    Triton counts every row once: its inference count equals the rows sent (384)."""
    done = benchctl(
        "run", "batch", "--target", "triton", "--launch",
        "--set", f"inputs={INPUTS}", "--set", "batch_sizes=[1,16]", "--set", "concurrency=[2]",
        "--set", "price_per_hour=3.0",
        "--target-set", "launch.max_batch_size=32", "--target-set", f"launch.cost_ms={COST_MS}",
        cwd=tmp_path, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.output()
    assert "best setting: batch size 16, concurrency 2" in done.stdout, done.output()
    sweeps = sorted((tmp_path / "runs").glob("*-batch-sweep.json"))
    assert len(sweeps) == 1
    one, sixteen = json.loads(sweeps[0].read_text())["settings"]
    assert (one["batch_size"], sixteen["batch_size"]) == (1, 16)
    for setting in (one, sixteen):
        assert setting["complete"] and setting["inferences"] == INPUTS
        assert setting["server_inferences"] == INPUTS  # Triton's nv_inference_count
        rate = setting["inferences_per_s"]
        assert setting["time_to_finish_s"] == pytest.approx(INPUTS / rate)
        assert setting["cost_per_million_inferences"] == pytest.approx(3.0 / 3600 / rate * 1e6)
    assert sixteen["requests_planned"] == INPUTS // 16
    assert one["server_mean_batch"] <= 2 and sixteen["server_mean_batch"] >= 16
    assert sixteen["inferences_per_s"] > 1000 / COST_MS * 2 >= one["inferences_per_s"]
    report = benchctl("report", str(tmp_path / "runs" / sixteen["run"]), cwd=tmp_path)
    assert report.returncode == 0, report.output()
    html = (tmp_path / "runs" / sixteen["run"] / "report.html").read_text()
    assert 'id="batch"' in html
