"""The run directory: the contract between stages. Create, write atomically, read, list.

``runs/<UTC time>-<scenario>-<target>/`` holds run.json, requests.parquet, summary.json,
telemetry.parquet and later analysis and reports. Stages read only these files.
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchctl.errors import DamagedFileError, InputError
from benchctl.run_contract import check_run_json

SCHEMA_VERSION = 1
RUN_JSON = "run.json"
REQUESTS = "requests.parquet"
PARTS = "requests.parts"
SUMMARY = "summary.json"
TELEMETRY = "telemetry.parquet"
REPORT = "report.html"
DEFAULT_RUNS_DIR = Path("runs")

COMPLETED, INTERRUPTED, FAILED, RUNNING = "completed", "interrupted", "failed", "running"
DAMAGED = "damaged"  # run.json unreadable: listed, never used as data


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
        """An existing run; InputError (one line) if ``path`` is not one or its run.json
        is damaged (not UTF-8, not JSON, not an object)."""
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
        """Write JSON atomically: readers never see half a file; never through a symlink."""
        text = json.dumps(data, indent=2, sort_keys=False, default=str) + "\n"
        return self.write_text(name, text)

    def write_text(self, name: str, text: str, *, mode: int = 0o644) -> Path:
        """Write ``name`` (may contain ``/``) inside the run atomically (see write_atomic)."""
        return self.write_bytes(name, text.encode("utf-8"), mode=mode)

    def write_bytes(self, name: str, data: bytes, *, mode: int = 0o644) -> Path:
        with self.output(name, mode=mode) as temporary:
            temporary.write_bytes(data)
        return self.path / name

    @contextmanager
    def output(self, name: str, *, mode: int = 0o644) -> Iterator[Path]:
        """A fresh temporary file to fill (``df.to_parquet(tmp)``, ``fig.savefig(tmp)``);
        on success it replaces ``RUN/name``. InputError if ``name`` or a folder between the
        run directory and it is a symbolic link (benchctl writes only inside the run)."""
        path = self.inside(name)
        with atomic_output(path, mode=mode) as temporary:
            yield temporary

    def mkdir(self, name: str) -> Path:
        """A folder inside the run (created if missing); InputError if it is a symlink."""
        path = self.inside(name)
        if path.is_symlink():
            raise InputError(
                f"{path}: is a symbolic link; benchctl writes only inside the run directory: "
                "remove the link"
            )
        if path.exists() and not path.is_dir():
            raise InputError(f"{path}: exists and is not a folder; remove it to write here")
        path.mkdir(parents=True, exist_ok=True)
        return path

    def inside(self, name: str) -> Path:
        """``RUN/name`` after checking no part of it below the run directory is a symlink."""
        relative = Path(name)
        if relative.is_absolute() or ".." in relative.parts:
            raise InputError(f"{name}: not a path inside the run directory {self.path}")
        current = self.path
        for part in relative.parts[:-1]:
            current = current / part
            if current.is_symlink():
                raise InputError(
                    f"{current}: is a symbolic link; benchctl writes only inside the run "
                    "directory: remove the link"
                )
            if not current.exists():
                current.mkdir()
        return self.path / relative

    def read_json(self, name: str) -> dict[str, Any]:
        """A JSON object from the run; InputError naming the file and the problem (for
        run.json also a field of the wrong kind: see benchctl.run_contract)."""
        data = read_json_file(self.path / name)
        if name == RUN_JSON:
            check_run_json(data, self.path / name)
        return data

    def update_run(self, **fields: Any) -> dict[str, Any]:
        data = self.read_json(RUN_JSON)
        data.update(fields)
        self.write_json(RUN_JSON, data)
        return data


def list_runs(base: Path = DEFAULT_RUNS_DIR) -> list[tuple[RunDir, dict[str, Any]]]:
    """Every run under ``base``, oldest first, with its run.json.

    A run whose run.json cannot be read is still listed, as ``{"status": "damaged",
    "damage": "<one line>"}``, so one bad run never hides the others."""
    runs = []
    if base.is_dir():
        for path in sorted(base.iterdir()):
            if (path / RUN_JSON).is_file():
                try:
                    info = read_json_file(path / RUN_JSON)
                    check_run_json(info, path / RUN_JSON)
                    info = _recover_orphan(path, info)
                except InputError as exc:
                    info = {"id": path.name, "status": DAMAGED, "damage": str(exc)}
                runs.append((RunDir(path), info))
    return runs


def read_json_file(path: Path) -> dict[str, Any]:
    """A JSON object from ``path``; InputError: missing, not UTF-8, not JSON, not an object."""
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: missing") from None
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{path}: damaged: not UTF-8 text (byte {exc.object[exc.start]:#04x} at offset "
            f"{exc.start})"
        ) from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}:{exc.lineno}: damaged: invalid JSON: {exc.msg}") from None
    except RecursionError:
        raise InputError(f"{path}: damaged: JSON nested too deeply") from None
    if not isinstance(data, dict):
        kinds = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
        got = kinds.get(type(data), "a number")
        raise InputError(f"{path}: damaged: expected a JSON object, got {got}")
    return data


def read_parquet(path: Path, columns: list[str] | None = None) -> Any:
    """A Parquet file as a pandas DataFrame (only ``columns`` if given).

    DamagedFileError (an InputError and a ValueError) naming the file if it is missing,
    empty, truncated, not Parquet, or lacks one of ``columns``."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(path)
    if not path.is_file():
        raise DamagedFileError(f"{path}: missing")
    try:
        parquet = pq.ParquetFile(path)
        names = set(parquet.schema_arrow.names)
        lacking = [c for c in columns or () if c not in names]
        if lacking:
            raise DamagedFileError(
                f"{path}: damaged: lacks column{'s' if len(lacking) > 1 else ''} "
                f"{', '.join(lacking)} (has {', '.join(sorted(names)) or 'none'})"
            )
        return parquet.read(columns=columns).to_pandas()
    except (OSError, pa.ArrowException) as exc:
        first = " ".join(str(exc).split()) or type(exc).__name__
        raise DamagedFileError(
            f"{path}: damaged: not a readable Parquet file ({first[:120]})"
        ) from None


def write_atomic(path: Path, data: bytes | str, *, mode: int = 0o644) -> Path:
    """Write ``path`` whole or not at all, never through a symlink (see atomic_output)."""
    with atomic_output(Path(path), mode=mode) as temporary:
        temporary.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return Path(path)


@contextmanager
def atomic_output(path: Path, *, mode: int = 0o644) -> Iterator[Path]:
    """Yield a new temporary file beside ``path`` (same suffix, created with O_EXCL so a
    planted link is never opened); after the block it atomically replaces ``path``
    (``os.replace`` swaps the directory entry: it never follows a link there). InputError if
    ``path`` is a symlink or a folder, or its folder cannot be made; on error the temporary
    file is removed and ``path`` is untouched."""
    path = Path(path)
    if path.is_symlink():
        raise InputError(f"{path}: is a symbolic link; refusing to write through it")
    if path.is_dir():
        raise InputError(f"{path}: is a folder; give a file name")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(
            prefix=f".{path.name}.", suffix=f".tmp{path.suffix}", dir=path.parent
        )
    except (FileExistsError, NotADirectoryError):
        raise InputError(f"{path}: a part of this path is a file, not a folder") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot write: {exc.strerror}") from None
    os.close(handle)
    temporary = Path(name)
    try:
        yield temporary
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    finally:
        if temporary.exists():
            temporary.unlink()


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.]+", "-", text).strip("-")[:40] or "x"


def _recover_orphan(path: Path, info: dict[str, Any]) -> dict[str, Any]:
    """Recovery hook (issue 10, see benchctl.recovery): a run left ``running`` by a killed
    ``benchctl run`` is finished on first sight, with one line on stderr saying how many
    requests were recovered. Returns the run's (possibly updated) run.json."""
    if info.get("status") != RUNNING and not (path / PARTS).is_dir():
        return info
    from benchctl.recovery import recover

    done = recover(path)
    if done is None:
        return info
    sys.stderr.write(f"benchctl: {done.message(path)}\n")
    return read_json_file(path / RUN_JSON)
