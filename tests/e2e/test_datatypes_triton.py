"""Every v2 datatype, BF16 included, against a real Triton 2.51 (python backend): the model
(tests/e2e/servers/dtypes_triton.py) checks dtype, shape and that every value is 1; Triton
itself checks each input's byte size (so a BF16 sent as 4 bytes, or FP16 in fp32_contents,
is refused). REST JSON cannot carry FP16 or BF16: benchctl refuses before sending."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from benchctl.targets.launch import free_ports, server_venv
from benchctl.targets.launch_triton import TRITON_REQUIREMENTS, _triton_runtime

from .dtypes_common import run_steady, serving

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
    with serving(
        [str(server_dir / "bin" / "tritonserver"), f"--model-repository={root / 'models'}",
         f"--backend-directory={server_dir / 'backends'}",
         "--http-address=127.0.0.1", f"--http-port={http}",
         "--grpc-address=127.0.0.1", f"--grpc-port={grpc}",
         "--metrics-address=127.0.0.1", f"--metrics-port={metrics}",
         "--allow-gpu-metrics=false", "--exit-timeout-secs=5"], log,
        http=http, grpc=grpc, ready_path="/v2/health/ready",
        ready_within_s=90, poll_s=0.3, stop_within_s=20, log_tail=3000, env=env, cwd=root,
    ) as addresses:  # fmt: skip
        yield addresses


def run(tmp_path: Path, server: tuple[str, str], model: str, protocol: str, *sets: str):
    url, grpc = server
    return run_steady(
        tmp_path,
        f"kind: triton\nurl: {url}\ngrpc_address: {grpc}\nprotocol: {protocol}\n"
        f"model: {model}\npayload: {{source: metadata, batch_size: 2, fill: ones}}\n",
        *sets,
    )


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
