"""The run directory: the contract between stages. Create, write atomically, read, list.

``runs/<UTC time>-<scenario>-<target>/`` holds run.json, requests.parquet, summary.json,
telemetry.parquet and later analysis and reports. Stages read only these files.
"""

from __future__ import annotations

import json
import os
import re
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchctl.errors import InputError

SCHEMA_VERSION = 1
RUN_JSON = "run.json"
REQUESTS = "requests.parquet"
PARTS = "requests.parts"
SUMMARY = "summary.json"
TELEMETRY = "telemetry.parquet"
REPORT = "report.html"
DEFAULT_RUNS_DIR = Path("runs")

COMPLETED, INTERRUPTED, FAILED, RUNNING = "completed", "interrupted", "failed", "running"


@dataclass(frozen=True)
class RunDir:
    path: Path

    @classmethod
    def create(cls, base: Path, scenario: str, target: str) -> RunDir:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        stem = f"{stamp}-{_slug(scenario)}-{_slug(target)}"
        base.mkdir(parents=True, exist_ok=True)
        for suffix in ["", *(f"-{n}" for n in range(2, 100))]:
            path = base / f"{stem}{suffix}"
            try:
                path.mkdir()
            except FileExistsError:
                continue
            return cls(path)
        raise InputError(f"{base}: too many runs named {stem}")

    @classmethod
    def open(cls, path: Path | str) -> RunDir:
        """An existing run; InputError (one line) if ``path`` is not one."""
        run = cls(Path(path))
        if not (run.path / RUN_JSON).is_file():
            raise InputError(f"{path}: not a run directory (no {RUN_JSON}); see `benchctl runs`")
        _recover_orphan(run.path, run.read_json(RUN_JSON))
        return run

    @property
    def name(self) -> str:
        return self.path.name

    def file(self, name: str) -> Path:
        return self.path / name

    def write_json(self, name: str, data: Any) -> Path:
        """Write JSON atomically: readers never see half a file."""
        path = self.path / name
        temporary = path.with_name(f".{path.name}.tmp")
        temporary.write_text(json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")
        os.replace(temporary, path)
        return path

    def read_json(self, name: str) -> dict[str, Any]:
        path = self.path / name
        try:
            return json.loads(path.read_text())
        except FileNotFoundError:
            raise InputError(f"{path}: missing") from None
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}:{exc.lineno}: invalid JSON: {exc.msg}") from None

    def update_run(self, **fields: Any) -> dict[str, Any]:
        data = self.read_json(RUN_JSON)
        data.update(fields)
        self.write_json(RUN_JSON, data)
        return data


def list_runs(base: Path = DEFAULT_RUNS_DIR) -> list[tuple[RunDir, dict[str, Any]]]:
    """Every readable run under ``base``, oldest first, with its run.json."""
    runs = []
    if base.is_dir():
        for path in sorted(base.iterdir()):
            if (path / RUN_JSON).is_file():
                try:
                    info = json.loads((path / RUN_JSON).read_text())
                    runs.append((RunDir(path), _recover_orphan(path, info)))
                except json.JSONDecodeError:
                    continue
    return runs


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.]+", "-", text).strip("-")[:40] or "x"

def _recover_orphan(path: Path, info: dict[str, Any]) -> dict[str, Any]:
    """Recovery hook (issue 10, see benchctl.recovery): a run left ``running`` by a killed
    ``benchctl run`` is finished on first sight, with one line on stderr saying how many
    requests were recovered. Returns the run's (possibly updated) run.json."""
    if info.get("status") != RUNNING:
        return info
    from benchctl.recovery import recover

    done = recover(path)
    if done is None:
        return info
    sys.stderr.write(f"benchctl: {done.message(path)}\n")
    return json.loads((path / RUN_JSON).read_text())
