"""Where records from every driver meet: live window stats, totals, and Parquet parts."""

from __future__ import annotations

from pathlib import Path
from time import monotonic

import numpy as np

from benchctl.analysis.percentiles import nearest_rank
from benchctl.load.records import DROPPED, PartWriter, to_table
from benchctl.plan.shapes import Plan

WINDOW_S = 5.0


class Collector:
    """Records of every load process of one run: running totals, a live window of recent
    completions, and batches for Parquet parts under ``parts_dir``.

    A batch is due every ``flush_seconds`` s or ``flush_rows`` rows (``take_batch``); it is
    written by ``write`` (in a thread) and handed back by ``give_back`` if that fails.
    """

    def __init__(
        self, plan: Plan, parts_dir: Path, *, flush_rows: int = 50_000, flush_seconds: float = 5.0
    ) -> None:
        self.plan = plan
        self.writer = PartWriter(parts_dir)
        self.flush_rows = flush_rows
        self.flush_seconds = flush_seconds
        self.sent = self.ok = self.errors = self.dropped = self.connection_errors = 0
        self._pending: list[dict[str, list]] = []
        self._pending_rows = 0
        self._unwritten = 0
        self._last_flush = monotonic()
        names = [phase.name for phase in plan.phases]
        self.phase_names = list(dict.fromkeys(names))
        self._phase_codes = np.array([self.phase_names.index(n) for n in names], dtype=np.int8)
        self._recent = np.empty((0, 3))  # completion time, latency ms, ok

    @property
    def rows(self) -> int:
        """Rows accepted so far: on disk, pending, or taken and being written."""
        return self.writer.rows + self._pending_rows + self._unwritten

    @property
    def pending_rows(self) -> int:
        """Rows accepted but not on disk (waiting for a flush, or given back after a failed one)."""
        return self._pending_rows

    def give_back(self, batch: dict[str, list]) -> None:
        """A batch from ``take_batch`` whose write failed (disk full): pending again, first,
        so a later flush retries it and ``rows`` still counts it."""
        n = len(batch["t_intended"])
        self._unwritten -= n
        self._pending.insert(0, batch)
        self._pending_rows += n

    def accept(self, columns: dict[str, list]) -> None:
        """Drained driver columns (load/records.py): counted into the totals and the live
        window (completion = intended time + latency), and queued for the next part."""
        n = len(columns["t_intended"])
        if not n:
            return
        errors = columns["error"]
        dropped = sum(1 for e in errors if e == DROPPED)
        ok = sum(columns["ok"])
        self.dropped += dropped
        self.sent += n - dropped
        self.ok += ok
        self.errors += n - dropped - ok
        self.connection_errors += sum(1 for e in errors if e == "connection")
        intended = np.asarray(columns["t_intended"], dtype=float)
        latency = np.asarray(columns["latency_ms"], dtype=float)
        done = intended + latency / 1000.0
        fresh = np.column_stack([done, latency, np.asarray(columns["ok"], dtype=float)])
        self._recent = np.concatenate([self._recent, fresh[~np.isnan(latency)]])
        self._pending.append(columns)
        self._pending_rows += n

    def totals(self) -> dict[str, int]:
        """Requests so far: ``sent``, ``ok``, ``errors`` (sent, not ok), ``connection_errors``
        (among errors) and ``dropped`` (arrivals never sent), as counts."""
        return {
            "sent": self.sent,
            "ok": self.ok,
            "errors": self.errors,
            "connection_errors": self.connection_errors,
            "dropped": self.dropped,
        }

    def window(self, now: float, width: float = WINDOW_S) -> dict[str, float | None]:
        """Completions in ``(now - width, now]``: rate and p50/p95/p99 of successes."""
        self._recent = self._recent[self._recent[:, 0] > now - 2 * width]
        recent = self._recent[(self._recent[:, 0] > now - width) & (self._recent[:, 0] <= now)]
        good = recent[recent[:, 2] > 0, 1]
        quantiles = nearest_rank(good, (50, 95, 99)) if len(good) else [None] * 3
        span = min(width, max(now, 1e-9))
        return {
            "rate": len(recent) / span,
            "p50": _maybe(quantiles[0]),
            "p95": _maybe(quantiles[1]),
            "p99": _maybe(quantiles[2]),
        }

    def take_batch(self, *, force: bool = False) -> dict[str, list] | None:
        """Pending records, if a flush is due (cheap: hand them to ``write`` elsewhere)."""
        due = monotonic() - self._last_flush >= self.flush_seconds
        if not self._pending or not (force or due or self._pending_rows >= self.flush_rows):
            return None
        pending, self._pending, self._pending_rows = self._pending, [], 0
        self._last_flush = monotonic()
        self._unwritten += sum(len(chunk["t_intended"]) for chunk in pending)
        return {key: [v for chunk in pending for v in chunk[key]] for key in pending[0]}

    def write(self, batch: dict[str, list]) -> None:
        """Write one batch as a Parquet part (safe to run in a worker thread)."""
        codes = self._phase_codes[self.plan.phase_index(np.asarray(batch["t_intended"]))]
        self.writer.write(to_table(batch, self.phase_names, codes))
        self._unwritten -= len(batch["t_intended"])


def _maybe(value: float | None) -> float | None:
    return None if value is None else float(value)
