"""Every v2 datatype MLServer knows, on REST JSON and gRPC, against a real MLServer 1.7.1
(runtime: tests/e2e/servers/dtypes_mlserver.py checks dtype, shape and that every value is
1). MLServer decodes FP16 from JSON (numpy), unlike KServe and Triton; it has no BF16."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from benchctl.targets.launch import free_ports, server_venv
from benchctl.targets.launch_mlserver import MLSERVER_REQUIREMENTS

from .helpers import benchctl

pytestmark = pytest.mark.integration
RUNTIME = Path(__file__).parent / "servers" / "dtypes_mlserver.py"
ALL = ["BOOL", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64",
       "FP16", "FP32", "FP64", "BYTES"]  # fmt: skip


def model_folder(root: Path, name: str, datatypes: list[str]) -> None:
    folder = root / name
    folder.mkdir(parents=True)
    shutil.copyfile(RUNTIME, folder / RUNTIME.name)
    inputs = [{"name": f"in_{d.lower()}", "datatype": d, "shape": [-1, 3]} for d in datatypes]
    settings = {
        "name": name,
        "implementation": f"{RUNTIME.stem}.Checker",
        "inputs": inputs,
        "outputs": [{"name": "y", "datatype": "FP32", "shape": [-1, 1]}],
    }
    (folder / "model-settings.json").write_text(json.dumps(settings))


@pytest.fixture(scope="module")
def mlserver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    venv = server_venv("mlserver", MLSERVER_REQUIREMENTS, log=lambda _: None)
    root = tmp_path_factory.mktemp("mlserver-dtypes")
    http, grpc, metrics = free_ports(3)
    (root / "settings.json").write_text(json.dumps({
        "host": "127.0.0.1", "http_port": http, "grpc_port": grpc, "metrics_port": metrics,
        "parallel_workers": 0, "metrics_dir": str(root / ".metrics"),
    }))  # fmt: skip
    model_folder(root, "alltypes", ALL)
    model_folder(root, "nofp16", [d for d in ALL if d != "FP16"])
    log = root / "mlserver.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(venv / "bin" / "mlserver"), "start", str(root)], cwd=root,
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{http}"
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None, log.read_text()[-2000:]
            try:
                with urllib.request.urlopen(f"{url}/v2/models/nofp16/ready", timeout=1):
                    break
            except OSError:
                assert time.monotonic() < deadline, log.read_text()[-2000:]
                time.sleep(0.3)
        yield url, f"127.0.0.1:{grpc}"
    finally:
        proc.terminate()
        proc.wait(20)


@pytest.mark.parametrize(
    ("model", "protocol"),
    [("alltypes", "rest-v2"), ("alltypes", "grpc-v2"), ("nofp16", "grpc-v2")],
    ids=["rest-json", "grpc-raw", "grpc-typed"],
)
def test_every_datatype_arrives_intact_on_mlserver(tmp_path, mlserver, model, protocol):
    url, grpc = mlserver
    target = tmp_path / "t.yaml"
    target.write_text(
        f"kind: mlserver\nurl: {url}\ngrpc_address: {grpc}\nprotocol: {protocol}\n"
        f"model: {model}\npayload: {{source: metadata, batch_size: 2, fill: ones}}\n"
    )
    done = benchctl(
        "run", "steady", "--target", str(target), "--rate", "10", "--duration", "2s",
        "--set", "warmup=0s", "--no-telemetry", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.output()
    rows = done.requests()
    assert len(rows) > 0 and bool(rows["ok"].all()), rows["error"].value_counts().to_dict()


def test_binary_extension_is_refused_for_mlserver_in_one_line(tmp_path, mlserver):
    url, grpc = mlserver
    target = tmp_path / "t.yaml"
    target.write_text(
        f"kind: mlserver\nurl: {url}\ngrpc_address: {grpc}\nprotocol: rest-v2\nmodel: nofp16\n"
        "payload: {source: metadata, batch_size: 2, fill: ones, binary: true}\n"
    )
    done = benchctl(
        "run", "steady", "--target", str(target), "--rate", "10", "--duration", "2s",
        "--set", "warmup=0s", "--no-telemetry", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 2, done.output()
    line = done.stderr.strip()
    assert "\n" not in line and "payload.binary" in line and "mlserver" in line, line
