"""How a ``benchctl run`` ended: what the engine reported (``Outcome``), what ``run``
returns (``RunResult``), and the one-line error for a file that could not be written."""

from __future__ import annotations

import errno
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchctl.errors import BenchctlError
from benchctl.rundir import INTERRUPTED


@dataclass
class RunResult:
    """``status``: completed, interrupted, failed (or ``planned`` for ``--dry-run``);
    ``run_dir``: the run directory (None when none was made); ``summary``: summary.json's
    content; ``reason``: why it did not complete; ``generator``: run.json's generator
    section (CPU saturation, send lag)."""

    status: str
    run_dir: Path | None = None
    summary: dict[str, Any] | None = None
    reason: str = ""
    generator: dict[str, Any] = field(default_factory=dict)


@dataclass
class Outcome:
    """What the engine processes reported, folded as the events arrive: ``t0`` (the run's
    clock origin, epoch s), ``done`` (the final event), ``last`` (the last progress event),
    ``cpu`` (s, process, % of one core) samples, and the first write error."""

    status: str = INTERRUPTED
    reason: str = ""
    t0: float | None = None
    done: dict[str, Any] = field(default_factory=dict)
    last: dict[str, Any] = field(default_factory=dict)
    cpu: list[tuple[float, str, float]] = field(default_factory=list)
    write_error: str = ""


class WriteFailed(BenchctlError):
    """A file of the run could not be written (disk full, read-only, quota): one line naming
    the path and what to do. Exit code 1 once the run started, 2 before."""

    def __init__(self, message: str, *, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def write_problem(exc: OSError, where: Path) -> str:
    """One line for a failed write: the file (``exc.filename``, else ``where``), the
    system's reason, and what to do about it."""
    path = exc.filename or where
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        todo = "free space on that disk (or give --runs-dir on another) and run again"
    elif exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        todo = "make it writable (or give --runs-dir elsewhere) and run again"
    elif exc.errno in (errno.EEXIST, errno.ENOTDIR):
        return (
            f"cannot write {path}: a file is in the way where a folder should be; move it "
            "(or give --runs-dir elsewhere) and run again"
        )
    else:
        todo = "check that disk (or give --runs-dir elsewhere) and run again"
    return f"cannot write {path}: {exc.strerror or exc}; {todo}"
