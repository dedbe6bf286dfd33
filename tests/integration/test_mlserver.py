"""A real MLServer 1.7.1 on loopback: v2 over REST (via --launch) and gRPC with a two-process
inference pool (bounded runs)."""

import io
import json
from collections.abc import Iterator

import pyarrow.parquet as pq
import pytest
from rich.console import Console

from benchctl.run import RunOptions, RunResult, run
from benchctl.targets.launch import LaunchedServer
from benchctl.targets.launch_mlserver import launch_mlserver

QUIET = Console(file=io.StringIO(), width=120)


@pytest.fixture(scope="module")
def mlserver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LaunchedServer]:
    log_dir = tmp_path_factory.mktemp("mlserver")
    server = launch_mlserver(log_dir=log_dir, workers=2, log=lambda _: None)  # inference pool
    yield server
    server.stop()


def steady(tmp_path, overrides: tuple[str, ...], **options) -> RunResult:
    return run(
        RunOptions(
            scenario="steady",
            target="mlserver",
            rate=40,
            duration="4s",
            overrides=("warmup=0s",),
            runs_dir=tmp_path / "runs",
            target_overrides=overrides,
            **options,
        ),
        console=QUIET,
    )


def check_all_ok(result: RunResult) -> None:
    assert result.status == "completed", result.reason
    frame = pq.read_table(result.run_dir / "requests.parquet").to_pandas()
    assert 100 <= len(frame) <= 220  # Poisson(160): about 4.7 standard deviations
    assert frame["ok"].all(), frame["error"].value_counts().to_dict()


def test_launch_and_rest_v2(tmp_path):
    result = steady(tmp_path, ("payload.batch_size=2",), launch=True)
    check_all_ok(result)
    launched = json.loads((result.run_dir / "run.json").read_text())["target"]["launched"]
    assert launched["kind"] == "mlserver" and launched["http_url"].startswith("http://127.0.0.1:")


def test_grpc_v2(tmp_path, mlserver: LaunchedServer):
    overrides = (
        "protocol=grpc-v2",
        f"url={mlserver.http_url}",
        f"grpc_address={mlserver.grpc_address}",
        f"metrics_url={mlserver.metrics_url}",
    )
    check_all_ok(steady(tmp_path, overrides))
