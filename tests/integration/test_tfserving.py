"""TF-Serving targets end to end.

No real TF-Serving can run here. REST: the ``tfserving`` profile against a REAL KServe v1
endpoint (the same ``:predict`` wire format; KServe's readiness and metadata differ and are
handled), plus TF-Serving-shaped readiness/metadata from a REST stand-in. gRPC: the
``tfserving-grpc`` profile against a protocol stand-in (tfserving_standin.py), not TF-Serving.
"""

import io
import subprocess
import sys
from collections.abc import Iterator

import pyarrow.parquet as pq
import pytest
from rich.console import Console

from benchctl.config import load_target
from benchctl.errors import InputError
from benchctl.run import RunOptions, RunResult, run
from benchctl.targets.adapter import adapter_for
from benchctl.targets.launch import LaunchedServer

from .tfserving_standin import RestStandIn, StandIn

QUIET = Console(file=io.StringIO(), width=120)


@pytest.fixture
def standin() -> Iterator[StandIn]:
    server = StandIn().start()
    yield server
    server.stop()


@pytest.fixture
def rest_standin() -> Iterator[RestStandIn]:
    server = RestStandIn().start()
    yield server
    server.stop()


def steady(tmp_path, target: str, overrides: tuple[str, ...], rate: float = 40) -> RunResult:
    return run(
        RunOptions(
            scenario="steady",
            target=target,
            rate=rate,
            duration="4s",
            overrides=("warmup=0s",),
            runs_dir=tmp_path / "runs",
            target_overrides=overrides,
        ),
        console=QUIET,
    )


def rows_of(result: RunResult):
    return pq.read_table(result.run_dir / "requests.parquet").to_pandas()


@pytest.mark.parametrize("layout", ["row", "columnar"])
def test_rest_profile_against_real_kserve_v1(tmp_path, kserve: LaunchedServer, layout):
    overrides = (
        f"url={kserve.http_url}",
        f"metrics_url={kserve.metrics_url}",
        "model=mlp",
        f"payload.format={layout}",
        "payload.batch_size=2",
    )
    result = steady(tmp_path, "tfserving", overrides)
    assert result.status == "completed", result.reason
    frame = rows_of(result)
    assert 100 <= len(frame) <= 220  # Poisson(160): about 4.7 standard deviations
    assert frame["ok"].all(), frame["error"].value_counts().to_dict()


def test_rest_unknown_model_on_kserve_is_one_line(tmp_path, kserve: LaunchedServer):
    with pytest.raises(InputError, match="model 'nope' not found") as info:
        steady(tmp_path, "tfserving", (f"url={kserve.http_url}", "model=nope"))
    assert "\n" not in str(info.value)
    assert not (tmp_path / "runs").exists()


def test_rest_tfserving_status_and_metadata_shapes(tmp_path, rest_standin: RestStandIn):
    target, _ = load_target("tfserving", overrides=(f"url={rest_standin.url}",))
    adapter = adapter_for(target.protocol)
    adapter.check_ready(target, "t")  # model_version_status: AVAILABLE
    inputs = adapter.model_inputs(target, "t")  # no v2 metadata: falls back to /metadata
    assert inputs == [{"name": "input-0", "datatype": "FP32", "shape": [-1, 64]}]
    versioned = target.model_copy(update={"model_version": "1"})
    adapter.check_ready(versioned, "t")
    with pytest.raises(InputError, match="not found"):
        adapter.check_ready(target.model_copy(update={"model": "nope"}), "t")
    result = steady(tmp_path, "tfserving", (f"url={rest_standin.url}", "metrics_url=null"), 20)
    assert result.status == "completed", result.reason
    frame = rows_of(result)
    assert frame["ok"].all(), frame["error"].value_counts().to_dict()
    assert rest_standin.predict_count == len(frame) > 40


def test_grpc_profile_against_the_standin(tmp_path, standin: StandIn):
    overrides = (f"grpc_address={standin.address}", "metrics_url=null", "model=mlp")
    result = steady(tmp_path, "tfserving-grpc", overrides)
    assert result.status == "completed", result.reason
    frame = rows_of(result)
    assert 100 <= len(frame) <= 220
    assert frame["ok"].all(), frame["error"].value_counts().to_dict()
    assert standin.predict_count == len(frame)  # every row was one Predict the server answered


def test_grpc_wrong_model_fails_preflight_in_one_line(tmp_path, standin: StandIn):
    overrides = (f"grpc_address={standin.address}", "model=nope")
    with pytest.raises(InputError, match=r"GetModelStatus .*'nope'.*NOT_FOUND") as info:
        steady(tmp_path, "tfserving-grpc", overrides)
    assert "\n" not in str(info.value)
    assert standin.predict_count == 0 and not (tmp_path / "runs").exists()


def test_launch_is_refused_with_exit_2(tmp_path):
    process = subprocess.run(
        [sys.executable, "-m", "benchctl", "run", "steady", "--target", "tfserving", "--launch",
         "--runs-dir", str(tmp_path / "runs")],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert process.returncode == 2, process.stderr
    assert "TF-Serving cannot be launched here" in process.stderr
    assert len(process.stderr.strip().splitlines()) == 1
