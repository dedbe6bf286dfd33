"""Parquet files written in parts while a run lasts, and folded into one when it ends.

``requests.parts/part-NNNNNN.parquet`` (and ``telemetry.parts``) hold complete files, each
written through the atomic writer, so a run killed at any moment keeps everything flushed
before it; ``merge_parts`` folds them into ``requests.parquet`` one part at a time (memory
is bounded by the largest part).
"""

from __future__ import annotations

import errno
import itertools
import os
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from benchctl.rundir.requests import SCHEMA
from benchctl.rundir.writer import atomic_output


class PartWriter:
    """Writes tables as numbered, complete Parquet files (``part-NNNNNN.parquet``, zstd) in
    ``folder`` (made if missing); numbering continues after the parts already there.
    ``rows``: rows written so far by this writer."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self._numbers = itertools.count(len(list(folder.glob("part-*.parquet"))))
        self.rows = 0

    def write(self, table: pa.Table) -> None:
        """Write ``table`` as the next part (nothing for an empty table) through the atomic
        writer. Raises OSError naming the part (errno kept: ENOSPC when the disk is full),
        InputError if the part's name is a planted symlink; no half-written file is left."""
        if table.num_rows == 0:
            return
        path = self.folder / f"part-{next(self._numbers):06d}.parquet"
        try:
            with atomic_output(path) as temporary:
                pq.write_table(table, temporary, compression="zstd")
        except OSError as exc:  # disk full: the half-written part is gone already
            raise with_path(exc, path) from None
        self.rows += table.num_rows


def with_path(exc: OSError, path: Path) -> OSError:
    """``exc`` with its errno and the file it concerns: pyarrow's write errors carry neither
    (``"Error writing bytes to file. Detail: [errno 28] No space left on device"``)."""
    if exc.errno and exc.filename:
        return exc
    number = exc.errno
    if number is None:
        found = re.search(r"\[errno (\d+)\]", str(exc))
        number = int(found.group(1)) if found else errno.EIO
    return OSError(number, os.strerror(number), str(path))


def merge_parts(folder: Path, destination: Path) -> int:
    """Fold every readable part in ``folder`` into one Parquet file ``destination`` (in the
    requests SCHEMA); returns rows written.

    Parts are removed once merged; if the merged file cannot be written (OSError naming
    ``destination``, e.g. disk full) the parts are left as they are and the error is raised.
    If ``destination`` already exists, an earlier merge completed (the file appears, by
    rename, only once every part is in it) and was cut short while removing its parts: those
    are removed, not merged twice. A crash mid-write leaves only hidden temporary files
    (``.part-*.tmp.parquet``), which are skipped. InputError if ``destination`` is a symlink.
    """
    parts = sorted(folder.glob("part-*.parquet")) if folder.is_dir() else []
    if destination.is_file() and not destination.is_symlink():  # a link: refused below
        rows = pq.read_metadata(destination).num_rows
        _remove(parts, folder)
        return rows
    rows = 0
    try:
        with (
            atomic_output(destination) as temporary,
            pq.ParquetWriter(temporary, SCHEMA, compression="zstd") as writer,
        ):
            for part in parts:
                table = pq.read_table(part, schema=SCHEMA)
                writer.write_table(table, row_group_size=1 << 20)
                rows += table.num_rows
    except OSError as exc:  # disk full: the parts stay, the half-merged copy is gone
        raise with_path(exc, destination) from None
    _remove(parts, folder)
    return rows


def _remove(parts: list[Path], folder: Path) -> None:
    for part in parts:
        part.unlink(missing_ok=True)
    if folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()
