"""Run the installed ``benchctl`` executable as a user does: a subprocess, from a fresh
working directory, with default options (the relative ``runs/`` folder)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

BENCHCTL = Path(sys.executable).with_name("benchctl")


@dataclass
class Finished:
    """One finished ``benchctl`` command and the run directory it made (if any)."""

    returncode: int
    stdout: str
    stderr: str
    run_dir: Path | None

    def run_json(self) -> dict[str, Any]:
        assert self.run_dir is not None, self.output()
        return json.loads((self.run_dir / "run.json").read_text())

    def requests(self) -> Any:
        assert self.run_dir is not None, self.output()
        return pq.read_table(self.run_dir / "requests.parquet").to_pandas()

    def output(self) -> str:
        return f"exit {self.returncode}\n--- stdout\n{self.stdout}\n--- stderr\n{self.stderr}"


def benchctl(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 300
) -> Finished:
    """``benchctl ARGS`` in ``cwd``; the newest folder under ``cwd/runs`` is its run."""
    environ = {**os.environ, "COLUMNS": "120", **(env or {})}
    done = subprocess.run(
        [str(BENCHCTL), *args],
        cwd=cwd,
        env=environ,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    runs = sorted((cwd / "runs").iterdir()) if (cwd / "runs").is_dir() else []
    return Finished(done.returncode, done.stdout, done.stderr, runs[-1] if runs else None)


def refused(done: Finished) -> str:
    """The one stderr line of a command refused as bad input (exit 2, no traceback)."""
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2, done.output()
    assert len(lines) == 1, done.output()
    assert "Traceback" not in done.stdout + done.stderr
    return lines[0]


def analyze_copy(
    build: Callable[[Path], Path], cwd: Path, name: str, *args: str, timeout: float = 300
) -> tuple[Finished, Path]:
    """Build a run folder with ``build`` (given the new folder ``cwd/build``, it returns the
    run folder it wrote), copy it to ``cwd/runs/name`` and run ``benchctl analyze runs/NAME
    ARGS`` there, as a user analyzes a run in a fresh folder; returns the command and the
    copied run folder (where capacity.json lands)."""
    (cwd / "build").mkdir()
    run = cwd / "runs" / name
    shutil.copytree(build(cwd / "build"), run)
    return benchctl("analyze", f"runs/{name}", *args, cwd=cwd, timeout=timeout), run
