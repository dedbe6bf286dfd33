"""A payload file that would not be sent, or cannot be read, is refused before anything is
launched: one stderr line naming the flag, the field and the file; exit 2; no run directory.
Runs the installed ``benchctl`` from a fresh temporary directory, as a user does (``--launch``
is refused before a server starts, so no server is needed)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

BENCHCTL = Path(sys.executable).parent / "benchctl"


def refused(cwd: Path, *args: str) -> str:
    """Run ``benchctl run steady --target kserve ARGS`` in ``cwd``; assert exit 2, one stderr
    line, no traceback and no runs/ directory; return the line."""
    proc = subprocess.run(
        [str(BENCHCTL), "run", "steady", "--target", "kserve", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2, proc.stderr
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (cwd / "runs").exists()
    return lines[0]


@pytest.mark.parametrize("extra", [["--launch"], ["--launch", "--dry-run"], ["--dry-run"]])
def test_missing_payload_file_is_refused(tmp_path, extra):
    line = refused(
        tmp_path,
        *extra,
        "--target-set",
        "payload.source=file",
        "--target-set",
        "payload.file=missing.npy",
    )
    assert line.startswith("benchctl run: error: argument --target-set: payload.file (for ")
    missing = (tmp_path / "missing.npy").resolve()
    assert line.endswith(
        f"field 'payload.file': missing.npy ({missing}): no such file (see `benchctl run --help`)"
    )


def test_payload_file_that_is_a_directory_is_refused(tmp_path):
    (tmp_path / "inputs").mkdir()
    line = refused(
        tmp_path,
        "--dry-run",
        "--target-set",
        "payload.source=file",
        "--target-set",
        "payload.file=inputs",
    )
    inputs = (tmp_path / "inputs").resolve()
    assert line.endswith(
        f"field 'payload.file': inputs ({inputs}): not a regular file (see `benchctl run --help`)"
    )


def test_payload_file_without_source_file_says_what_to_set(tmp_path):
    """Even an existing file: with source metadata it would silently not be sent."""
    np.save(tmp_path / "x.npy", np.zeros((1, 4), dtype=np.float32))
    line = refused(tmp_path, "--launch", "--target-set", "payload.file=x.npy")
    assert "field 'payload.file' is set but payload.source is 'metadata'" in line
    assert "--target-set payload.source=file" in line


def test_existing_payload_file_passes_dry_run(tmp_path):
    """The check refuses only what it should: the same flags with a real file plan the run."""
    np.save(tmp_path / "x.npy", np.zeros((1, 4), dtype=np.float32))
    proc = subprocess.run(
        [
            str(BENCHCTL),
            "run",
            "steady",
            "--target",
            "kserve",
            "--dry-run",
            "--target-set",
            "payload.source=file",
            "--target-set",
            "payload.file=x.npy",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
