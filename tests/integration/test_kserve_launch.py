"""A real KServe launched by benchctl: v1 and v2 REST answers, loopback only, clean stop.

The first run builds the KServe virtual environment under the benchctl cache (about a minute).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import psutil
import pytest

from benchctl.targets.launch import LaunchedServer, LaunchError, launch_kserve
from benchctl.targets.refmodel import RefModel, RefModelConfig

pytestmark = pytest.mark.integration

LOOPBACK = {"127.0.0.1", "::ffff:127.0.0.1"}  # gRPC binds an IPv4-mapped dual-stack socket
_HTTP = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _get(url: str) -> Any:
    with _HTTP.open(url, timeout=10) as resp:
        return json.loads(resp.read())


def _post(url: str, body: Any) -> tuple[int, Any]:
    req = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with _HTTP.open(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def _tree(pid: int) -> list[psutil.Process]:
    parent = psutil.Process(pid)
    return [parent, *parent.children(recursive=True)]


@pytest.fixture(scope="module")
def kserve(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LaunchedServer]:
    server = launch_kserve(log_dir=tmp_path_factory.mktemp("kserve"), workers=2)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def reference() -> RefModel:
    return RefModel(RefModelConfig())


def test_v1_predict_matches_the_reference_model(
    kserve: LaunchedServer, reference: RefModel
) -> None:
    x = np.random.default_rng(7).standard_normal((3, 64)).astype(np.float32)
    status, body = _post(f"{kserve.http_url}/v1/models/mlp:predict", {"instances": x.tolist()})
    assert status == 200, body
    y = np.array(body["predictions"], dtype=np.float32)
    assert y.shape == (3, 10)
    assert np.allclose(y, reference.predict(x), atol=1e-6)


def test_v2_infer_matches_the_reference_model(kserve: LaunchedServer, reference: RefModel) -> None:
    x = np.random.default_rng(8).standard_normal((4, 64)).astype(np.float32)
    request = {
        "inputs": [
            {"name": "input-0", "shape": [4, 64], "datatype": "FP32", "data": x.ravel().tolist()}
        ]
    }
    status, body = _post(f"{kserve.http_url}/v2/models/mlp/infer", request)
    assert status == 200, body
    (out,) = body["outputs"]
    assert (out["name"], out["datatype"], out["shape"]) == ("output-0", "FP32", [4, 10])
    y = np.array(out["data"], dtype=np.float32).reshape(4, 10)
    assert np.allclose(y, reference.predict(x), atol=1e-6)


def test_v2_bad_shape_is_a_400(kserve: LaunchedServer) -> None:
    request = {
        "inputs": [{"name": "input-0", "shape": [1, 3], "datatype": "FP32", "data": [1, 2, 3]}]
    }
    status, body = _post(f"{kserve.http_url}/v2/models/mlp/infer", request)
    assert status == 400
    assert "expected input of shape [batch, 64]" in body["error"]


def test_v2_metadata_lists_inputs_and_outputs(kserve: LaunchedServer) -> None:
    meta = _get(f"{kserve.http_url}/v2/models/mlp")
    assert meta["inputs"] == [{"name": "input-0", "datatype": "FP32", "shape": [-1, 64]}]
    assert meta["outputs"] == [{"name": "output-0", "datatype": "FP32", "shape": [-1, 10]}]


def test_metrics_endpoint_answers(kserve: LaunchedServer) -> None:
    assert kserve.metrics_url is not None
    with _HTTP.open(kserve.metrics_url, timeout=10) as resp:
        assert b"request_predict_seconds" in resp.read()


def test_every_listening_socket_is_loopback(kserve: LaunchedServer) -> None:
    listening = [
        c
        for p in _tree(kserve.pid)
        for c in p.net_connections(kind="inet")
        if c.status == psutil.CONN_LISTEN
    ]
    assert {c.laddr.ip for c in listening} <= LOOPBACK
    ports = {c.laddr.port for c in listening}
    assert int(kserve.http_url.rsplit(":", 1)[1]) in ports
    assert int(kserve.grpc_address.rsplit(":", 1)[1]) in ports


def test_stop_leaves_no_process_of_the_tree(tmp_path: Path) -> None:
    server = launch_kserve(log_dir=tmp_path, workers=2)
    tree = _tree(server.pid)
    assert len(tree) >= 3  # parent + 2 uvicorn workers (+ multiprocessing's tracker)
    server.stop()
    assert not server.alive()
    assert not [p for p in tree if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    server.stop()  # idempotent


def test_failed_launch_raises_one_line_and_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(LaunchError) as err:
        launch_kserve(log_dir=tmp_path, ready_timeout=0.01)
    message = str(err.value)
    assert "\n" not in message
    assert "not ready after" in message and str(tmp_path / "kserve.log") in message
    leftovers = []
    for p in psutil.process_iter(["cwd"]):
        if p.info["cwd"] == str(tmp_path):
            leftovers.append(p)
    assert not leftovers
