"""The fields of run.json that commands read, checked when a run is opened.

A run.json that is valid JSON but holds the wrong kind of value where benchctl reads one
(a string for ``plan.duration``, NaN in a phase's start, a list for ``scenario``) is as
damaged as one that is not JSON: ``check_run_json`` says which field and what is allowed,
in one line, instead of a traceback deep in analyze, compare, gate or telemetry. A
run.json of a newer ``schema_version`` than this benchctl reads is refused (upgrade
benchctl), and one without ``status``, ``scenario`` or ``target`` (which every writer,
old or new, puts in its first run.json) is damaged. Other absent fields are not
required here (older runs, runs still starting); each command says what it needs and lacks.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from benchctl.errors import InputError
from benchctl.rundir.names import RUN_SCHEMA_VERSION, RUNNING

REQUIRED = ("status", "scenario", "target")

_SECTIONS = ("scenario", "target", "plan", "engine", "counts", "generator", "telemetry")
_TEXT = (("status",), ("reason",), ("id",), ("scenario", "name"), ("target", "name"))
_OBJECTS = (("scenario", "spec"), ("target", "spec"))
_FINITE = (("scenario", "time_scale"), ("plan", "duration"), ("engine", "t0"))
_COUNTS = ("sent", "dropped", "rows", "unwritten", "sent_not_recorded", "recovered_rows")


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _get(data: dict[str, Any], path: tuple[str, ...]) -> Any:
    for key in path[:-1]:
        data = data.get(key) if isinstance(data.get(key), dict) else {}
    return data.get(path[-1])


def check_version_and_keys(data: dict[str, Any], path: Path | str) -> None:
    """Refuse a run.json object (``data``, read from ``path``) this benchctl cannot read:
    InputError ``PATH: schema_version V is newer than this benchctl reads (up to N):
    upgrade benchctl``, or ``PATH: damaged: field 'F' missing (...)`` for a key of ``REQUIRED``
    absent or null (unless ``status`` is running: a run still being set up). A run.json
    without ``schema_version`` is version 0 (models.py)."""
    version = data.get("schema_version", 0)
    if isinstance(version, int) and not isinstance(version, bool) and version > RUN_SCHEMA_VERSION:
        raise InputError(
            f"{path}: schema_version {version} is newer than this benchctl reads (up to "
            f"{RUN_SCHEMA_VERSION}): upgrade benchctl"
        )
    for key in REQUIRED if data.get("status") != RUNNING else ():  # a run still starting
        if data.get(key) is None:
            raise InputError(
                f"{path}: damaged: field '{key}' missing (every run.json has "
                f"{', '.join(REQUIRED[:-1])} and {REQUIRED[-1]})"
            )


def check_run_json(data: dict[str, Any], path: Path) -> None:
    """Check the fields of a run.json object (``data``, read from ``path``) that commands
    read; returns None when every present one has its kind. Raises InputError
    ``PATH: damaged: field 'F' must be ALLOWED, got VALUE`` (value shown up to 40
    characters) for the first field of the wrong kind (``schema_version``: a whole number
    >= 0), and as ``check_version_and_keys`` for a newer version or a required key missing."""

    def bad(field: str, allowed: str, value: Any) -> InputError:
        shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
        return InputError(f"{path}: damaged: field '{field}' must be {allowed}, got {shown}")

    version = data.get("schema_version", 0)
    if isinstance(version, bool) or not isinstance(version, int) or version < 0:
        raise bad("schema_version", "a whole number >= 0", version)
    check_version_and_keys(data, path)
    for name in _SECTIONS:
        if data.get(name) is not None and not isinstance(data[name], dict):
            raise bad(name, "an object", data[name])
    for keys in _TEXT:
        value = _get(data, keys)
        if value is not None and not isinstance(value, str):
            raise bad(".".join(keys), "text", value)
    for keys in _OBJECTS:
        value = _get(data, keys)
        if value is not None and not isinstance(value, dict):
            raise bad(".".join(keys), "an object", value)
    for keys in _FINITE:
        value = _get(data, keys)
        if value is not None and not _finite(value):
            raise bad(".".join(keys), "a finite number", value)
    counts = data.get("counts") or {}
    for key in _COUNTS:
        value = counts.get(key)
        if value is not None and not (_finite(value) and value >= 0):
            raise bad(f"counts.{key}", "a number >= 0", value)
    plan = data.get("plan") or {}
    for name, width in (("phases", None), ("curve", 2)):
        rows = plan.get(name)
        if rows is None:
            continue
        if not isinstance(rows, list):
            raise bad(f"plan.{name}", "a list", rows)
        for i, row in enumerate(rows):
            if width is None:  # a phase: {"name", "start", "end"}
                ok = isinstance(row, dict) and all(_finite(row.get(k)) for k in ("start", "end"))
                allowed = "an object with finite start and end"
            else:  # a curve point: [time, rate]
                ok = isinstance(row, list) and len(row) == width and all(map(_finite, row))
                allowed = "a [time, rate] pair of finite numbers"
            if not ok:
                raise bad(f"plan.{name}[{i}]", allowed, row)
