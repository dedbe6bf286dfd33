import sys

import pytest


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
