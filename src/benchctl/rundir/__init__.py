"""The run directory: the contract between stages, owned by this package alone.

``names`` declares every file name; ``requests`` the requests table's schema; ``models``
typed, migrated views of run.json and capacity.json; ``reader`` the one reader (strict for
files a command needs, lenient for files a report can do without); ``writer`` the one
atomic writer, which never follows a symlink; ``directory`` the ``RunDir`` that ties them
to one folder. Other packages read and write run files only through these.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from benchctl.errors import DamagedFileError
from benchctl.rundir.directory import RunDir, list_runs
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
    OptionalTable,
    open_parquet,
    parquet_columns,
    parquet_damaged,
    parquet_rows,
    read_capacity,
    read_document,
    read_json_file,
    read_optional_parquet,
    read_parquet,
    read_run_info,
    read_run_json,
    read_summary,
    read_table,
    summary_overall,
)
from benchctl.rundir.writer import atomic_output, write_atomic, write_text_fallback

if TYPE_CHECKING:
    from benchctl.rundir.models import Capacity, RunInfo


def __getattr__(name: str) -> Any:
    """``Capacity`` and ``RunInfo`` (pydantic models) are imported on first use, so that
    ``benchctl --help`` and the commands' parsers do not import pydantic (PEP 562)."""
    if name in ("Capacity", "RunInfo"):
        from benchctl.rundir import models

        return getattr(models, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
    "OptionalTable",
    "RunDir",
    "RunInfo",
    "atomic_output",
    "list_runs",
    "open_parquet",
    "parquet_columns",
    "parquet_damaged",
    "parquet_rows",
    "read_capacity",
    "read_document",
    "read_json_file",
    "read_optional_parquet",
    "read_parquet",
    "read_run_info",
    "read_run_json",
    "read_summary",
    "read_table",
    "summary_overall",
    "write_atomic",
    "write_text_fallback",
]
