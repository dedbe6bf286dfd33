"""Runs the samplers beside a run, in threads of the CLI process (never in the engine's
gevent loop), and keeps their rows: in memory briefly, then as Parquet parts, then one
telemetry.parquet on the requests' clock. A sampler that fails is recorded and retried;
the run goes on.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from benchctl.rundir.parts import PartWriter
from benchctl.rundir.reader import read_table
from benchctl.rundir.writer import atomic_output
from benchctl.telemetry.sampler import Row, Sampler, labels

# Columns after the clock: the same in the parts and in telemetry.parquet.
_SAMPLE_COLUMNS = [
    ("source", pa.string()),
    ("metric", pa.string()),
    ("labels", pa.string()),
    ("value", pa.float64()),
]
# Parts carry each sample's wall clock (epoch seconds); telemetry.parquet the requests'
# clock (seconds since the run's start).
PART_SCHEMA = pa.schema([("epoch", pa.float64()), *_SAMPLE_COLUMNS])
SCHEMA = pa.schema([("time", pa.float64()), *_SAMPLE_COLUMNS])


class Monitor:
    """Runs ``samplers`` (each a Sampler) in daemon threads of the CLI process, each every
    ``interval`` seconds, and writes their rows as Parquet parts under ``parts_dir`` every
    ``flush_seconds`` (default 5 s). ``errors``: failures per sampler name (each also kept as a
    ``sampler_error`` row). ``start()`` begins, ``stop()`` takes a last sample and flushes.
    """

    def __init__(
        self, samplers: Iterable[Sampler], parts_dir: Path, *, flush_seconds: float = 5.0
    ) -> None:
        self.samplers = list(samplers)
        self.writer = PartWriter(parts_dir)
        self.flush_seconds = flush_seconds
        self.errors: dict[str, int] = {}
        self._rows: list[Row] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> Monitor:
        """A first sample from each sampler now (the baseline before any load), then threads."""
        for sampler in self.samplers:
            self._sample_now(sampler)
        for sampler in self.samplers:
            self._start_thread(sampler)
        flusher = threading.Thread(target=self._flush_loop, daemon=True, name="telemetry-flush")
        flusher.start()
        self._threads.append(flusher)
        return self

    def attach(self, sampler: Sampler) -> None:
        """One more sampler on a started monitor (a split run's other arms' servers): a first
        sample now, then its own thread, stopped and closed with the others by ``stop``."""
        self.samplers.append(sampler)
        self._sample_now(sampler)
        self._start_thread(sampler)

    def _sample_now(self, sampler: Sampler) -> None:
        """One sample from ``sampler`` at this moment; a failure is counted, not raised."""
        try:
            self.add(sampler.sample(time.time()))
        except Exception as exc:
            self._record_error(sampler.name, exc)

    def _start_thread(self, sampler: Sampler) -> None:
        """``sampler``'s own daemon thread, sampling until ``stop``."""
        thread = threading.Thread(
            target=self._run, args=(sampler,), daemon=True, name=f"telemetry-{sampler.name}"
        )
        thread.start()
        self._threads.append(thread)

    def add(self, rows: Iterable[Row]) -> None:
        """Queue ``rows`` (telemetry Rows: epoch seconds, source, metric, labels JSON, value) for
        the next flush; thread-safe. Returns None; raises nothing of its own.
        """
        with self._lock:
            self._rows.extend(rows)

    def stop(self) -> None:
        """One last sample from each sampler (so counters cover the whole run), then stop."""
        if self._stop.is_set():
            return
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)
        for sampler in self.samplers:
            self._sample_now(sampler)
        for sampler in self.samplers:
            try:
                sampler.close()
            except Exception as exc:  # closing must not lose what was measured
                self._record_error(sampler.name, exc)
        self.flush()

    def _run(self, sampler: Sampler) -> None:
        next_at = time.time() + sampler.interval
        while not self._stop.wait(max(0.0, next_at - time.time())):
            now = time.time()
            try:
                self.add(sampler.sample(now))
            except Exception as exc:  # endpoint down, permission denied, process gone...
                self._record_error(sampler.name, exc)
            next_at = max(next_at + sampler.interval, time.time())

    def _record_error(self, name: str, exc: Exception) -> None:
        self.errors[name] = self.errors.get(name, 0) + 1
        message = f"{type(exc).__name__}: {exc}"[:200]
        self.add(
            [(time.time(), "telemetry", "sampler_error", labels(sampler=name, error=message), 1.0)]
        )

    def _flush_loop(self) -> None:
        while not self._stop.wait(self.flush_seconds):
            try:
                self.flush()
            except OSError:  # disk full: rows stay in memory; stop() raises it to the run
                return

    def flush(self) -> None:
        """Write the queued rows as one Parquet part (PART_SCHEMA) and empty the queue; nothing when
        none are queued. Raises OSError (e.g. disk full) after putting the rows back for a later
        try; pyarrow's errors for a malformed row propagate.
        """
        with self._lock:
            rows, self._rows = self._rows, []
        if rows:
            columns = list(zip(*rows, strict=True))
            table = pa.table(
                [
                    pa.array(column, field.type)
                    for column, field in zip(columns, PART_SCHEMA, strict=True)
                ],
                schema=PART_SCHEMA,
            )
            try:
                self.writer.write(table)
            except OSError:  # disk full: keep the rows for a later try, say so to the caller
                with self._lock:
                    self._rows[:0] = rows
                raise


def merge_telemetry(parts_dir: Path, destination: Path, t0: float | None) -> int:
    """All parts as one telemetry.parquet with ``time`` in seconds since the run's start."""
    parts = sorted(parts_dir.glob("part-*.parquet")) if parts_dir.is_dir() else []
    tables = [read_table(part, schema=PART_SCHEMA) for part in parts]
    table = pa.concat_tables(tables) if tables else PART_SCHEMA.empty_table()
    origin = t0 if t0 is not None else (min(table["epoch"].to_pylist(), default=0.0))
    epoch = table["epoch"].to_numpy()
    merged = pa.table(
        [
            pa.array(epoch - origin, pa.float64()),
            table["source"],
            table["metric"],
            table["labels"],
            table["value"],
        ],
        schema=SCHEMA,
    )
    merged = merged.sort_by([("time", "ascending")])
    with atomic_output(destination) as temporary:  # never through a planted symlink
        pq.write_table(merged, temporary, compression="zstd")
    for part in parts:
        part.unlink()
    if parts_dir.is_dir() and not any(parts_dir.iterdir()):
        parts_dir.rmdir()
    return merged.num_rows
