"""Every v2 datatype MLServer knows, on REST JSON and gRPC, against a real MLServer 1.7.1
(runtime: tests/e2e/servers/dtypes_mlserver.py checks dtype, shape and that every value is
1). MLServer decodes FP16 from JSON (numpy), unlike KServe and Triton; it has no BF16."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from benchctl.targets.launch import free_ports, server_venv
from benchctl.targets.launch_mlserver import MLSERVER_REQUIREMENTS

from .dtypes_common import run_steady, serving

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
    with serving(
        [str(venv / "bin" / "mlserver"), "start", str(root)], log,
        http=http, grpc=grpc, ready_path="/v2/models/nofp16/ready",
        ready_within_s=90, poll_s=0.3, stop_within_s=20, log_tail=2000, cwd=root,
    ) as addresses:  # fmt: skip
        yield addresses


@pytest.mark.parametrize(
    ("model", "protocol"),
    [("alltypes", "rest-v2"), ("alltypes", "grpc-v2"), ("nofp16", "grpc-v2")],
    ids=["rest-json", "grpc-raw", "grpc-typed"],
)
def test_every_datatype_arrives_intact_on_mlserver(tmp_path, mlserver, model, protocol):
    url, grpc = mlserver
    done = run_steady(
        tmp_path,
        f"kind: mlserver\nurl: {url}\ngrpc_address: {grpc}\nprotocol: {protocol}\n"
        f"model: {model}\npayload: {{source: metadata, batch_size: 2, fill: ones}}\n",
    )
    assert done.returncode == 0, done.output()
    rows = done.requests()
    assert len(rows) > 0 and bool(rows["ok"].all()), rows["error"].value_counts().to_dict()


def test_binary_extension_is_refused_for_mlserver_in_one_line(tmp_path, mlserver):
    url, grpc = mlserver
    done = run_steady(
        tmp_path,
        f"kind: mlserver\nurl: {url}\ngrpc_address: {grpc}\nprotocol: rest-v2\nmodel: nofp16\n"
        "payload: {source: metadata, batch_size: 2, fill: ones, binary: true}\n",
    )
    assert done.returncode == 2, done.output()
    line = done.stderr.strip()
    assert "\n" not in line and "payload.binary" in line and "mlserver" in line, line
