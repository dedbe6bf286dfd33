"""Compatibility name for :mod:`benchctl.rundir`, the package that owns the run directory.

New code imports from ``benchctl.rundir``; this module re-exports what older imports of
``benchctl.store`` name, unchanged.
"""

from __future__ import annotations

from benchctl.errors import DamagedFileError, InputError
from benchctl.rundir.contract import check_run_json
from benchctl.rundir.directory import RunDir, list_runs
from benchctl.rundir.names import (
    COMPLETED,
    DAMAGED,
    DEFAULT_RUNS_DIR,
    FAILED,
    INTERRUPTED,
    PARTS,
    REPORT,
    REQUESTS,
    RUN_JSON,
    RUNNING,
    SCHEMA_VERSION,
    SUMMARY,
    TELEMETRY,
)
from benchctl.rundir.reader import read_json_file, read_parquet
from benchctl.rundir.writer import atomic_output, write_atomic

__all__ = [
    "COMPLETED",
    "DAMAGED",
    "DEFAULT_RUNS_DIR",
    "FAILED",
    "INTERRUPTED",
    "PARTS",
    "REPORT",
    "REQUESTS",
    "RUNNING",
    "RUN_JSON",
    "SCHEMA_VERSION",
    "SUMMARY",
    "TELEMETRY",
    "DamagedFileError",
    "InputError",
    "RunDir",
    "atomic_output",
    "check_run_json",
    "list_runs",
    "read_json_file",
    "read_parquet",
    "write_atomic",
]
