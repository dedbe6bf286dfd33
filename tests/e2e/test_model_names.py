"""Model names are percent-encoded in URLs (case protocol/10): names with '.', a space or
'/' reach a server that %-decodes the path (as FastAPI, Triton and TorchServe do), and a
space never gives a traceback. The stand-in serves exactly the one name it was given; the
real KServe test launches KServe with a name holding a space."""

from __future__ import annotations

import pytest

from .helpers import benchctl
from .standin import V2Standin, write_target


@pytest.mark.parametrize("name", ["resnet.v1.0.1", "my model", "org/model"])
def test_model_name_reaches_the_server(tmp_path, name):
    with V2Standin(model=name) as standin:
        target = write_target(tmp_path / "t.yaml", standin.url, model=name)
        done = benchctl(
            "run", "steady", "--target", str(target), "--rate", "10", "--duration", "2s",
            "--set", "warmup=0s", "--no-telemetry", cwd=tmp_path,
        )  # fmt: skip
        seen = dict(standin.counts)
    assert done.returncode == 0, done.output()
    rows = done.requests()
    assert len(rows) == seen.get("infer_seen") > 0, seen
    assert bool(rows["ok"].all())
    assert "post_404" not in seen and "get_404" not in seen


@pytest.mark.integration
def test_launched_kserve_serves_a_name_with_a_space(tmp_path):
    done = benchctl(
        "run", "steady", "--target", "kserve", "--launch", "--target-set", "model=my model",
        "--rate", "10", "--duration", "2s", "--set", "warmup=0s", "--no-telemetry", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.output()
    rows = done.requests()
    assert len(rows) > 0 and bool(rows["ok"].all()), rows["error"].value_counts().to_dict()


@pytest.mark.parametrize(
    ("target", "name"),
    [
        ("triton", "my model"),
        ("torchserve", "my model"),
        ("kserve", "org/m"),
        ("mlserver", "org/m"),
    ],
)
def test_launch_refuses_a_name_the_server_cannot_take_in_one_line(tmp_path, target, name):
    done = benchctl(
        "run", "steady", "--target", target, "--launch", "--target-set", f"model={name}",
        "--rate", "10", "--duration", "2s", "--set", "warmup=0s", "--no-telemetry", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 2, done.output()
    line = done.stderr.strip()
    assert "\n" not in line and "target field 'model'" in line and repr(name) in line, line
    assert "Traceback" not in done.stdout
