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


def _jsonl_set(folder: Path, rows_per_line: list[int]) -> Path:
    """A .jsonl input set: one v2 request body a line, line i carrying rows_per_line[i]
    rows of the reference model's 64 features (input ``input-0``, FP32)."""
    path = folder / "set.jsonl"
    lines = []
    for i, rows in enumerate(rows_per_line):
        data = [float((i + j) % 7) for j in range(64 * rows)]
        tensor = {"name": "input-0", "shape": [rows, 64], "datatype": "FP32", "data": data}
        lines.append(json.dumps({"inputs": [tensor]}))
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_jsonl_set_is_one_inference_a_line_on_triton(tmp_path: Path) -> None:
    """12 one-row request bodies in a .jsonl file, batch size 1: 12 requests, 12
    inferences, and Triton's own inference count (nv_inference_count, from its metrics)
    agrees: 12 rows reached the model."""
    _jsonl_set(tmp_path, [1] * 12)
    done = benchctl(
        "run", "batch", "--target", "triton", "--launch",
        "--set", "inputs=12", "--set", "batch_sizes=[1]", "--set", "concurrency=[1]",
        "--target-set", "payload.source=file", "--target-set", "payload.file=set.jsonl",
        cwd=tmp_path, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.output()
    batch = json.loads((done.run_dir / "summary.json").read_text())["batch"]
    assert (batch["requests_sent"], batch["inferences"], batch["complete"]) == (12, 12, True)
    assert batch["server_inferences"] == 12


@pytest.mark.parametrize(
    ("rows", "sizes", "expected"),
    [
        (
            [1] * 8,
            "[1,4]",
            "benchctl: error: scenario field 'batch_sizes': batch size 4 cannot pack set.jsonl:"
            " a .jsonl input set is one request body a line, sent as written; use "
            "batch_sizes: [1], or a .npy or .parquet file of rows (or generated inputs) to batch",
        ),
        (
            [1, 1, 2, 1],
            "[1]",
            "benchctl: error: set.jsonl:3: a request body of 2 rows, where a batch run counts "
            "one inference a line: write one row a line, or use a .npy or .parquet file of "
            "rows and batch_sizes",
        ),
    ],
)
def test_a_jsonl_set_that_cannot_be_counted_is_refused(
    tmp_path: Path, rows: list[int], sizes: str, expected: str
) -> None:
    """A .jsonl line is a request body sent as written: batch sizes other than 1 cannot pack
    it, and a line of 2 rows would be counted as 1 inference. Before this, batch size 4 sent
    5 one-row lines of a 20-line set and reported 20 inferences. Refused up front (exit 2,
    one line), before any server is launched or run directory made. The line names the
    file by the absolute path run.json keeps (``--target-set`` paths are relative to the
    current folder: here ``tmp_path``)."""
    _jsonl_set(tmp_path, rows)
    done = benchctl(
        "run", "batch", "--target", "triton", "--launch",
        "--set", f"inputs={len(rows)}", "--set", f"batch_sizes={sizes}",
        "--target-set", "payload.source=file", "--target-set", "payload.file=set.jsonl",
        cwd=tmp_path, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2, done.output()
    named = expected.replace("set.jsonl", str(tmp_path / "set.jsonl"))
    assert [line for line in done.stderr.splitlines() if line.strip()] == [named]
    assert done.run_dir is None
