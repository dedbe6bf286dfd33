"""A real Triton (tritonserver binary, python backend, CPU) launched by benchctl: bounded runs
over REST and gRPC, counted against Triton's own metrics, batching, bad model, clean stops.

The first run builds the Triton virtual environment under the benchctl cache (about a minute).
"""

from __future__ import annotations

import dataclasses
import io
import json
import re
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import psutil
import pyarrow.parquet as pq
import pytest
from rich.console import Console

from benchctl.errors import InputError
from benchctl.run import RunOptions, RunResult, run
from benchctl.targets.launch import LaunchedServer, LaunchError
from benchctl.targets.launch_triton import launch_triton, model_config
from benchctl.targets.refmodel import RefModel, RefModelConfig

from ..e2e.helpers import benchctl
from .conftest import target_overrides
from .server_queue import assert_queue_time_reported

QUIET = Console(file=io.StringIO(), width=120)
MODEL = "mlp"
INSTANCES = 2
LOOPBACK = {"127.0.0.1", "::ffff:127.0.0.1"}  # gRPC binds an IPv4-mapped dual-stack socket
_HTTP = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@pytest.fixture(scope="module")
def triton(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LaunchedServer]:
    server = launch_triton(
        log_dir=tmp_path_factory.mktemp("triton"),
        instances=INSTANCES,
        max_batch_size=8,
        batch_delay_ms=5.0,
        log=lambda _: None,
    )
    try:
        yield server
    finally:
        server.stop()


def metric(server: LaunchedServer, name: str) -> float:
    """Sum of Triton's counter ``name`` over the lines labelled with our model."""
    assert server.metrics_url
    with _HTTP.open(server.metrics_url, timeout=10) as resp:
        text = resp.read().decode()
    pattern = re.compile(rf'^{name}\{{[^}}]*model="{MODEL}"[^}}]*\}} (\S+)$', re.MULTILINE)
    values = pattern.findall(text)
    assert values, f"{name} not in {server.metrics_url}"
    return sum(float(v) for v in values)


def get_json(url: str) -> Any:
    with _HTTP.open(url, timeout=10) as resp:
        return json.loads(resp.read())


def benchctl_run(
    tmp_path: Path, server: LaunchedServer | None, scenario: str, **options: Any
) -> RunResult:
    overrides = (*target_overrides(server), f"metrics_url={server.metrics_url}") if server else ()
    return run(
        RunOptions(
            scenario=scenario,
            target=options.pop("target", "triton"),
            runs_dir=tmp_path / "runs",
            target_overrides=(*overrides, *options.pop("target_overrides", ())),
            **options,
        ),
        console=QUIET,
    )


def requests_of(result: RunResult) -> Any:
    assert result.run_dir is not None
    return pq.read_table(result.run_dir / "requests.parquet").to_pandas()


def test_launch_binds_loopback_and_serves_the_reference_model(triton: LaunchedServer) -> None:
    meta = get_json(f"{triton.http_url}/v2/models/{MODEL}")
    assert meta["inputs"] == [{"name": "input-0", "datatype": "FP32", "shape": [-1, 64]}]
    x = np.random.default_rng(3).standard_normal((3, 64)).astype(np.float32)
    body = {"inputs": [{"name": "input-0", "shape": [3, 64], "datatype": "FP32", "data": []}]}
    body["inputs"][0]["data"] = x.ravel().tolist()
    request = urllib.request.Request(
        f"{triton.http_url}/v2/models/{MODEL}/infer",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with _HTTP.open(request, timeout=10) as resp:
        out = json.loads(resp.read())["outputs"][0]
    assert out["shape"] == [3, 10]
    expected = RefModel(RefModelConfig()).predict(x)
    assert np.allclose(np.array(out["data"]).reshape(3, 10), expected, atol=1e-6)
    listening = [
        c.laddr.ip
        for c in psutil.Process(triton.pid).net_connections()
        if c.status == psutil.CONN_LISTEN
    ]
    assert len(listening) == 3 and set(listening) <= LOOPBACK
    stubs = [p for p in psutil.Process(triton.pid).children() if "stub" in p.name()]
    assert len(stubs) == INSTANCES


@pytest.mark.parametrize("target", ["triton", "triton-grpc"])
def test_open_loop_run_matches_tritons_own_request_count(
    tmp_path: Path, triton: LaunchedServer, target: str
) -> None:
    before = metric(triton, "nv_inference_request_success")
    result = benchctl_run(
        tmp_path, triton, "steady", target=target, rate=80, duration="5s", overrides=("warmup=1s",)
    )
    after = metric(triton, "nv_inference_request_success")
    assert result.status == "completed", result.reason
    frame = requests_of(result)
    assert 280 <= len(frame) <= 520  # Poisson(400) over 5 s at 80 rps, generous bounds
    assert frame["ok"].all(), frame["error"].value_counts().to_dict()
    assert after - before == len(frame)  # warm-up included: every request reached Triton once
    assert result.summary is not None and result.summary["overall"]["latency_ms"]["p50"] > 0


def test_binary_tensor_extension_reaches_triton_and_validates(
    tmp_path: Path, triton: LaunchedServer
) -> None:
    before = metric(triton, "nv_inference_request_success")
    result = benchctl_run(
        tmp_path,
        triton,
        "steady",
        rate=40,
        duration="3s",
        overrides=("warmup=0",),
        target_overrides=("payload.batch_size=4", "payload.binary=true"),
    )
    after = metric(triton, "nv_inference_request_success")
    assert result.status == "completed", result.reason
    frame = requests_of(result)
    assert frame["ok"].all(), frame["error"].value_counts().to_dict()  # 4 rows each, checked
    assert after - before == len(frame) > 50
    json_body = 4 * 64 * 10  # a JSON float takes ~10 bytes; the binary one takes 4
    assert frame["bytes_sent"].iloc[0] < json_body


def test_dynamic_batching_merges_concurrent_requests(
    tmp_path: Path, triton: LaunchedServer
) -> None:
    requests_before = metric(triton, "nv_inference_request_success")
    execs_before = metric(triton, "nv_inference_exec_count")
    result = benchctl_run(
        tmp_path, triton, "sweep", overrides=("levels=[8]", "hold=4s", "warmup=0")
    )
    assert result.status == "completed", result.reason
    frame = requests_of(result)
    assert frame["ok"].all() and len(frame) > 50
    requests = metric(triton, "nv_inference_request_success") - requests_before
    executions = metric(triton, "nv_inference_exec_count") - execs_before
    assert requests == len(frame)
    assert executions < 0.8 * requests, (executions, requests)


@pytest.mark.parametrize("target", ["triton", "triton-grpc"])
def test_unknown_model_fails_the_preflight_in_one_line(
    tmp_path: Path, triton: LaunchedServer, target: str
) -> None:
    with pytest.raises(InputError) as error:
        benchctl_run(tmp_path, triton, "steady", target=target, target_overrides=("model=nope",))
    message = str(error.value)
    assert "'nope'" in message and "\n" not in message
    assert error.value.exit_code == 2
    assert not (tmp_path / "runs").exists()


def test_launch_flag_starts_and_stops_an_unbatched_triton(tmp_path: Path) -> None:
    result = benchctl_run(
        tmp_path, None, "steady", rate=40, duration="3s", overrides=("warmup=0",), launch=True
    )
    assert result.status == "completed", result.reason
    frame = requests_of(result)
    assert len(frame) > 50 and frame["ok"].all()
    assert result.run_dir is not None
    launched = json.loads((result.run_dir / "run.json").read_text())["target"]["launched"]
    assert launched["kind"] == "triton" and not psutil.pid_exists(launched["pid"])
    config = (result.run_dir / "triton-models" / MODEL / "config.pbtxt").read_text()
    assert "max_batch_size: 0" in config and "dynamic_batching" not in config
    assert not _processes_mentioning(result.run_dir)


def test_model_that_fails_to_load_is_a_one_line_launch_error(tmp_path: Path) -> None:
    broken = RefModelConfig()
    object.__setattr__(broken, "hidden_width", 0)  # valid here, rejected inside Triton
    with pytest.raises(LaunchError) as error:
        launch_triton(log_dir=tmp_path, model=broken, log=lambda _: None)
    message = str(error.value)
    assert "hidden_width must be >= 1" in message and str(tmp_path / "triton.log") in message
    assert "\n" not in message
    assert not _processes_mentioning(tmp_path)


def test_bad_arguments_fail_before_anything_starts(tmp_path: Path) -> None:
    with pytest.raises(LaunchError, match="model name"):
        launch_triton(log_dir=tmp_path, model_name="a/b", log=lambda _: None)
    with pytest.raises(LaunchError, match="instances >= 1"):
        launch_triton(log_dir=tmp_path, instances=0, log=lambda _: None)
    assert not (tmp_path / "triton.log").exists()


def _processes_mentioning(folder: Path) -> list[psutil.Process]:
    """Processes whose command line names ``folder`` (Triton and its stubs do)."""
    found = []
    for process in psutil.process_iter(["cmdline"]):
        if any(str(folder) in arg for arg in process.info["cmdline"] or []):
            found.append(process)
    return found


def test_model_config_reports_the_reference_settings() -> None:
    model = dataclasses.replace(RefModelConfig(), repeat=3, stall_every_s=2.0, stall_for_s=0.5)
    text = model_config("m", model, instances=2, max_batch_size=4, batch_delay_ms=1.5)
    assert "max_batch_size: 4" in text and "max_queue_delay_microseconds: 1500" in text
    assert "dims: [64]" in text and "count: 2 kind: KIND_CPU" in text
    assert 'key: "repeat" value: { string_value: "3" }' in text


def test_report_shows_tritons_queue_time(tmp_path: Path, triton: LaunchedServer) -> None:
    """nv_inference_queue_duration_us (cumulative us) becomes ms per request per window."""
    done = benchctl(
        "run", "steady", "--target", "triton",
        "--target-set", f"url={triton.http_url}",
        "--target-set", f"metrics_url={triton.metrics_url}",
        "--rate", "20", "--duration", "3s", "--set", "warmup=1s", "--report",
        cwd=tmp_path,
    )  # fmt: skip
    assert_queue_time_reported(done)
