"""Replay traces as people have them: CSV files of arrival times or of rates.

Forms read (column names are matched without case, surrounding spaces or a UTF-8 BOM):

- ``time`` (or ``timestamp``, ``arrival_time``): one arrival per row. Numbers in seconds,
  milliseconds, microseconds or nanoseconds (``time_unit: s|ms|us|ns``; ``auto`` reads
  values of 1e11 or more as epoch ms, 1e14 or more as µs, 1e17 or more as ns, anything
  smaller as seconds, and says what it chose), or ISO 8601 timestamps
  (``2024-05-01T10:00:00Z``, ``2023-11-16 18:15:46.68059``; no zone means UTC).
  BurstGPT's ``Timestamp,Model,Request tokens,...`` is this form (seconds).
- Azure Functions 2021 invocations (``app,func,end_timestamp,duration``, seconds): arrival
  = ``end_timestamp - duration``.
- ``rate``: requests per second, one row per second.
- Azure Functions 2019 per-minute counts (``HashOwner,...,1,2,...,1440``): invocations per
  minute, summed over the rows (functions); each minute's count is spread evenly over its
  60 seconds.

Cells are separated by commas, or by semicolons or tabs when the header line has no comma.
Anything else — a cell that is not a finite number >= 0 (``nan``, ``inf``, text), a file
that is not UTF-8 text, no known column — is refused with one line naming ``file:line``.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchctl.errors import InputError
from benchctl.text_files import read_utf8_text

UNITS = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}
UNIT_NAMES = {"s": "seconds", "ms": "milliseconds", "us": "microseconds", "ns": "nanoseconds"}
# auto: the smallest value of the largest time that each unit is chosen from (epoch clocks:
# seconds are ~1.7e9 today, milliseconds ~1.7e12, microseconds ~1.7e15, nanoseconds ~1.7e18)
AUTO_THRESHOLDS = (("ns", 1e17), ("us", 1e14), ("ms", 1e11))
TIME_COLUMNS = ("time", "timestamp", "arrival_time", "arrival time")
KNOWN = (
    "'time' (arrival times: seconds, ms or ISO timestamps), 'rate' (req/s per second), "
    "BurstGPT's 'Timestamp', Azure Functions 'end_timestamp,duration' or per-minute "
    "counts '1,2,...'"
)


@dataclass(frozen=True)
class Trace:
    """A read trace: arrival times in seconds (any origin) or per-second rates (req/s)."""

    times: np.ndarray | None
    rates: np.ndarray | None
    form: str
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Table:
    """The cells of the columns a form needs (never the whole file: traces can be large)."""

    path: Path
    cells: dict[str, list[tuple[int, str]]]  # normalized name -> (line number, cell)

    def column(self, name: str) -> list[tuple[int, str]]:
        """The cells of column ``name`` (normalized header) as (1-based line number, text) pairs;
        KeyError for a column the table did not read.
        """
        return self.cells[name]


def read_trace(path: Path, time_unit: str = "auto") -> Trace:
    """The trace in ``path``; InputError (``file:line: ...``, exit 2) when it is not one of
    the forms in the module docstring. ``time_unit``: auto, s, ms, us or ns."""
    if time_unit != "auto" and time_unit not in UNITS:
        raise InputError(f"time_unit {time_unit!r}: expected auto, s, ms, us or ns")
    path = Path(path)
    reader, original = _open(path)
    header = [name.lower() for name in original]
    names = set(header)
    if {"end_timestamp", "duration"} <= names:
        table = _collect(path, reader, header, ("end_timestamp", "duration"))
        ends = _numbers(table, "end_timestamp")
        durations = _numbers(table, "duration")
        return Trace(ends - durations, None, "Azure Functions invocations (seconds)")
    both = [name for name in TIME_COLUMNS if name in names]
    if both and "rate" in names:  # arrival times or per-second rates: never guess which
        raise InputError(
            f"{path}:1: both '{both[0]}' (arrival times) and 'rate' (req/s per second) "
            "columns: keep the one the trace means (a rate per second needs no time column)"
        )
    for name in TIME_COLUMNS:
        if name in names:
            form = "BurstGPT" if "request tokens" in names else f"'{name}' arrival times"
            times, note = _times(_collect(path, reader, header, (name,)), name, time_unit)
            return Trace(times, None, form, (note,) if note else ())
    if "rate" in names:
        rates = _numbers(_collect(path, reader, header, ("rate",)), "rate")
        return Trace(None, rates, "'rate' per second")
    minutes = _minute_columns(header)
    if minutes:
        counts = _column_sums(path, reader, [header.index(m) for m in minutes], minutes)
        note = f"{path}: per-minute counts ({len(minutes)} minutes), spread over each minute"
        return Trace(None, np.repeat(counts / 60.0, 60), "per-minute counts", (note,))
    shown = ", ".join(repr(name) for name in original[:12]) + (" …" if len(original) > 12 else "")
    raise InputError(f"{path}:1: no trace column; expected {KNOWN}; found {shown[:300]}")


def replay_duration(times: np.ndarray) -> float:
    """Planned seconds of a replayed trace whose arrivals start at 0: its span plus one
    typical gap (the median of the gaps between distinct arrival times), so that each
    arrival stands for one gap, as a steady run at r req/s sends r·T requests in T s:
    2 arrivals 1 s apart plan 2 s (1 req/s, not 2); 0, 1, 2, 7200, 7201 s plan 7202 s.
    When no gap is known (one arrival, or all at one instant) the plan lasts 1 s."""
    distinct = np.unique(times)
    if len(distinct) < 2:
        return 1.0
    return float(distinct[-1]) + float(np.median(np.diff(distinct)))


# --------------------------------------------------------------------------- reading


Rows = Iterator[tuple[int, list[str]]]  # (line number, cells)


def _open(path: Path) -> tuple[Rows, list[str]]:
    """A CSV reader positioned after the header, and the header's names (stripped, BOM
    removed); InputError for unreadable, non-UTF-8 or empty files."""
    text = read_utf8_text(path, noun="trace", save_hint="save the trace as CSV (UTF-8)", bom=True)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    rows = _rows(path, reader)
    first = next(rows, None)
    if first is None:
        raise InputError(f"{path}: the trace is empty (need a header and rows)")
    return rows, [cell.strip().lstrip("\ufeff").strip() for cell in first[1]]


def _rows(path: Path, reader: Any) -> Rows:
    """(line number, cells) of every non-blank row; csv.Error as InputError file:line."""
    try:
        for cells in reader:
            if any(cell.strip() for cell in cells):
                yield reader.line_num, cells
    except csv.Error as exc:
        raise InputError(f"{path}:{reader.line_num}: not CSV: {exc}") from None


def _collect(path: Path, rows: Rows, header: list[str], names: tuple[str, ...]) -> _Table:
    """The cells of ``names`` from every remaining row (a short row gives '' cells)."""
    indices = [header.index(name) for name in names]
    cells: dict[str, list[tuple[int, str]]] = {name: [] for name in names}
    for line, row in rows:
        for name, index in zip(names, indices, strict=True):
            cells[name].append((line, row[index] if index < len(row) else ""))
    if not cells[names[0]]:
        raise InputError(f"{path}: the trace is empty (need a header and rows)")
    return _Table(path, cells)


def _column_sums(path: Path, rows: Rows, indices: list[int], names: list[str]) -> np.ndarray:
    """Sums of the given columns over every remaining row, each cell checked."""
    first, last = indices[0], indices[-1] + 1
    contiguous = indices == list(range(first, last))
    total = np.zeros(len(indices))
    seen = False
    for line, row in rows:
        seen = True
        picked = row[first:last] if contiguous else [row[i] for i in indices if i < len(row)]
        try:
            values = np.asarray(picked, dtype=float)
            good = len(values) == len(indices) and bool(np.all(np.isfinite(values) & (values >= 0)))
        except ValueError:
            good = False
        if not good:  # find the cell and say which
            table = _Table(path, {})
            cells = [row[i] if i < len(row) else "" for i in indices]
            values = np.array(
                [_number(table, line, n, c) for n, c in zip(names, cells, strict=True)]
            )
        total += values
    if not seen:
        raise InputError(f"{path}: the trace is empty (need a header and rows)")
    return total


def _delimiter(text: str) -> str:
    """',' unless the header line has none and has ';' (Excel in comma-decimal locales) or
    a tab."""
    header = next((line for line in text.splitlines() if line.strip()), "")
    if "," not in header:
        for candidate in (";", "\t"):
            if candidate in header:
                return candidate
    return ","


def _number(table: _Table, line: int, name: str, cell: str) -> float:
    try:
        value = float(cell)
    except ValueError:
        raise InputError(
            f"{table.path}:{line}: field '{name}': expected a number >= 0, got {cell!r}"
        ) from None
    if not math.isfinite(value):
        raise InputError(
            f"{table.path}:{line}: field '{name}': expected a finite number >= 0, got {cell!r}"
        )
    if value < 0:
        raise InputError(f"{table.path}:{line}: field '{name}': must be >= 0, got {cell!r}")
    return value


def _numbers(table: _Table, name: str) -> np.ndarray:
    return np.array(
        [_number(table, line, name, cell) for line, cell in table.column(name)], dtype=float
    )


def _times(table: _Table, name: str, unit: str) -> tuple[np.ndarray, str]:
    """Arrival times in seconds and a note on how they were read."""
    cells = table.column(name)
    first = cells[0][1].strip()
    if _is_number(first) or first.lower() in ("nan", "inf", "-inf", "+inf", "infinity"):
        values = np.array([_number(table, line, name, cell) for line, cell in cells])
        return _scaled(table, values, unit)
    stamps = pd.to_datetime(
        pd.Series([cell.strip() for _, cell in cells]), format="ISO8601", utc=True, errors="coerce"
    )
    bad = np.flatnonzero(stamps.isna().to_numpy())
    if len(bad):
        line, cell = cells[bad[0]]
        expected = (
            "a number of seconds or an ISO 8601 timestamp (e.g. 0.5 or 2026-11-30T12:00:00Z)"
            if bad[0] == 0
            else f"an ISO 8601 timestamp like the first row's {first!r} (or numbers throughout)"
        )
        raise InputError(f"{table.path}:{line}: field '{name}': expected {expected}, got {cell!r}")
    seconds = (stamps - stamps.min()).dt.total_seconds().to_numpy(dtype=float)
    note = f"{table.path}: '{name}' read as ISO 8601 timestamps ({_zone_note(cells)})"
    return seconds, note


_ZONE = re.compile(r"(?:z|[+-]\d{2}(?::?\d{2})?)$", re.IGNORECASE)


def _zone_note(cells: list[tuple[int, str]]) -> str:
    """What the timestamps' zones were: as written (each has Z or an offset), none (read
    as UTC), or some without one (those read as UTC). Trial 5: a trace ending in Z got
    "no zone: UTC"."""
    zoned = sum(1 for _, cell in cells if _ZONE.search(cell.strip()[10:]))
    if zoned == len(cells):
        return "each with its zone"
    if zoned == 0:
        return "no zone given: read as UTC"
    return f"{len(cells) - zoned:,} without a zone: read as UTC"


def _scaled(table: _Table, values: np.ndarray, unit: str) -> tuple[np.ndarray, str]:
    largest = float(values.max())
    if unit != "auto":
        return values * UNITS[unit], ""
    chosen = next((u for u, low in AUTO_THRESHOLDS if largest >= low), "s")
    if chosen == "s":
        note = (
            f"{table.path}: times read as seconds (time_unit auto: largest value {largest:g} "
            "< 1e11); if they are milliseconds, set time_unit: ms"
        )
    else:
        note = (
            f"{table.path}: times read as epoch {UNIT_NAMES[chosen]} (time_unit auto: largest "
            f"value {largest:g}); set time_unit to override"
        )
    return values * UNITS[chosen], note


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _minute_columns(header: list[str]) -> list[str]:
    """Names '1', '2', ... 'N' (N >= 2) in order: the Azure Functions per-minute form."""
    numbered = [name for name in header if name.isdigit()]
    expected = [str(i) for i in range(1, len(numbered) + 1)]
    return numbered if len(numbered) >= 2 and numbered == expected else []
