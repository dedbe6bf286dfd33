"""Every v2 datatype on every v2 wire against a real KServe ModelServer (case protocol/13).

The server (tests/e2e/servers/dtypes_kserve.py) checks the dtype KServe decoded, the shape
and that every value is 1 (``payload.fill: ones``), so a request is ``ok`` only if it was
encoded correctly. REST JSON cannot carry FP16: benchctl refuses before sending, in one line.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from benchctl.targets.launch import KSERVE_REQUIREMENTS, free_ports, server_venv, venv_python

from .dtypes_common import run_steady, serving

pytestmark = pytest.mark.integration
SERVER = Path(__file__).parent / "servers" / "dtypes_kserve.py"


@pytest.fixture(scope="module")
def kserve(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    venv = server_venv("kserve", KSERVE_REQUIREMENTS, log=lambda _: None)
    http, grpc = free_ports(2)
    log = tmp_path_factory.mktemp("dtypes") / "kserve.log"
    with serving(
        [str(venv_python(venv)), str(SERVER), str(http), str(grpc)], log,
        http=http, grpc=grpc, ready_path="/v2/models/alltypes/ready",
        ready_within_s=60, poll_s=0.2, stop_within_s=10, log_tail=2000,
    ) as addresses:  # fmt: skip
        yield addresses


def run(tmp_path: Path, server: tuple[str, str], model: str, *sets: str):
    url, grpc = server
    return run_steady(
        tmp_path,
        f"kind: kserve\nurl: {url}\ngrpc_address: {grpc}\nprotocol: rest-v2\nmodel: {model}\n"
        "payload: {source: metadata, batch_size: 2, fill: ones}\ntimeout: 5s\n",
        *sets,
    )


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
