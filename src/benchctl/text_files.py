"""Reading a user's text files (a YAML spec, a CSV trace, JSON lines) as UTF-8."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from benchctl.errors import InputError


def read_utf8_text(
    path: Path, *, noun: str = "", save_hint: str = "save the file as UTF-8", bom: bool = False
) -> str:
    """The text of the file at ``path``, decoded as UTF-8 (``bom``: a leading byte-order mark
    is dropped, as ``utf-8-sig`` does).

    Raises InputError, one line: ``{path}: cannot read[ noun]: {reason}`` when the file cannot
    be read, ``{path}:{line}: not UTF-8 text (byte 0x..); {save_hint}`` naming the 1-based
    line of the first byte that is not UTF-8."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        what = f"cannot read {noun}" if noun else "cannot read"
        raise InputError(f"{path}: {what}: {exc.strerror}") from None
    try:
        return raw.decode("utf-8-sig" if bom else "utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError(
            f"{path}:{line}: not UTF-8 text (byte {raw[exc.start]:#04x}); {save_hint}"
        ) from None


def json_lines(path: Path) -> Iterator[tuple[int, Any, ValueError | None]]:
    """Each non-blank line of a JSON-lines file, read as UTF-8: ``(line number from 1, parsed
    value, None)``, or ``(line number, None, the ValueError)`` for a line that is not JSON.

    Reads lazily: a caller that stops early reads no further. Raises OSError when the file
    cannot be opened or read, UnicodeDecodeError (a ValueError) for bytes that are not
    UTF-8."""
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                yield number, json.loads(line), None
            except ValueError as exc:
                yield number, None, exc
