"""Every v2 datatype on every v2 wire against a real KServe ModelServer (case protocol/13).

The server (tests/e2e/servers/dtypes_kserve.py) checks the dtype KServe decoded, the shape
and that every value is 1 (``payload.fill: ones``), so a request is ``ok`` only if it was
encoded correctly. REST JSON cannot carry FP16: benchctl refuses before sending, in one line.
"""

from __future__ import annotations

import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from benchctl.targets.launch import KSERVE_REQUIREMENTS, free_ports, server_venv, venv_python

from .helpers import benchctl

pytestmark = pytest.mark.integration
SERVER = Path(__file__).parent / "servers" / "dtypes_kserve.py"


@pytest.fixture(scope="module")
def kserve(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    venv = server_venv("kserve", KSERVE_REQUIREMENTS, log=lambda _: None)
    http, grpc = free_ports(2)
    log = tmp_path_factory.mktemp("dtypes") / "kserve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(venv_python(venv)), str(SERVER), str(http), str(grpc)],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{http}"
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, log.read_text()[-2000:]
            try:
                with urllib.request.urlopen(f"{url}/v2/models/alltypes/ready", timeout=1):
                    break
            except OSError:
                assert time.monotonic() < deadline, log.read_text()[-2000:]
                time.sleep(0.2)
        yield url, f"127.0.0.1:{grpc}"
    finally:
        proc.terminate()
        proc.wait(10)


def run(tmp_path: Path, server: tuple[str, str], model: str, *sets: str):
    url, grpc = server
    target = tmp_path / "t.yaml"
    target.write_text(
        f"kind: kserve\nurl: {url}\ngrpc_address: {grpc}\nprotocol: rest-v2\nmodel: {model}\n"
        "payload: {source: metadata, batch_size: 2, fill: ones}\ntimeout: 5s\n"
    )
    args = [a for s in sets for a in ("--target-set", s)]
    return benchctl(
        "run", "steady", "--target", str(target), "--rate", "10", "--duration", "2s",
        "--set", "warmup=0s", "--no-telemetry", *args, cwd=tmp_path,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("model", "sets"),
    [
        ("nofp16", ()),  # REST JSON: every type but FP16
        ("alltypes", ("payload.binary=true",)),  # REST binary tensor data extension
        ("alltypes", ("protocol=grpc-v2",)),  # gRPC raw_input_contents (FP16 present)
        ("nofp16", ("protocol=grpc-v2",)),  # gRPC typed contents fields
    ],
    ids=["rest-json", "rest-binary", "grpc-raw", "grpc-typed"],
)
def test_every_datatype_arrives_intact(tmp_path, kserve, model, sets):
    done = run(tmp_path, kserve, model, *sets)
    assert done.returncode == 0, done.output()
    rows = done.requests()
    assert len(rows) > 0
    assert bool(rows["ok"].all()), rows["error"].value_counts().to_dict()


def test_fp16_over_rest_json_is_refused_in_one_line(tmp_path, kserve):
    done = run(tmp_path, kserve, "alltypes")
    assert done.returncode == 2, done.output()
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "'in_fp16' is FP16" in lines[0] and "payload.binary" in lines[0]
    assert "Traceback" not in done.stdout + done.stderr
