"""A real KServe ModelServer on 127.0.0.1: the session's shared one (tests/conftest.py)."""

from pathlib import Path

import pytest

from benchctl.targets.launch import LaunchedServer, launch_kserve
from benchctl.targets.refmodel import RefModelConfig


@pytest.fixture(scope="module")
def kserve(shared_kserve: LaunchedServer) -> LaunchedServer:
    """The reference model with default settings, launched once per session and shared by
    every module that asks for ``kserve`` (read its counters as increases, not totals)."""
    return shared_kserve


def start_kserve(log_dir: Path, **model: float) -> LaunchedServer:
    return launch_kserve(log_dir=log_dir, model=RefModelConfig(**model), log=lambda _: None)


def target_overrides(server: LaunchedServer) -> tuple[str, ...]:
    return (f"url={server.http_url}", f"grpc_address={server.grpc_address}")
