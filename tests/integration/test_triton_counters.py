"""Server counters on a real Triton (tritonserver binary, python backend, CPU, 127.0.0.1)
serving two models: the target model is unloaded and loaded again mid-run (its counter
restarts at 0) while a second client sends its own traffic to the other model. benchctl's
server-side count must still equal the requests it sent, and its self-check must agree.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from benchctl.targets.launch import (
    LaunchedServer,
    free_ports,
    server_venv,
    spawn_logged,
    until_ready,
)
from benchctl.targets.launch_triton import (
    TRITON_REQUIREMENTS,
    _triton_runtime,
    _wait_ready,
    model_config,
    write_model_repository,
)
from benchctl.targets.refmodel import RefModelConfig
from benchctl.telemetry.prometheus import parse_metrics

from ..e2e.helpers import benchctl

TARGET, OTHER = "mlp", "other"


@pytest.fixture(scope="module")
def two_models(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LaunchedServer]:
    """Triton with models 'mlp' and 'other', explicit model control (load/unload API)."""
    log_dir = tmp_path_factory.mktemp("triton2")
    venv = server_venv("triton", TRITON_REQUIREMENTS, log=lambda _: None)
    server_dir, env = _triton_runtime(venv)
    settings = {"instances": 1, "max_batch_size": 0, "batch_delay_ms": 0.0}
    root = write_model_repository(
        log_dir / "models", model_name=TARGET, model=RefModelConfig(), **settings
    )
    shutil.copytree(root / TARGET, root / OTHER)
    (root / OTHER / "config.pbtxt").write_text(model_config(OTHER, RefModelConfig(), **settings))
    http, grpc, metrics = free_ports(3)
    cmd = [
        str(server_dir / "bin" / "tritonserver"), f"--model-repository={root}",
        f"--backend-directory={server_dir / 'backends'}",
        "--http-address=127.0.0.1", f"--http-port={http}",
        "--grpc-address=127.0.0.1", f"--grpc-port={grpc}",
        "--metrics-address=127.0.0.1", f"--metrics-port={metrics}",
        "--model-control-mode=explicit", f"--load-model={TARGET}", f"--load-model={OTHER}",
        "--allow-gpu-metrics=false", "--log-verbose=0", "--exit-timeout-secs=5",
    ]  # fmt: skip
    log_path = log_dir / "triton.log"
    proc = spawn_logged(cmd, log_path, env=env, cwd=log_dir)
    server = LaunchedServer(
        kind="triton",
        pid=proc.pid,
        http_url=f"http://127.0.0.1:{http}",
        grpc_address=f"127.0.0.1:{grpc}",
        metrics_url=f"http://127.0.0.1:{metrics}/metrics",
        log_path=log_path,
        process=proc,
    )
    server = until_ready(server, lambda: _wait_ready(server, OTHER, (grpc, metrics), 60.0))
    yield server
    server.stop()


def _post(url: str, body: bytes = b"{}") -> None:
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        response.read()


def _successes(server: LaunchedServer, model: str) -> float:
    with urllib.request.urlopen(server.metrics_url, timeout=5) as response:
        rows = parse_metrics(response.read().decode(), 0.0)
    return sum(
        value
        for _, _, name, labels, value in rows
        if name == "nv_inference_request_success" and json.loads(labels).get("model") == model
    )


def _infer_body(server: LaunchedServer, model: str) -> bytes:
    with urllib.request.urlopen(f"{server.http_url}/v2/models/{model}", timeout=5) as response:
        tensor = json.loads(response.read())["inputs"][0]
    shape = [1 if d < 0 else d for d in tensor["shape"]]
    size = 1
    for d in shape:
        size *= d
    data = {"name": tensor["name"], "shape": shape, "datatype": tensor["datatype"]}
    return json.dumps({"inputs": [{**data, "data": [0.5] * size}]}).encode()


def test_reload_and_second_model_leave_the_count_equal_to_requests_sent(
    two_models: LaunchedServer, tmp_path: Path
) -> None:
    """Trace: 20 arrivals at 0.0-1.9 s, then 20 at 9.0-10.9 s (40 sent). Between the bursts
    'mlp' is unloaded and loaded (Triton drops its series; it comes back from 0), while a
    second client sends 60 requests to 'other' across the whole run. Known answer: 40
    server-side requests for 'mlp' (20 before + 20 after the restart; none of the 60), one
    counter restart seen, and the self-check agrees."""
    server = two_models
    start_count = _successes(server, TARGET)
    times = [i / 10 for i in range(20)] + [9 + i / 10 for i in range(20)]
    (tmp_path / "bursts.csv").write_text("time\n" + "".join(f"{t:.1f}\n" for t in times))
    (tmp_path / "bursts.yaml").write_text("kind: replay\ntrace: bursts.csv\nwarmup: 0s\n")
    other_body = _infer_body(server, OTHER)
    events: dict[str, float] = {}

    def other_client() -> None:
        for _ in range(60):  # bounded: about 12 s
            _post(f"{server.http_url}/v2/models/{OTHER}/infer", other_body)
            time.sleep(0.2)

    def reload_target() -> None:
        deadline = time.monotonic() + 60
        while _successes(server, TARGET) < start_count + 20 and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1.5)  # the first burst's count is scraped (every 0.5 s)
        _post(f"{server.http_url}/v2/repository/models/{TARGET}/unload")
        time.sleep(1.0)
        _post(f"{server.http_url}/v2/repository/models/{TARGET}/load")
        events["reloaded"] = time.monotonic()

    threads = [threading.Thread(target=f, daemon=True) for f in (other_client, reload_target)]
    for thread in threads:
        thread.start()
    sets = [
        f"--target-set=url={server.http_url}",
        f"--target-set=grpc_address={server.grpc_address}",
        f"--target-set=metrics_url={server.metrics_url}",
    ]
    done = benchctl(
        "run", "bursts.yaml", "--target", "triton", *sets, "--scrape-interval", "0.5s",
        cwd=tmp_path,
    )  # fmt: skip
    for thread in threads:
        thread.join(timeout=60)
    assert done.returncode == 0, done.output()
    assert "reloaded" in events
    info = done.run_json()
    assert info["counts"]["sent"] == 40
    check = info["telemetry"]["self_check"]
    assert (check["server_requests"], check["agree"]) == (40, True), check
    assert info["telemetry"]["server_metrics"]["requests_resets"] == 1
    assert _successes(server, OTHER) >= 60  # the other model really had its own traffic
