"""The one way benchctl writes a file of a run: whole or not at all, never through a link.

``atomic_output`` (and ``write_atomic`` on top of it) is the writer every stage uses for
run files and reports; ``write_text_fallback`` is the same with an in-place fallback for a
disk too full to hold a second copy (run.json and summary.json at the end of a run).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from benchctl.errors import InputError


def write_atomic(path: Path, data: bytes | str, *, mode: int = 0o644) -> Path:
    """Write ``data`` (text is encoded as UTF-8) to ``path`` whole or not at all, never
    through a symlink; returns ``path``. Errors: as ``atomic_output`` (InputError), and
    OSError from the write itself (disk full), with ``path`` left untouched."""
    with atomic_output(Path(path), mode=mode) as temporary:
        temporary.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return Path(path)


@contextmanager
def atomic_output(path: Path, *, mode: int = 0o644) -> Iterator[Path]:
    """Yield a new temporary file beside ``path`` to fill (``df.to_parquet(tmp)``,
    ``fig.savefig(tmp)``); after the block it atomically replaces ``path`` with permission
    bits ``mode``.

    The temporary file is created with O_EXCL (a planted link is never opened) and named
    ``.NAME.<random>.tmp<suffix>``; ``os.replace`` swaps the directory entry, so it never
    follows a link there either. Raises InputError if ``path`` is a symlink or a folder, or
    its folder cannot be made; on any error in the block the temporary file is removed,
    ``path`` is untouched and the error propagates."""
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


def write_text_fallback(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (temporary ``.NAME.tmp`` opened with O_EXCL, then
    renamed; never through a symlink); if the disk has no room for the temporary copy,
    overwrite ``path`` in place (opened with O_NOFOLLOW), which needs no more space than it
    already holds plus the growth. Raises OSError if both fail, or if the atomic write
    failed and ``path`` is a symlink."""
    temporary = path.with_name(f".{path.name}.tmp")
    try:
        with open(temporary, "x") as handle:
            handle.write(text)
        os.replace(temporary, path)
        return
    except FileExistsError:
        temporary.unlink()
        return write_text_fallback(path, text)
    except OSError:
        with contextlib.suppress(OSError):
            temporary.unlink()
        if path.is_symlink():
            raise
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW, 0o644)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
        handle.truncate()
