"""``RunDir``: one run directory, created, opened, read and written only through this
package (names.py for the file names, reader.py to read, writer.py to write)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchctl.errors import InputError
from benchctl.rundir.contract import check_run_json
from benchctl.rundir.names import DAMAGED, DEFAULT_RUNS_DIR, PARTS, RUN_JSON, RUNNING
from benchctl.rundir.reader import (
    Document,
    read_document,
    read_json_file,
    read_run_info,
    read_summary,
    summary_overall,
)
from benchctl.rundir.writer import atomic_output

if TYPE_CHECKING:
    from benchctl.rundir.models import RunInfo

# who is told of a run recovered on first sight (``recovery_notices``): rundir never writes
# to the terminal itself; the CLI prints each notice through reports/terminal
_LISTENERS: list[Callable[[str], None]] = []


@contextmanager
def recovery_notices(tell: Callable[[str], None]) -> Iterator[None]:
    """While inside, hand ``tell`` one line (no newline, no ``benchctl:`` prefix) for each
    run this process recovers on first sight: ``RunDir.open`` and ``list_runs`` finish a
    run a killed ``benchctl run`` left ``running`` (benchctl.recovery), and the line says
    how many requests were recovered (``Recovery.message``). Outside such a block the run
    is recovered all the same and nobody is told. Raises what ``tell`` raises."""
    _LISTENERS.append(tell)
    try:
        yield
    finally:
        _LISTENERS.remove(tell)


@dataclass(frozen=True)
class RunDir:
    """A run directory at ``path`` (``runs/<UTC time>-<scenario>-<target>``)."""

    path: Path

    @classmethod
    def create(cls, base: Path, scenario: str, target: str) -> RunDir:
        """A new, empty run folder under ``base`` named ``<UTC time>-<scenario>-<target>``
        (``-2`` ... ``-99`` appended if taken). InputError if all 99 names are taken."""
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
        is damaged (not UTF-8, not JSON, not an object, a field of the wrong kind). A run
        left ``running`` by a killed CLI is recovered first (benchctl.recovery)."""
        run = cls(Path(path))
        if not (run.path / RUN_JSON).is_file():
            raise InputError(not_a_run(run.path, str(path)))
        _recover_orphan(run.path, run.read_json(RUN_JSON))
        return run

    @property
    def name(self) -> str:
        """The run's id: its folder's name."""
        return self.path.name

    def file(self, name: str) -> Path:
        """``RUN/name`` (no check; use ``inside`` before writing)."""
        return self.path / name

    # ------------------------------------------------------------------ reading

    def read_json(self, name: str) -> dict[str, Any]:
        """A JSON object from the run; InputError naming the file and the problem (for
        run.json also a field of the wrong kind: see benchctl.rundir.contract)."""
        data = read_json_file(self.path / name)
        if name == RUN_JSON:
            check_run_json(data, self.path / name)
        return data

    def info(self) -> RunInfo:
        """run.json as a typed, migrated ``RunInfo``; InputError as ``read_run_info``."""
        return read_run_info(self.path)

    def document(self, name: str) -> Document:
        """An optional JSON file of the run (summary.json, capacity.json) as a Document."""
        return read_document(self.path / name)

    def summary(self) -> Document:
        """summary.json as a Document (absent before a run ends)."""
        return read_summary(self.path)

    def overall(self) -> dict[str, Any]:
        """summary.json's ``overall`` section, or {} when there is none."""
        return summary_overall(self.path)

    # ------------------------------------------------------------------ writing

    def write_json(self, name: str, data: Any) -> Path:
        """Write ``data`` as indented JSON (values JSON lacks written as text) to
        ``RUN/name`` atomically: readers never see half a file; never through a symlink.
        InputError/OSError as ``output``."""
        text = json.dumps(data, indent=2, sort_keys=False, default=str) + "\n"
        return self.write_text(name, text)

    def write_text(self, name: str, text: str, *, mode: int = 0o644) -> Path:
        """Write ``name`` (may contain ``/``) inside the run atomically (see write_atomic)."""
        return self.write_bytes(name, text.encode("utf-8"), mode=mode)

    def write_bytes(self, name: str, data: bytes, *, mode: int = 0o644) -> Path:
        """Write ``data`` to ``RUN/name`` atomically; returns the path."""
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
        """``RUN/name`` after checking no part of it below the run directory is a symlink
        (missing folders are made). InputError for an absolute path or one with ``..``."""
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

    def update_run(self, **fields: Any) -> dict[str, Any]:
        """run.json with ``fields`` set (top level), written back atomically; returns it."""
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


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.]+", "-", text).strip("-")[:40] or "x"


def _recover_orphan(path: Path, info: dict[str, Any]) -> dict[str, Any]:
    """Recovery hook (issue 10, see benchctl.recovery): a run left ``running`` by a killed
    ``benchctl run`` is finished on first sight, and the line saying how many requests were
    recovered goes to the ``recovery_notices`` listeners. Returns the run's (possibly
    updated) run.json."""
    if info.get("status") != RUNNING and not (path / PARTS).is_dir():
        return info
    from benchctl.recovery import recover

    done = recover(path)
    if done is None:
        return info
    for tell in list(_LISTENERS):
        tell(done.message(path))
    return read_json_file(path / RUN_JSON)


def not_a_run(path: Path, text: str) -> str:
    """Why ``path`` (given as ``text``) is no run directory: missing, a file, or a folder
    without run.json; one line with a pointer to ``benchctl runs``. ``RUN@ARM`` whose RUN
    is there but is no run says so (not "no such folder")."""
    base, at, arm = text.rpartition("@")
    if at and arm and "/" not in arm and not path.exists() and Path(base).exists():
        return (
            f"{text}: {base} is not a benchctl run (no {RUN_JSON}); RUN@ARM is one arm of a "
            "run directory made by `benchctl run --split`; `benchctl runs` lists the runs"
        )
    if not path.exists():
        return f"{text}: no such folder; give a run directory (see `benchctl runs`)"
    if not path.is_dir():
        return f"{text}: is a file, not a run directory (see `benchctl runs`)"
    return f"{text}: not a run directory (no {RUN_JSON}); see `benchctl runs`"
