"""Shadow traffic (``benchctl run ... --target A --shadow B``), inside a load process.

Every request goes to the served arm A (the driver times and records it as in any run) and,
at the same instant, the same input to the shadow arm B in a separate greenlet, outside the
driver's in-flight limit. Once both answered, one pair is kept: both latencies from the same
send start (ms), both outcomes, and the agreement of the first output tensor (max absolute
difference, argmax per row, exact equality). Pairs are written by each load process to
``shadow.parts/part-<worker>-NNN.parquet`` in the run directory (local load processes only;
``--remote-workers`` is refused for split and shadow runs), merged by the CLI at the end.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from time import perf_counter, time
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from gevent import getcurrent
from gevent.event import AsyncResult
from gevent.pool import Group

from benchctl.load.clients import Outcome, Transport
from benchctl.rundir.writer import atomic_output

FLUSH_PAIRS = 20_000  # pairs held before a part is written
SHADOW_SCHEMA = pa.schema(
    [
        pa.field("worker", pa.int16()),
        pa.field("seq", pa.int64()),  # the request's number in its load process
        pa.field("t_send", pa.float64()),  # epoch s of the common send start
        pa.field("served_ms", pa.float64()),
        pa.field("shadow_ms", pa.float64()),
        pa.field("served_ok", pa.bool_()),
        pa.field("shadow_ok", pa.bool_()),
        pa.field("shadow_error", pa.string()),
        pa.field("compared", pa.bool_()),  # both outputs decoded, same size
        pa.field("max_abs_diff", pa.float64()),
        pa.field("argmax_agree", pa.bool_()),
        pa.field("equal", pa.bool_()),
    ]
)


def first_output(body: bytes) -> np.ndarray | None:
    """The first output tensor of an answer as a float array shaped (rows, -1), or None when
    it cannot be read as numbers: Open Inference Protocol JSON (``outputs[0].data`` and
    ``shape``), TF-Serving/KServe v1 (``predictions``), a bare JSON list (TorchServe), or a
    v2 gRPC ``ModelInferResponse`` (typed contents or raw little-endian FP32/FP64/INT)."""
    data: Any = None
    try:
        parsed = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        parsed = None
    if isinstance(parsed, dict) and parsed.get("outputs"):
        first = parsed["outputs"][0]
        data = np.asarray(first.get("data"), dtype=float)
        shape = first.get("shape") or [len(data)]
        if data.size == int(np.prod(shape)):
            data = data.reshape(shape)
    elif isinstance(parsed, dict) and "predictions" in parsed:
        data = parsed["predictions"]
    elif isinstance(parsed, list):
        data = parsed
    elif parsed is None:
        data = _grpc_first_output(body)
    if data is None:
        return None
    try:
        array = np.asarray(data, dtype=float)
    except (TypeError, ValueError):
        return None
    if array.size == 0:
        return None
    return array.reshape(array.shape[0], -1) if array.ndim else array.reshape(1, 1)


_RAW = {"FP32": "<f4", "FP64": "<f8", "INT32": "<i4", "INT64": "<i8", "FP16": "<f2"}


def _grpc_first_output(body: bytes) -> np.ndarray | None:
    from google.protobuf.message import DecodeError

    from benchctl.targets import v2_proto

    try:
        response = v2_proto.ModelInferResponse.FromString(body)
    except DecodeError:
        return None
    if not response.outputs:
        return None
    output = response.outputs[0]
    shape = list(output.shape) or [-1]
    if response.raw_output_contents and output.datatype in _RAW:
        values = np.frombuffer(response.raw_output_contents[0], dtype=_RAW[output.datatype])
    else:
        contents = output.contents
        values = np.asarray(
            list(contents.fp32_contents)
            or list(contents.fp64_contents)
            or list(contents.int_contents)
            or list(contents.int64_contents),
            dtype=float,
        )
    return values.reshape(shape) if values.size == int(np.prod(shape)) or -1 in shape else None


def agreement(
    served: np.ndarray | None, shadow: np.ndarray | None
) -> tuple[bool, float, bool, bool]:
    """(compared, max |served - shadow|, every row's argmax equal, exactly equal); not
    compared (NaN, False, False) unless both decoded to the same number of values."""
    if served is None or shadow is None or served.size != shadow.size:
        return False, float("nan"), False, False
    shadow = shadow.reshape(served.shape)
    diff = float(np.max(np.abs(served - shadow)))
    argmax = bool(np.all(np.argmax(served, axis=1) == np.argmax(shadow, axis=1)))
    return True, diff, argmax, bool(np.array_equal(served, shadow))


class ShadowTransport:
    """Served arm's transport for the driver; the shadow arm's in the background."""

    def __init__(self, served: Transport, shadow: Transport, folder: Path, worker: int) -> None:
        self._served, self._shadow = served, shadow
        self._bodies: dict[Any, bytes] = {}
        for transport in (served, shadow):  # keep each answer's body for the comparison
            check = transport._check  # type: ignore[attr-defined]
            transport._check = self._keeping(check)  # type: ignore[attr-defined]
        self._folder = folder
        self._worker = worker
        self._rows: list[tuple] = []
        self._seq = itertools.count()
        self._parts = itertools.count()
        self._group = Group()

    def _keeping(self, check: Any) -> Any:
        def keep(body: bytes, rows: int) -> str:
            self._bodies[getcurrent()] = body
            return check(body, rows)

        return keep

    def send(self, choice: Any = None) -> Outcome:
        """Send ``choice`` (an ArmChoice) to the served arm and wait for its Outcome, while the same
        input goes to the shadow arm in a background greenlet.

        Returns the served arm's Outcome (status, error kind or "", bytes, sent_at,
        answered_at); the shadow's answer, its latency (ms, from perf_counter to its
        answered_at) and the comparison of both bodies are recorded as a row for the shadow
        parquet part, never changing the served outcome. Exceptions of the served transport
        propagate (after the shadow greenlet is released).
        """
        seq, start, wall = next(self._seq), perf_counter(), time()
        done: AsyncResult = AsyncResult()
        self._group.spawn(self._send_shadow, choice, seq, start, wall, done)
        try:
            outcome = self._served.send(choice.inner)
        except BaseException:
            done.set(None)
            raise
        finally:
            body = self._bodies.pop(getcurrent(), None)
        done.set((outcome, (outcome[4] - start) * 1000.0, body))
        return outcome

    def _send_shadow(self, choice: Any, seq: int, start: float, wall: float, served: Any) -> None:
        try:
            _, error, _, _, answered_at = self._shadow.send(choice.twin)
        except Exception:
            error, answered_at = "client_error", perf_counter()
        elapsed = (answered_at - start) * 1000.0
        body = self._bodies.pop(getcurrent(), None)
        result = served.get()
        if result is None:  # the served request was cancelled (stop)
            return
        (_, served_error, _, _, _), served_ms, served_body = result
        ok = not error
        compared, diff, argmax, equal = (
            agreement(first_output(served_body), first_output(body))
            if ok and not served_error and served_body is not None and body is not None
            else (False, float("nan"), False, False)
        )
        self._rows.append(
            (self._worker, seq, wall, served_ms, elapsed, not served_error, ok, error,
             compared, diff, argmax, equal)
        )  # fmt: skip
        if len(self._rows) >= FLUSH_PAIRS:
            self.flush()

    def flush(self) -> None:
        """Write the pairs held so far as one part (a complete Parquet file, atomically)."""
        rows, self._rows = self._rows, []
        if not rows:
            return
        self._folder.mkdir(parents=True, exist_ok=True)
        columns = list(zip(*rows, strict=True))
        table = pa.Table.from_arrays(
            [pa.array(c, f.type) for c, f in zip(columns, SHADOW_SCHEMA, strict=True)],
            schema=SHADOW_SCHEMA,
        )
        path = self._folder / f"part-{self._worker:03d}-{next(self._parts):06d}.parquet"
        with atomic_output(path) as temporary:  # whole or not at all, never through a link
            pq.write_table(table, temporary)

    def close(self, timeout: float = 5.0) -> None:
        """Wait (at most ``timeout`` s) for shadow requests in flight, then write the rest."""
        self._group.join(timeout=timeout)
        self._group.kill(block=True, timeout=1)
        self.flush()
