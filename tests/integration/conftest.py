"""A real KServe ModelServer on 127.0.0.1, launched once per module."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from benchctl.targets.launch import LaunchedServer, launch_kserve
from benchctl.targets.refmodel import RefModelConfig


@pytest.fixture(scope="module")
def kserve(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LaunchedServer]:
    server = launch_kserve(log_dir=tmp_path_factory.mktemp("kserve"), log=lambda _: None)
    yield server
    server.stop()


def start_kserve(log_dir: Path, **model: float) -> LaunchedServer:
    return launch_kserve(log_dir=log_dir, model=RefModelConfig(**model), log=lambda _: None)


def target_overrides(server: LaunchedServer) -> tuple[str, ...]:
    return (f"url={server.http_url}", f"grpc_address={server.grpc_address}")
