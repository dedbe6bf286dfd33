"""Capacity search, running one level: its engine processes and the records they flush.

Each level is one engine process (or a Locust master with ``--workers N`` local workers)
running a steady open-loop plan in its own folder; the search reads the record parts the
engine flushes while it runs (``PartReader``) and decides the level on this side.
"""

from __future__ import annotations

import contextlib
import queue
import signal
import subprocess
import time
from pathlib import Path
from typing import Any, ClassVar

import pandas as pd

from benchctl.engine_processes import start_engine, watch_events
from benchctl.errors import BenchctlError
from benchctl.lifetime import signal_if_running
from benchctl.rundir import ENGINE_LOG, DamagedFileError, read_table

STOP_WAIT_S = 15.0
START_TIMEOUT_S = 90.0


class LevelEngine:
    """One level's engine, started on ``folder/engine-spec.json`` with ``workers`` local
    workers (0: one local process). Counts what it reports: ``sent``, ``dropped`` and the
    requests ``in_flight`` in its last progress report. Raises OSError if it cannot start."""

    def __init__(self, folder: Path, workers: int) -> None:
        self.folder = folder
        self.sent = self.dropped = self.in_flight = 0
        self.done = False
        engine = start_engine(folder, workers=workers)
        self.main, self.workers = engine.main, engine.workers
        self.processes = engine.processes
        self.events = watch_events(self.main)

    def wait_started(self, server: Any, timeout: float = START_TIMEOUT_S) -> float:
        """The engine's clock origin (``t0``, epoch seconds) once it started sending.

        Raises BenchctlError naming the engine's log when it ends, the launched ``server``
        dies, or ``timeout`` seconds pass first (the engine is stopped then)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                event = self.events.get(timeout=0.5)
            except queue.Empty:
                if server is not None and not server.alive():
                    break
                continue
            if event is None or event.get("type") == "done":
                break
            if event.get("type") == "started":
                return float(event["t0"])
        self.stop()
        raise BenchctlError(f"the load engine did not start; see {self.folder / ENGINE_LOG}")

    def drain_events(self, cpu: list[tuple[float, str, float]], offset: float) -> None:
        """Fold the events that arrived into the counters; each progress report's CPU
        samples are appended to ``cpu`` as (seconds since the search began, process, %),
        ``offset`` being this level's start on that clock."""
        while True:
            try:
                event = self.events.get_nowait()
            except queue.Empty:
                return
            if event is None:
                self.done = True
                return
            if event.get("type") == "progress":
                self.in_flight = int(event.get("in_flight") or 0)
                for name, value in event.get("cpu", {}).items():
                    cpu.append((event["elapsed"] + offset, name, value))
            if event.get("type") in ("progress", "done"):
                self.sent = event.get("sent", self.sent) or 0
                self.dropped = event.get("dropped", self.dropped) or 0
            if event.get("type") == "done":
                self.done = True

    def exited(self) -> bool:
        """True once the engine said it is done or its main process ended."""
        return self.done or self.main.poll() is not None

    def stop(self) -> None:
        """SIGTERM (the engine keeps what it recorded), then SIGKILL after a grace."""
        signal_if_running(self.main, signal.SIGTERM)
        try:
            self.main.wait(timeout=STOP_WAIT_S)
        except subprocess.TimeoutExpired:
            terminate(self.processes)
        for worker in self.workers:
            try:
                worker.wait(timeout=10)
            except subprocess.TimeoutExpired:
                terminate([worker])
        self.drain_events([], 0.0)


def terminate(processes: list[subprocess.Popen]) -> None:
    """SIGKILL every process still running, then wait up to 5 s for each."""
    for process in processes:
        signal_if_running(process, signal.SIGKILL)
    for process in processes:
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=5)


class PartReader:
    """Reads the engine's flushed record parts as they appear (each part is complete)."""

    COLUMNS: ClassVar[list[str]] = ["t_intended", "latency_ms", "ok", "error"]

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._seen: set[str] = set()
        self._frames: list[pd.DataFrame] = []

    def frame(self) -> pd.DataFrame:
        """Every record flushed so far: ``COLUMNS`` (t_intended s since the level's start,
        latency_ms, ok, error as text); an empty frame before the first part."""
        if self.folder.is_dir():
            for part in sorted(self.folder.glob("part-*.parquet")):
                if part.name in self._seen:
                    continue
                try:
                    table = read_table(part, self.COLUMNS)
                except DamagedFileError:
                    continue  # being replaced: read it next time
                self._seen.add(part.name)
                frame = table.to_pandas()
                frame["error"] = frame["error"].astype(str)
                self._frames.append(frame)
        if not self._frames:
            return pd.DataFrame({c: pd.Series(dtype=float) for c in self.COLUMNS})
        return pd.concat(self._frames, ignore_index=True)
