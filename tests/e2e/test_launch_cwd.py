"""``benchctl run steady --target <T> --launch`` exactly as the README shows it, for every
launcher and both protocols: the installed executable, a fresh temporary working directory,
the default relative ``runs/`` folder. Each case launches its own real server on 127.0.0.1.

Before the fix three of the four launchers failed here (relative model repository, model
store and settings paths handed to servers that run in their own working directory).
"""

from __future__ import annotations

import os

import pytest

from benchctl.targets.launch import cache_root

from .helpers import benchctl

pytestmark = pytest.mark.integration

# (target profile, extra flags): every launchable kind, REST and gRPC.
CASES = [
    ("kserve", ()),  # rest-v2
    ("kserve-v1", ()),  # rest-v1
    ("kserve-grpc", ()),  # grpc-v2
    ("triton", ()),  # rest-v2
    ("triton-grpc", ()),  # grpc-v2
    ("torchserve", ()),  # torchserve-rest
    ("torchserve-grpc", ()),  # torchserve-grpc
    ("mlserver", ()),  # rest-v2
    ("mlserver", ("--target-set", "protocol=grpc-v2")),  # grpc-v2
]
RATE, DURATION = 10, "4s"  # with warm-up 1 s: 3 s measured, ~30 requests


@pytest.mark.parametrize(
    ("target", "extra"), CASES, ids=[f"{t}{''.join(e)[-8:]}" for t, e in CASES]
)
def test_launch_from_fresh_directory_with_default_runs_dir(tmp_path, target, extra):
    done = benchctl(
        "run", "steady", "--target", target, "--launch", "--rate", str(RATE),
        "--duration", DURATION, "--set", "warmup=1s", *extra, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.output()
    assert done.run_dir is not None and done.run_dir.parent == tmp_path / "runs"
    info = done.run_json()
    assert info["status"] == "completed", info.get("reason")
    assert info["target"]["launched"]["http_url"].startswith("http://127.0.0.1:")
    rows = done.requests()
    # 10 req/s for 4 s: about 40 requests (Poisson); far fewer means the run did not run.
    assert len(rows) > 10
    assert info["counts"]["rows"] == len(rows)
    assert bool(rows["ok"].all()), rows["error"].value_counts().to_dict()


@pytest.mark.integration
def test_relative_cache_dir_works_from_a_fresh_directory(tmp_path):
    """BENCHCTL_CACHE_DIR given relative to the working directory (here: the existing cache,
    so nothing is built): the server's interpreter is found although KServe runs in the run
    folder."""
    relative = os.path.relpath(cache_root(), tmp_path)
    done = benchctl(
        "run", "steady", "--target", "kserve", "--launch", "--rate", "10", "--duration", "2s",
        "--set", "warmup=0s", "--no-telemetry", cwd=tmp_path,
        env={"BENCHCTL_CACHE_DIR": relative},
    )  # fmt: skip
    assert done.returncode == 0, done.output()
    assert done.run_json()["status"] == "completed"
