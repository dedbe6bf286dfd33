import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from benchctl.targets.launch import LaunchedServer


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if "integration" in str(item.fspath):
            item.add_marker(pytest.mark.integration)


def pytest_collection_finish(session: pytest.Session) -> None:
    """Only the engine process may import Locust: importing it monkey-patches this whole test
    process with gevent, after which in-process servers (gRPC stand-ins in threads) stall the
    run. A test module that imports ``benchctl.load.engine`` (or locust) is refused here."""
    if "locust" in sys.modules:
        raise pytest.UsageError(
            "a test module imported locust (e.g. via benchctl.load.engine) into the pytest "
            "process; import constants from a locust-free module instead"
        )


@pytest.fixture(scope="session")
def session_kserve(tmp_path_factory: pytest.TempPathFactory) -> Iterator["LaunchedServer"]:
    """One real KServe ModelServer on 127.0.0.1 for the whole test session: the reference
    model with default settings (cost 0, one worker), launched on first use and stopped at
    the end. Every module that needs exactly this server shares it instead of launching its
    own (each launch costs seconds). Tests that use it read its counters as increases
    (before/after their own traffic), never as totals, and never stop or slow it; a test
    that needs other settings, or a server it may kill, launches its own."""
    from benchctl.targets.launch import launch_kserve  # locust-free; only when used

    server = launch_kserve(log_dir=tmp_path_factory.mktemp("kserve-session"), log=lambda _: None)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def shared_kserve(session_kserve: "LaunchedServer") -> "LaunchedServer":
    """The session's KServe, checked alive for each module that uses it (a module that
    stopped it would otherwise fail every later one without saying why)."""
    assert session_kserve.alive(), f"the session's KServe exited; log: {session_kserve.log_path}"
    return session_kserve
