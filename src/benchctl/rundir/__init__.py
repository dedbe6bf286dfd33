"""The run directory: the contract between stages, owned by this package alone.

``names`` declares every file name; ``requests`` the requests table's schema; ``models``
typed, migrated views of run.json and capacity.json; ``reader`` the one reader (strict for
files a command needs, lenient for files a report can do without); ``writer`` the one
atomic writer, which never follows a symlink; ``directory`` the ``RunDir`` that ties them
to one folder. Other packages read and write run files only through these.
"""

from __future__ import annotations

from benchctl.errors import DamagedFileError
from benchctl.rundir.directory import RunDir, list_runs
from benchctl.rundir.models import Capacity, RunInfo
from benchctl.rundir.names import (
    AUTOSCALE_TIMELINE,
    CAPACITY,
    CAPACITY_SCHEMA_VERSION,
    COMPLETED,
    DAMAGED,
    DEFAULT_RUNS_DIR,
    ENGINE_LOG,
    ENGINE_SPEC,
    FAILED,
    INTERRUPTED,
    MANIFESTS,
    PARTS,
    REPORT,
    REQUESTS,
    RUN_JSON,
    RUN_SCHEMA_VERSION,
    RUNNING,
    SCHEMA_VERSION,
    SEARCH,
    SHADOW,
    SHADOW_PARTS,
    SUMMARY,
    SUMMARY_SCHEMA_VERSION,
    TELEMETRY,
    TELEMETRY_PARTS,
    TELEMETRY_WINDOWS,
    WATCHDOG_LOG,
)
from benchctl.rundir.reader import (
    ABSENT,
    NOT_OBJECT,
    UNREADABLE,
    Document,
    read_capacity,
    read_document,
    read_json_file,
    read_parquet,
    read_run_info,
    read_run_json,
    read_summary,
    summary_overall,
)
from benchctl.rundir.writer import atomic_output, write_atomic, write_text_fallback

__all__ = [
    "ABSENT",
    "AUTOSCALE_TIMELINE",
    "CAPACITY",
    "CAPACITY_SCHEMA_VERSION",
    "COMPLETED",
    "DAMAGED",
    "DEFAULT_RUNS_DIR",
    "ENGINE_LOG",
    "ENGINE_SPEC",
    "FAILED",
    "INTERRUPTED",
    "MANIFESTS",
    "NOT_OBJECT",
    "PARTS",
    "REPORT",
    "REQUESTS",
    "RUNNING",
    "RUN_JSON",
    "RUN_SCHEMA_VERSION",
    "SCHEMA_VERSION",
    "SEARCH",
    "SHADOW",
    "SHADOW_PARTS",
    "SUMMARY",
    "SUMMARY_SCHEMA_VERSION",
    "TELEMETRY",
    "TELEMETRY_PARTS",
    "TELEMETRY_WINDOWS",
    "UNREADABLE",
    "WATCHDOG_LOG",
    "Capacity",
    "DamagedFileError",
    "Document",
    "RunDir",
    "RunInfo",
    "atomic_output",
    "list_runs",
    "read_capacity",
    "read_document",
    "read_json_file",
    "read_parquet",
    "read_run_info",
    "read_run_json",
    "read_summary",
    "summary_overall",
    "write_atomic",
    "write_text_fallback",
]
