"""A/B on Triton (issue 20), as a user runs it (installed ``benchctl``, fresh directory,
default ``runs/``, own target profiles in ./benchctl.d/): one real Triton launched for the
module on 127.0.0.1 serving the reference model twice, ``fast`` (1 ms of CPU a request) and
``slow`` (10 ms), each its own Python-backend instance. The arms are the two models."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from benchctl.targets.launch import LaunchedServer
from benchctl.targets.launch_triton import launch_triton
from tests.e2e.helpers import benchctl

FAST_MS, SLOW_MS = 1.0, 10.0


@pytest.fixture(scope="module")
def triton(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LaunchedServer]:
    server = launch_triton(
        log_dir=tmp_path_factory.mktemp("triton"),
        models={"fast": {"cost_ms": FAST_MS}, "slow": {"cost_ms": SLOW_MS}},
        log=lambda _: None,
    )
    try:
        yield server
    finally:
        server.stop()


def test_the_slower_triton_model_is_found_with_its_interval(
    tmp_path: Path, triton: LaunchedServer
) -> None:
    """A 50/50 split between the two models on one Triton (REST v2). Every request to
    ``slow`` keeps the CPU busy >= 10 ms, to ``fast`` 1 ms (each model its own instance),
    so the slow arm's p50 is about 9 ms above the fast one's and the bootstrap interval
    lies above 0: the
    verdict names ``slow`` as failing latency_p50 with that interval, and the terminal
    prints it. Telemetry: both arms are read from the one Triton's metrics, each from its own
    model's series: the slow model's server-side count matches its arm's requests and its
    compute time per request is at least 10 ms."""
    folder = tmp_path / "benchctl.d" / "targets"
    folder.mkdir(parents=True)
    for name in ("fast", "slow"):
        (folder / f"{name}.yaml").write_text(
            f"kind: triton\nprotocol: rest-v2\nurl: {triton.http_url}\n"
            f"metrics_url: {triton.metrics_url}\nmodel: {name}\n"
        )
    done = benchctl(
        "run", "steady", "--target", "fast", "--split", "fast=50,slow=50",
        "--rate", "30", "--duration", "8s", "--set", "warmup=1s", cwd=tmp_path, timeout=180,
    )  # fmt: skip
    assert done.returncode == 0, done.output()
    split = json.loads((done.run_dir / "summary.json").read_text())["split"]
    assert split["control"] == "fast" and list(split["verdicts"]) == ["slow"]
    fast, slow = (split["arms"][name]["latency_ms"]["p50"] for name in ("fast", "slow"))
    assert slow >= SLOW_MS  # every slow request keeps the CPU busy 10 ms (fast's p50 is
    # load-dependent: 3-11 ms here while others ran, so it is not bounded by a number)
    verdict = split["verdicts"]["slow"]
    p50 = verdict["metrics"]["latency_p50"]
    assert p50["effect"] == pytest.approx(slow - fast)
    low, high = p50["ci"]
    assert 0 < low <= p50["effect"] <= high
    assert p50["class"] == "fail" and verdict["metrics"]["latency"]["class"] == "fail"
    assert verdict["verdict"] == "fail"
    row = f"slow │ latency_p50 │ {p50['effect']:+.4g}"
    assert row in done.stdout and f"[{low:+.4g}, {high:+.4g}]" in done.stdout, done.stdout

    telemetry = done.run_json()["telemetry"]
    assert telemetry["self_check"]["arms"] == ["fast"] and telemetry["self_check"]["agree"]
    arm = telemetry["arms"]["slow"]
    assert arm["sampled"] == "control's server" and arm["server_metrics"]["model"] == "slow"
    rows = done.requests()
    sent = int((rows.arm.astype(str) == "slow").sum())
    assert arm["self_check"]["agree"] and arm["self_check"]["rows"] == sent, arm
    windows = pq.read_table(done.run_dir / arm["windows"]).to_pandas()
    weights = windows.server_requests.fillna(0)
    compute = (windows.server_compute_ms.fillna(0) * weights).sum() / weights.sum()
    assert compute >= SLOW_MS * 0.99, compute  # Triton's compute counters in whole microseconds
