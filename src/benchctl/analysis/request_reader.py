"""Reading requests.parquet at production scale: only the needed columns, in batches.

A nightly soak is 10 million rows; every analysis reads a few of the 12 columns, and the
aggregations per window or level need one batch at a time. ``iter_batches`` yields numpy
columns per batch of about ``BATCH_ROWS`` rows (a dictionary column, ``phase`` or ``error``,
as a boolean "equals value" array or as its strings' codes: never a million Python
strings); ``read_columns`` reads whole columns into a pandas frame without holding the
Arrow table and the frame at once. Unreadable files raise ``DamagedFileError`` naming the
file (one line, exit 2), like ``benchctl.rundir.read_parquet``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from benchctl.rundir import open_parquet, parquet_damaged

BATCH_ROWS = 1 << 18  # 262,144 rows: a 10M-row analyze peaks ~150 MB lower than at 1 Mi, same CPU
# What summary.json and the report's windows read (``benchctl.analysis.summary_file``).
SUMMARY_COLUMNS = ("t_intended", "latency_ms", "send_lag_ms", "ok", "error", "phase")


def open_requests(path: Path, columns: Iterable[str]) -> Any:
    """The ``pq.ParquetFile`` at ``path`` after checking it has ``columns``
    (``benchctl.rundir.open_parquet``). Column chunks are read 1 MiB at a time, not
    pre-buffered whole: reading a 10M-row file batch by batch then peaks at about 150 MB
    above the imports, not 350 MB.

    Raises DamagedFileError (an InputError and a ValueError) naming the file when it is missing,
    empty, truncated, not Parquet, or lacks one of ``columns``.
    """
    return open_parquet(path, columns, pre_buffer=False, buffer_size=1 << 20)


damaged = parquet_damaged  # the one-line DamagedFileError for an unreadable file


def read_columns(path: Path, columns: Iterable[str]) -> Any:
    """``columns`` of requests.parquet as a pandas DataFrame (dictionary columns become
    categoricals). Arrow buffers are released column by column as they are converted, so
    the peak is about one copy of the columns, not two. DamagedFileError if unreadable."""
    import pyarrow as pa

    columns = list(columns)
    parquet = open_requests(path, columns)
    try:
        table = parquet.read(columns=columns)
        return table.to_pandas(split_blocks=True, self_destruct=True)
    except (OSError, pa.ArrowException) as exc:
        raise damaged(Path(path), exc) from None


def iter_batches(
    path: Path,
    columns: Iterable[str],
    *,
    equals: dict[str, str] | None = None,
    rows: int = BATCH_ROWS,
) -> Iterator[dict[str, np.ndarray]]:
    """Batches of requests.parquet as ``{column: numpy array}``.

    Numeric columns come as float64/int/bool arrays (nulls as NaN for floats, False for
    ``ok``). ``equals={"phase": "warmup"}`` gives, for a dictionary column, the boolean
    array "value == 'warmup'" under the key ``"phase==warmup"``; a dictionary column not in
    ``equals`` comes as an object array of its strings. DamagedFileError if unreadable."""
    import pyarrow as pa

    columns = list(columns)
    equals = equals or {}
    parquet = open_requests(path, [*columns, *equals])
    wanted = list(dict.fromkeys([*columns, *equals]))
    try:
        for batch in parquet.iter_batches(batch_size=rows, columns=wanted):
            out: dict[str, np.ndarray] = {}
            for name in wanted:
                array = batch.column(name)
                if name in equals:
                    out[f"{name}=={equals[name]}"] = _equals(array, equals[name])
                if name in columns:
                    out[name] = as_numpy(array)
            yield out
    except (OSError, pa.ArrowException) as exc:
        raise damaged(Path(path), exc) from None


def _equals(array: Any, value: str) -> np.ndarray:
    """Boolean numpy array: each element of a (dictionary or string) array equals ``value``;
    nulls are False."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_dictionary(array.type):
        dictionary = np.asarray(array.dictionary.to_pylist(), dtype=object)
        hit = dictionary == value
        if not hit.any():
            return np.zeros(len(array), dtype=bool)
        indices = array.indices.fill_null(0).to_numpy(zero_copy_only=False)
        result = hit[indices]
        if array.null_count:
            result &= array.is_valid().to_numpy(zero_copy_only=False)
        return result
    return pc.fill_null(pc.equal(array, value), False).to_numpy(zero_copy_only=False)


def as_numpy(array: Any) -> np.ndarray:
    """A numpy array of an Arrow array (see ``iter_batches`` for the types). A dictionary
    column is an object array built by indexing its few strings with its codes (one Python
    string per distinct value, never one per row: ``to_pylist`` made a million)

    Returns a 1-D array of the array's length: float64 for floating columns, bool (nulls False) for
    booleans, object (nulls None) for dictionary columns, numpy's conversion otherwise. Raises
    pyarrow's ArrowInvalid for a type numpy cannot hold.
    """
    import pyarrow as pa

    kind = array.type
    if pa.types.is_dictionary(kind):
        if isinstance(array, pa.ChunkedArray):
            array = array.combine_chunks()
        strings = np.asarray([*array.dictionary.to_pylist(), None], dtype=object)
        codes = array.indices.cast(pa.int64()).fill_null(len(strings) - 1)
        return strings[codes.to_numpy(zero_copy_only=False)]
    if pa.types.is_boolean(kind):
        return array.fill_null(False).to_numpy(zero_copy_only=False)
    if pa.types.is_floating(kind):
        return array.to_numpy(zero_copy_only=False).astype(np.float64, copy=False)
    return array.to_numpy(zero_copy_only=False)


@dataclass(frozen=True)
class RequestsFile:
    """A readable requests.parquet without its rows: path, row count and the last intended
    send time (s; 0.0 when empty), for readers that aggregate it in batches."""

    path: Path
    rows: int
    t_max: float

    @property
    def empty(self) -> bool:
        """True when the file holds no rows (then ``t_max`` is 0.0)."""
        return self.rows == 0


def requests_file(path: Path, columns: Iterable[str] = ("t_intended",)) -> RequestsFile:
    """Open requests.parquet: its row count (metadata) and max ``t_intended`` (one pass over
    that column). DamagedFileError (exit 2) if unreadable or lacking one of ``columns``."""
    import pyarrow as pa

    parquet = open_requests(path, ["t_intended", *columns])
    t_max = -np.inf
    try:
        rows = parquet.metadata.num_rows
        for batch in parquet.iter_batches(batch_size=BATCH_ROWS, columns=["t_intended"]):
            if batch.num_rows:
                t_max = max(t_max, float(np.nanmax(as_numpy(batch.column(0)))))
    except (OSError, pa.ArrowException) as exc:
        raise damaged(Path(path), exc) from None
    return RequestsFile(Path(path), rows, t_max if np.isfinite(t_max) else 0.0)


def distinct_values(path: Path, column: str) -> set[str]:
    """The distinct non-null strings of one dictionary (or string) column of
    requests.parquet, reading that column only (codes per batch, never a string per row):
    e.g. whether a run carried more than one model. DamagedFileError if unreadable or
    lacking ``column``."""
    import pyarrow as pa
    import pyarrow.compute as pc

    parquet = open_requests(path, [column])
    found: set[str] = set()
    if _all_null(parquet, column):  # (a run without models or arms: nothing to read)
        return found
    try:
        for batch in parquet.iter_batches(batch_size=BATCH_ROWS, columns=[column]):
            array = batch.column(0)
            if array.null_count == len(array):
                continue
            if pa.types.is_dictionary(array.type):
                used = pc.unique(array.indices.drop_null()).to_numpy(zero_copy_only=False)
                strings = array.dictionary.to_pylist()
                found.update(strings[i] for i in used.tolist() if strings[i] is not None)
            else:
                found.update(s for s in pc.unique(array.drop_null()).to_pylist())
    except (OSError, pa.ArrowException) as exc:
        raise damaged(Path(path), exc) from None
    return found


def _all_null(parquet: Any, column: str) -> bool:
    """True when the row groups' statistics say every value of ``column`` is null (False
    when a statistic is missing: then the column is read)."""
    meta = parquet.metadata
    for i in range(meta.num_row_groups):
        group = meta.row_group(i)
        chunks = [group.column(j) for j in range(group.num_columns)]
        stats = next((c.statistics for c in chunks if c.path_in_schema == column), None)
        if stats is None or not stats.has_null_count or stats.null_count != group.num_rows:
            return False
    return True


def span_guess(path: Path, warmup: str, columns: Iterable[str] = ()) -> tuple[float, float] | None:
    """A guess of the measured requests' span without a pass over the rows: (the earliest
    ``t_intended`` of the rows whose ``phase`` is not ``warmup``, an upper bound of their
    latest completion ``t_intended + latency_ms / 1000``), in s, from the row groups'
    statistics; only the ``phase`` column is read (dictionary codes, cheap), and
    ``t_intended`` of a row group that holds both kinds of rows. None when a statistic is
    missing or there is no such row. A caller that bins by the guess checks it against the
    span its own pass finds (``request_pass``): a wrong guess costs a pass, never a number.
    DamagedFileError if unreadable or lacking one of ``columns`` (checked first, in their
    order, as the caller's own reading would) or of t_intended, latency_ms, phase."""
    import pyarrow as pa

    parquet = open_requests(path, dict.fromkeys([*columns, "t_intended", "latency_ms", "phase"]))
    meta = parquet.metadata
    try:
        starts, ends, latency = [], [], []
        for i in range(meta.num_row_groups):
            group = meta.row_group(i)
            if not group.num_rows:
                continue
            stats = {
                group.column(j).path_in_schema: group.column(j).statistics
                for j in range(group.num_columns)
            }
            bounds = [stats.get(name) for name in ("t_intended", "latency_ms")]
            if any(s is None or not s.has_min_max for s in bounds):
                return None
            ends.append(float(bounds[0].max))
            latency.append(float(bounds[1].max))
            column = parquet.read_row_group(i, columns=["phase"]).column(0)
            skipped = np.concatenate([_equals(c, warmup) for c in column.chunks] or [[]])
            if not skipped.any():
                starts.append(float(bounds[0].min))
            elif not skipped.all():
                t = parquet.read_row_group(i, columns=["t_intended"]).column(0)
                starts.append(float(np.nanmin(as_numpy(t.combine_chunks())[~skipped])))
    except (OSError, pa.ArrowException) as exc:
        raise damaged(Path(path), exc) from None
    except ValueError:  # an all-NaN row group: no guess
        return None
    if not starts or not all(map(np.isfinite, [*starts, *ends, *latency])):
        return None
    return min(starts), max(ends) + max(latency) / 1000.0
