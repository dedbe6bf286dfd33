"""The one reader of run files: JSON documents and Parquet tables, checked, in one line.

Two kinds of reading, because stages need both:

* strict (``read_json_file``, ``read_run_json``, ``read_run_info``; for Parquet tables
  ``read_parquet`` (pandas), ``read_table`` (Arrow, optionally as a known schema),
  ``parquet_columns``, ``parquet_rows`` and ``open_parquet`` for reading in batches): a file
  a command needs; a missing or damaged one raises InputError (``DamagedFileError`` for
  tables) naming the file and the problem, in one line;
* lenient (``read_document`` and the ``summary_overall`` / ``read_capacity`` helpers on top,
  ``read_optional_parquet`` for tables): a file a report can do without; the problem comes
  back as a value the caller turns into its own note ("summary.json is absent: ...").

Modules outside ``benchctl.rundir`` never open a run file with pyarrow.parquet or json
themselves (tests/unit/test_rundir.py checks it).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchctl.errors import DamagedFileError, InputError
from benchctl.rundir.contract import check_run_json
from benchctl.rundir.names import CAPACITY, RUN_JSON, SUMMARY

if TYPE_CHECKING:
    from benchctl.rundir.models import RunInfo

ABSENT, UNREADABLE, NOT_OBJECT = "absent", "unreadable", "not an object"


def read_json_file(path: Path) -> dict[str, Any]:
    """A JSON object from ``path``. Raises InputError (one line naming ``path``): missing,
    unreadable, not UTF-8, not JSON (with the line), nested too deeply, or not an object
    (naming the JSON type it is)."""
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


def read_run_json(run_dir: Path) -> dict[str, Any]:
    """``run_dir``/run.json as a dict, its fields checked (benchctl.rundir.contract): the
    raw document, as written, for code that digs in it. InputError: as ``read_json_file``,
    or ``PATH: damaged: field 'F' must be ..., got V`` for a field of the wrong kind."""
    path = Path(run_dir) / RUN_JSON
    data = read_json_file(path)
    check_run_json(data, path)
    return data


def read_run_info(run_dir: Path) -> RunInfo:
    """``run_dir``/run.json as a typed ``RunInfo`` (benchctl.rundir.models), migrated from
    older schema versions (a later version is read as it is). InputError: as
    ``read_run_json``, or a schema_version that is not a whole number >= 0."""
    from benchctl.rundir.models import RunInfo

    return RunInfo.from_json(read_run_json(run_dir), Path(run_dir) / RUN_JSON)


def parquet_damaged(path: Path, exc: BaseException) -> DamagedFileError:
    """The one-line error for a Parquet file pyarrow cannot read: ``PATH: damaged: not a
    readable Parquet file (first 120 characters of pyarrow's message)``."""
    first = " ".join(str(exc).split()) or type(exc).__name__
    return DamagedFileError(f"{path}: damaged: not a readable Parquet file ({first[:120]})")


def open_parquet(path: Path, columns: Iterable[str] = (), **options: Any) -> Any:
    """The ``pyarrow.parquet.ParquetFile`` at ``path`` (``options`` passed on, e.g.
    ``pre_buffer=False, buffer_size=1 << 20`` to read in batches with bounded memory),
    after checking it has every one of ``columns``; its rows are not read yet.

    DamagedFileError (an InputError and a ValueError) naming the file if it is missing,
    empty, truncated, not Parquet, or lacks one of ``columns``."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(path)
    if not path.is_file():
        raise DamagedFileError(f"{path}: missing")
    try:
        parquet = pq.ParquetFile(path, **options)
    except (OSError, pa.ArrowException) as exc:
        raise parquet_damaged(path, exc) from None
    names = set(parquet.schema_arrow.names)
    lacking = [c for c in columns if c not in names]
    if lacking:
        raise DamagedFileError(
            f"{path}: damaged: lacks column{'s' if len(lacking) > 1 else ''} "
            f"{', '.join(lacking)} (has {', '.join(sorted(names)) or 'none'})"
        )
    return parquet


def read_table(path: Path, columns: list[str] | None = None, *, schema: Any = None) -> Any:
    """A Parquet file as a ``pyarrow.Table`` (only ``columns`` if given; rows as stored;
    read as ``schema``, a ``pyarrow.Schema``, if given: parts written with a known schema).

    DamagedFileError as ``open_parquet``, also when the rows cannot be read."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    parquet = open_parquet(path, columns or ())
    try:
        if schema is not None:
            return pq.read_table(path, columns=columns, schema=schema)
        return parquet.read(columns=columns)
    except (OSError, pa.ArrowException) as exc:
        raise parquet_damaged(Path(path), exc) from None


def read_parquet(path: Path, columns: list[str] | None = None) -> Any:
    """A Parquet file as a pandas DataFrame (only ``columns`` if given; rows as stored).

    DamagedFileError (an InputError and a ValueError) naming the file if it is missing,
    empty, truncated, not Parquet, or lacks one of ``columns``."""
    return read_table(path, columns).to_pandas()


def parquet_columns(path: Path) -> list[str]:
    """The column names of the Parquet file at ``path`` (its schema only, no rows read).
    DamagedFileError as ``open_parquet``."""
    return list(open_parquet(path).schema_arrow.names)


def parquet_rows(path: Path) -> int:
    """How many rows the Parquet file at ``path`` holds (from its footer, no rows read).
    DamagedFileError as ``open_parquet``."""
    return int(open_parquet(path).metadata.num_rows)


@dataclass(frozen=True)
class OptionalTable:
    """A Parquet table that may be absent or damaged, read without raising (for reports).

    ``frame``: the pandas DataFrame, or None. ``problem``: None when read, else ``ABSENT``
    (no such file) or ``UNREADABLE`` (``error`` holds what pyarrow raised)."""

    frame: Any
    problem: str | None = None
    error: BaseException | None = None


def read_optional_parquet(path: Path, columns: list[str] | None = None) -> OptionalTable:
    """``path`` as an ``OptionalTable`` (only ``columns`` if given); never raises for a
    missing, damaged or unreadable file."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(path)
    if not path.is_file():
        return OptionalTable(None, ABSENT)
    try:
        return OptionalTable(pq.read_table(path, columns=columns).to_pandas())
    except (OSError, ValueError, pa.ArrowException) as exc:
        return OptionalTable(None, UNREADABLE, exc)


@dataclass(frozen=True)
class Document:
    """A JSON document that may be absent or damaged, read without raising.

    ``data``: the object, or None. ``problem``: None when read, else ``ABSENT`` (no such
    file), ``UNREADABLE`` (cannot be read, not UTF-8 or not JSON; ``detail`` holds the
    error's text) or ``NOT_OBJECT`` (valid JSON but not an object)."""

    data: dict[str, Any] | None
    problem: str | None = None
    detail: str = ""

    def get(self) -> dict[str, Any]:
        """The object, or an empty dict when there is none."""
        return self.data if self.data is not None else {}

    def why_not_read(self) -> str:
        """Why there is no object, as words to follow the file's name: "is absent", "is
        not a JSON object" or "is damaged (<the error>)"; "" when it was read."""
        if self.problem is None:
            return ""
        if self.problem == ABSENT:
            return "is absent"
        if self.problem == NOT_OBJECT:
            return "is not a JSON object"
        return f"is damaged ({self.detail})"


def read_document(path: Path) -> Document:
    """``path`` as a ``Document`` (never raises for a missing or damaged file)."""
    path = Path(path)
    if not path.is_file():
        return Document(None, ABSENT)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as exc:
        return Document(None, UNREADABLE, str(exc))
    if not isinstance(data, dict):
        return Document(None, NOT_OBJECT)
    return Document(data)


def read_summary(run_dir: Path) -> Document:
    """``run_dir``/summary.json as a ``Document`` (absent before a run ends)."""
    return read_document(Path(run_dir) / SUMMARY)


def summary_overall(run_dir: Path) -> dict[str, Any]:
    """summary.json's ``overall`` section (count, rates, ``latency_ms`` percentiles in ms);
    an empty dict when the file is absent or damaged or has no such object."""
    overall = read_summary(run_dir).get().get("overall")
    return overall if isinstance(overall, dict) else {}


def read_capacity(run_dir: Path) -> Document:
    """``run_dir``/capacity.json as a ``Document``, as ``benchctl analyze`` wrote it (raw;
    ``benchctl.rundir.models.Capacity.from_document`` gives the typed, migrated view)."""
    return read_document(Path(run_dir) / CAPACITY)
