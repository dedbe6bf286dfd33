"""One row per request: the schema, an append buffer, and Parquet parts on disk.

Records stream to ``requests.parts/part-NNNNNN.parquet``, each a complete file, so a run
killed at any moment keeps everything flushed before it; ``merge_parts`` folds them into
``requests.parquet`` one part at a time (memory is bounded by the largest part).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

# The table's schema and values, and the part writer, live with the run directory (one
# owner for readers and writers): re-exported here for the load engine's modules.
from benchctl.rundir.parts import PartWriter, merge_parts, with_path  # noqa: F401
from benchctl.rundir.requests import (  # noqa: F401  (re-exported)
    CANCELLED,
    DRIVER_COLUMNS,
    DROPPED,
    OPTIONAL_COLUMNS,
    SCHEMA,
)

# A dropped arrival's row but for its intended time and worker: never sent, no response.
_DROPPED_ROW: dict[str, object] = {
    **dict.fromkeys(("t_start", "latency_ms", "service_ms", "send_lag_ms"), np.nan),
    **{"status": 0, "ok": False, "error": DROPPED, "bytes_sent": 0, "bytes_received": 0},
    **dict.fromkeys(OPTIONAL_COLUMNS, None),
}


class RecordBuffer:
    """Column lists that drivers append to; ``drain`` hands them over and starts afresh."""

    def __init__(self, worker: int = 0) -> None:
        self.worker = worker
        self._columns: dict[str, list] = {name: [] for name in DRIVER_COLUMNS}
        self.sent = 0
        self.dropped = 0

    def __len__(self) -> int:
        return len(self._columns["t_intended"])

    def add(
        self,
        t_intended: float,
        t_start: float,
        t_end: float,
        status: int,
        error: str,
        bytes_sent: int,
        bytes_received: int,
        model: str | None = None,
        input_id: int | None = None,
        arm: str | None = None,
        user: int | None = None,
        slot_wait_ms: float | None = None,
        t_sent: float | None = None,
    ) -> None:
        """A request that was sent; times are seconds since run start: ``t_start`` when the
        driver began the send (the send lag ends there), ``t_sent`` when its first byte went
        to the kernel (the service time starts there; None: at ``t_start``), ``t_end`` when
        its answer was in; ``slot_wait_ms`` the time it waited for an in-flight slot (open
        loop), None if it did not wait."""
        c = self._columns  # the hot path: one append per column, no row built
        c["t_intended"].append(t_intended)
        c["t_start"].append(t_start)
        c["latency_ms"].append((t_end - t_intended) * 1000.0)
        c["service_ms"].append((t_end - (t_start if t_sent is None else t_sent)) * 1000.0)
        c["send_lag_ms"].append((t_start - t_intended) * 1000.0)
        c["status"].append(status)
        c["ok"].append(not error)
        c["error"].append(error)
        c["bytes_sent"].append(bytes_sent)
        c["bytes_received"].append(bytes_received)
        c["worker"].append(self.worker)
        c["model"].append(model)
        c["input_id"].append(input_id)
        c["arm"].append(arm)
        c["user"].append(user)
        c["slot_wait_ms"].append(slot_wait_ms)
        self.sent += 1

    def add_dropped(self, t_intended: float) -> None:
        """A request that could not be sent in time: kept, never silently skipped."""
        row = {**_DROPPED_ROW, "t_intended": t_intended, "worker": self.worker}
        for name, column in self._columns.items():
            column.append(row[name])  # KeyError: a driver column _DROPPED_ROW lacks
        self.dropped += 1

    def drain(self) -> dict[str, list]:
        """The rows added since the last drain, as {column: values} in DRIVER_COLUMNS; the
        buffer starts empty again (the counters ``sent`` and ``dropped`` keep counting)."""
        columns, self._columns = self._columns, {name: [] for name in DRIVER_COLUMNS}
        return columns


def to_table(columns: dict[str, list], phase_names: list[str], phase_index: np.ndarray) -> pa.Table:
    """Arrow table in SCHEMA from drained columns and each row's phase index."""
    arrays = []
    for field in SCHEMA:
        if field.name == "phase":
            dictionary = pa.array(phase_names, pa.string())
            indices = pa.array(np.asarray(phase_index, dtype=np.int8), pa.int8())
            arrays.append(pa.DictionaryArray.from_arrays(indices, dictionary))
        elif field.name == "error":
            arrays.append(pa.array(columns["error"], pa.string()).dictionary_encode())
        elif field.name in OPTIONAL_COLUMNS:
            arrays.append(_optional(columns, field, len(phase_index)))
        else:
            values = np.asarray(columns[field.name], dtype=field.type.to_pandas_dtype())
            arrays.append(pa.array(values, field.type, from_pandas=True))
    return pa.Table.from_arrays(
        [a.cast(f.type) for a, f in zip(arrays, SCHEMA, strict=True)], schema=SCHEMA
    )


def _optional(columns: dict[str, list], field: pa.Field, rows: int) -> pa.Array:
    """``model`` / ``input_id`` / ``arm`` / ``user`` from the drained columns (None = null),
    all null if absent."""
    values = columns.get(field.name)
    if values is None:
        return pa.nulls(rows, field.type)
    if field.name in ("model", "arm"):
        return pa.array(values, pa.string()).dictionary_encode()
    if field.name == "slot_wait_ms":
        return pa.array(values, pa.float64())
    return pa.array(values, pa.int32())
