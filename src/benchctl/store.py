"""Compatibility name for :mod:`benchctl.rundir`, the package that owns the run directory.

New code imports from ``benchctl.rundir``; this module re-exports that package's public
names (``rundir.__all__``, the one list of them) and ``InputError`` and ``check_run_json``,
so older imports of ``benchctl.store`` keep working unchanged.
"""

from __future__ import annotations

from benchctl import rundir
from benchctl.errors import InputError
from benchctl.rundir import *  # noqa: F403 (the package's public names, one list: rundir.__all__)
from benchctl.rundir.contract import check_run_json

__all__ = [*rundir.__all__, "InputError", "check_run_json"]
