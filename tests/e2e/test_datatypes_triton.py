"""Every v2 datatype, BF16 included, against a real Triton 2.51 (python backend): the model
(tests/e2e/servers/dtypes_triton.py) checks dtype, shape and that every value is 1; Triton
itself checks each input's byte size (so a BF16 sent as 4 bytes, or FP16 in fp32_contents,
is refused). REST JSON cannot carry FP16 or BF16: benchctl refuses before sending."""

from __future__ import annotations

import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from benchctl.targets.launch import free_ports, server_venv
from benchctl.targets.launch_triton import TRITON_REQUIREMENTS, _triton_runtime

from .helpers import benchctl

pytestmark = pytest.mark.integration
MODEL = Path(__file__).parent / "servers" / "dtypes_triton.py"
ALL = ["BOOL", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64",
       "FP16", "BF16", "FP32", "FP64", "STRING"]  # fmt: skip


def write_model(repository: Path, name: str, kinds: list[str]) -> None:
    (repository / name / "1").mkdir(parents=True)
    shutil.copyfile(MODEL, repository / name / "1" / "model.py")
    inputs = ", ".join(
        f'{{ name: "in_{k.lower()}" data_type: TYPE_{k} dims: [-1, 3] }}' for k in kinds
    )
    (repository / name / "config.pbtxt").write_text(
        f'name: "{name}"\nbackend: "python"\nmax_batch_size: 0\ninput [{inputs}]\n'
        'output [{ name: "y" data_type: TYPE_FP32 dims: [-1, 1] }]\n'
        "instance_group [{ count: 1 kind: KIND_CPU }]\n"
    )


@pytest.fixture(scope="module")
def triton(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    venv = server_venv("triton", TRITON_REQUIREMENTS, log=lambda _: None)
    server_dir, env = _triton_runtime(venv)
    root = tmp_path_factory.mktemp("triton-dtypes")
    write_model(root / "models", "alltypes", ALL)
    write_model(root / "models", "nohalf", [k for k in ALL if k not in ("FP16", "BF16")])
    write_model(root / "models", "bf16", ["BF16", "FP32"])
    http, grpc, metrics = free_ports(3)
    log = root / "triton.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(server_dir / "bin" / "tritonserver"), f"--model-repository={root / 'models'}",
             f"--backend-directory={server_dir / 'backends'}",
             "--http-address=127.0.0.1", f"--http-port={http}",
             "--grpc-address=127.0.0.1", f"--grpc-port={grpc}",
             "--metrics-address=127.0.0.1", f"--metrics-port={metrics}",
             "--allow-gpu-metrics=false", "--exit-timeout-secs=5"],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env, cwd=root,
        )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{http}"
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None, log.read_text()[-3000:]
            try:
                with urllib.request.urlopen(f"{url}/v2/health/ready", timeout=1):
                    break
            except OSError:
                assert time.monotonic() < deadline, log.read_text()[-3000:]
                time.sleep(0.3)
        yield url, f"127.0.0.1:{grpc}"
    finally:
        proc.terminate()
        proc.wait(20)


def run(tmp_path: Path, server: tuple[str, str], model: str, protocol: str, *sets: str):
    url, grpc = server
    target = tmp_path / "t.yaml"
    target.write_text(
        f"kind: triton\nurl: {url}\ngrpc_address: {grpc}\nprotocol: {protocol}\n"
        f"model: {model}\npayload: {{source: metadata, batch_size: 2, fill: ones}}\n"
    )
    args = [a for s in sets for a in ("--target-set", s)]
    return benchctl(
        "run", "steady", "--target", str(target), "--rate", "10", "--duration", "2s",
        "--set", "warmup=0s", "--no-telemetry", *args, cwd=tmp_path,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("model", "protocol", "sets"),
    [
        ("alltypes", "rest-v2", ("payload.binary=true",)),
        ("alltypes", "grpc-v2", ()),
        ("nohalf", "rest-v2", ()),
        ("nohalf", "grpc-v2", ()),
    ],
    ids=["rest-binary", "grpc-raw", "rest-json", "grpc-typed"],
)
def test_every_datatype_arrives_intact_on_triton(tmp_path, triton, model, protocol, sets):
    done = run(tmp_path, triton, model, protocol, *sets)
    assert done.returncode == 0, done.output()
    rows = done.requests()
    assert len(rows) > 0 and bool(rows["ok"].all()), rows["error"].value_counts().to_dict()


def test_bf16_over_rest_json_is_refused_in_one_line(tmp_path, triton):
    done = run(tmp_path, triton, "bf16", "rest-v2")
    assert done.returncode == 2, done.output()
    line = done.stderr.strip()
    assert "\n" not in line and "input 'in_bf16' is BF16" in line, line
    assert "payload.binary" in line and "Traceback" not in done.stdout
