"""Fixtures of the end-to-end tests."""

import pytest

from benchctl.targets.launch import LaunchedServer


@pytest.fixture(scope="module")
def kserve(shared_kserve: LaunchedServer) -> LaunchedServer:
    """The session's KServe (tests/conftest.py): reference model, default settings, one
    worker. A module that needs a server of its own defines its own ``kserve``."""
    return shared_kserve
