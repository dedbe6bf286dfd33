"""The requests table (``requests.parquet``): one row per request, its columns and values.

The load stage writes it (``benchctl.load.records``), every later stage reads it; both use
these declarations, so analysis never imports the load engine's package.
"""

from __future__ import annotations

import pyarrow as pa

SCHEMA = pa.schema(
    [
        pa.field("t_intended", pa.float64(), nullable=False),  # s since run start
        pa.field("t_start", pa.float64()),  # s since run start; null if never sent
        pa.field("latency_ms", pa.float64()),  # from intended time to response end
        # from the request's first byte written to its answer's last byte read (HTTP; gRPC:
        # around the call); rows before 2026-11-30: from the start of the send to the answer
        pa.field("service_ms", pa.float64()),
        pa.field("send_lag_ms", pa.float64()),  # actual send minus intended time
        pa.field("status", pa.int32()),  # HTTP status or gRPC code; 0: no response
        pa.field("ok", pa.bool_()),
        pa.field("error", pa.dictionary(pa.int8(), pa.string())),  # "" when ok
        pa.field("bytes_sent", pa.int32()),
        pa.field("bytes_received", pa.int32()),
        pa.field("worker", pa.int16()),
        pa.field("phase", pa.dictionary(pa.int8(), pa.string())),
        # the model and pooled input (index in payload.pool) the request carried; null when
        # none was picked (dropped arrivals, runs made before these columns existed)
        pa.field("model", pa.dictionary(pa.int16(), pa.string())),
        pa.field("input_id", pa.int32()),
        # a split run's arm (target profile name) and simulated user (--split, --users);
        # null in a plain run and for dropped arrivals (load/arms.py)
        pa.field("arm", pa.dictionary(pa.int16(), pa.string())),
        pa.field("user", pa.int32()),
        # open loop: ms between the intended time and the send that the driver spent
        # waiting for an in-flight slot (max_in_flight full; this arrival's or an earlier
        # one's: admission delay); null when none. Part of send_lag_ms: the rest of the lag
        # is the scheduler's (waking late). Absent in runs made before it existed.
        pa.field("slot_wait_ms", pa.float64()),
    ]
)
# Columns a driver fills; ``phase`` is derived from t_intended by whoever writes.
DRIVER_COLUMNS = [f.name for f in SCHEMA if f.name != "phase"]
# Columns a writer may leave out (older writers, synthetic runs): written as nulls.
OPTIONAL_COLUMNS = ("model", "input_id", "arm", "user", "slot_wait_ms")

# Values of the ``error`` column besides the protocol's own ("" when ok)
DROPPED = "dropped"  # an arrival that could not be sent in time: kept, never skipped
CANCELLED = "cancelled"  # a request in flight when the run stopped

# The ``phase`` of the warm-up rows, which statistics leave out
WARMUP = "warmup"
