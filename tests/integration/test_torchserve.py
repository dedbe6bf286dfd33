"""A real TorchServe launched by benchctl: REST and gRPC runs, its own request counter,
preflight errors, the process tree telemetry samples, and a clean stop.

The first run builds the TorchServe environment under the benchctl cache (about a minute).
"""

from __future__ import annotations

import io
import json
import re
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import grpc
import numpy as np
import psutil
import pyarrow.parquet as pq
import pytest
from rich.console import Console

from benchctl.errors import InputError
from benchctl.run import RunOptions, RunResult, run
from benchctl.targets import torchserve as ts
from benchctl.targets.launch import LaunchError
from benchctl.targets.launch_torchserve import TorchServeServer, launch_torchserve
from benchctl.targets.refmodel import RefModel, RefModelConfig

from ..e2e.helpers import benchctl
from .server_queue import assert_queue_time_reported

pytestmark = pytest.mark.integration

QUIET = Console(file=io.StringIO(), width=120)
LOOPBACK = {"127.0.0.1", "::ffff:127.0.0.1"}
_HTTP = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@pytest.fixture(scope="module")
def torchserve(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TorchServeServer]:
    server = launch_torchserve(log_dir=tmp_path_factory.mktemp("torchserve"), log=lambda _: None)
    try:
        yield server
    finally:
        server.stop()


def overrides(server: TorchServeServer) -> tuple[str, ...]:
    return (
        f"url={server.http_url}",
        f"grpc_address={server.grpc_address}",
        f"management_url={server.management_url}",
        f"metrics_url={server.metrics_url}",
    )


def steady(tmp_path: Path, target: str, target_overrides: tuple[str, ...], **kw) -> RunResult:
    return run(
        RunOptions(
            scenario="steady",
            target=target,
            rate=40,
            duration="4s",
            overrides=("warmup=1s",),
            runs_dir=tmp_path / "runs",
            target_overrides=target_overrides,
            **kw,
        ),
        console=QUIET,
    )


def inference_count(server: TorchServeServer, model: str = "mlp") -> float:
    """TorchServe's ts_inference_requests_total for ``model``, summed over versions.

    It counts every inference request that reached the model, over REST and gRPC alike
    (whatever the handler answered). Requests2XX counts HTTP 2xx answers on all three HTTP
    APIs, /ping, management and /metrics scrapes included, and no gRPC call at all.
    """
    assert server.metrics_url is not None
    with _HTTP.open(server.metrics_url, timeout=10) as resp:
        text = resp.read().decode()
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("ts_inference_requests_total{") and f'model_name="{model}"' in line
    )


def settled_count(server: TorchServeServer, expected: float, wait_s: float = 3.0) -> float:
    """The counter once it reaches ``expected`` (it may trail the last answer a little)."""
    deadline = time.monotonic() + wait_s
    while (count := inference_count(server)) < expected and time.monotonic() < deadline:
        time.sleep(0.1)
    return count


@pytest.mark.parametrize("target", ["torchserve", "torchserve-grpc"])
def test_open_loop_run_matches_torchserves_own_counter(
    tmp_path: Path, torchserve: TorchServeServer, target: str
) -> None:
    before = inference_count(torchserve)
    result = steady(tmp_path, target, overrides(torchserve))
    assert result.status == "completed", result.reason
    assert result.run_dir is not None
    frame = pq.read_table(result.run_dir / "requests.parquet").to_pandas()
    assert 100 <= len(frame) <= 300  # Poisson(200) over 5 s at 40 rps
    assert frame["ok"].all(), frame["error"].value_counts().to_dict()
    ok = int(frame["ok"].sum())
    assert settled_count(torchserve, before + ok) - before == ok


def test_predictions_match_the_reference_model(torchserve: TorchServeServer) -> None:
    x = np.random.default_rng(7).standard_normal((3, 64)).astype(np.float32)
    body = json.dumps({"instances": x.tolist()}).encode()
    expected = RefModel(RefModelConfig()).predict(x)
    request = urllib.request.Request(
        f"{torchserve.http_url}/predictions/mlp",
        data=body,
        headers={"Content-Type": "application/json"},
    )
    with _HTTP.open(request, timeout=10) as resp:
        rest = np.array(json.loads(resp.read())["predictions"], dtype=np.float32)
    with grpc.insecure_channel(torchserve.grpc_address) as channel:
        call = channel.unary_unary(ts.method("Predictions"))
        answer = call(
            ts.PredictionsRequest(model_name="mlp", input={"data": body}).SerializeToString(),
            timeout=10,
        )
    grpc_rows = json.loads(ts.PredictionResponse.FromString(answer).prediction)["predictions"]
    assert np.allclose(rest, expected, atol=1e-6)
    assert np.allclose(np.array(grpc_rows, dtype=np.float32), expected, atol=1e-6)


@pytest.mark.parametrize("target", ["torchserve", "torchserve-grpc"])
def test_wrong_model_name_is_a_one_line_input_error_at_preflight(
    tmp_path: Path, torchserve: TorchServeServer, target: str
) -> None:
    with pytest.raises(InputError) as err:
        steady(tmp_path, target, (*overrides(torchserve), "model=nope"))
    message = str(err.value)
    assert "\n" not in message
    assert "model 'nope' not found" in message and torchserve.management_url in message
    assert not (tmp_path / "runs").exists()  # refused before the run directory


def test_process_tree_has_java_and_a_python_worker(torchserve: TorchServeServer) -> None:
    root = psutil.Process(torchserve.pid)
    tree = [root, *root.children(recursive=True)]
    java = [p for p in tree if p.name() == "java"]
    workers = [p for p in tree if any("model_service_worker" in a for a in p.cmdline())]
    assert len(java) == 1 and "org.pytorch.serve.ModelServer" in java[0].cmdline()
    assert workers and all(w.ppid() == java[0].pid for w in workers)
    listening = [
        c for p in tree for c in p.net_connections(kind="inet") if c.status == psutil.CONN_LISTEN
    ]
    assert {c.laddr.ip for c in listening} <= LOOPBACK
    assert len({c.laddr.port for c in listening}) == 5  # inference, management, metrics, 2 gRPC


def java_frontends(under: Path) -> list[psutil.Process]:
    """TorchServe's Java frontends launched with files under ``under`` (their command line
    names its config.properties, model store and log4j2.xml there). Other TorchServes on
    the machine (another test worker's, another session's) are not counted: a frontend
    they start meanwhile must not fail this test."""
    found = []
    for p in psutil.process_iter(["cmdline"]):
        cmdline = p.info["cmdline"] or []
        if "org.pytorch.serve.ModelServer" in cmdline and any(str(under) in arg for arg in cmdline):
            found.append(p)
    return found


def test_launch_run_and_stop_leave_no_java(tmp_path: Path) -> None:
    result = steady(tmp_path, "torchserve-grpc", (), launch=True)
    assert result.status == "completed", result.reason
    assert result.summary is not None and result.summary["overall"]["ok"] > 50
    assert result.run_dir is not None
    launched = json.loads((result.run_dir / "run.json").read_text())["target"]["launched"]
    assert launched["kind"] == "torchserve"
    assert not psutil.pid_exists(launched["pid"])
    assert java_frontends(tmp_path) == []  # its files were under tmp_path/runs/<run>/
    log = (result.run_dir / "torchserve.log").read_text()
    (scratch,) = re.findall(r"^Temp directory: (.+)$", log, re.MULTILINE)
    assert not Path(scratch).exists()  # TorchServe's TMPDIR is removed on stop


def test_stop_kills_the_whole_tree_and_is_idempotent(tmp_path: Path) -> None:
    server = launch_torchserve(log_dir=tmp_path, log=lambda _: None)
    tree = [psutil.Process(server.pid), *psutil.Process(server.pid).children(recursive=True)]
    assert len(tree) >= 3  # launcher, Java, one Python worker
    server.stop()
    assert not server.alive()
    assert not [p for p in tree if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert not server.scratch.exists()
    server.stop()


def test_failed_launch_is_one_line_and_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(LaunchError) as err:
        launch_torchserve(log_dir=tmp_path, ready_timeout=0.01, log=lambda _: None)
    message = str(err.value)
    assert "\n" not in message
    assert "READY worker" in message and str(tmp_path / "torchserve.log") in message
    time.sleep(0.5)
    assert java_frontends(tmp_path) == []


def test_report_shows_torchserves_queue_time(tmp_path: Path, torchserve: TorchServeServer) -> None:
    """ts_queue_latency_microseconds (cumulative us) becomes ms per request per window."""
    targets = [arg for item in overrides(torchserve) for arg in ("--target-set", item)]
    done = benchctl(
        "run", "steady", "--target", "torchserve", *targets,
        "--rate", "20", "--duration", "3s", "--set", "warmup=1s", "--report",
        cwd=tmp_path,
    )  # fmt: skip
    assert_queue_time_reported(done)
