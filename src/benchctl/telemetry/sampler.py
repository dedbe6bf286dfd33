"""Telemetry rows and the interface every sampler implements.

A row is ``(epoch seconds, source, metric, labels as JSON, value)``; the run directory
keeps them in long form in telemetry.parquet, on the same clock as requests.parquet.
"""

from __future__ import annotations

import json
from typing import Protocol

Row = tuple[float, str, str, str, float]


def labels(**values: object) -> str:
    """Canonical JSON for a label set (sorted keys, so equal sets compare equal)."""
    return json.dumps({k: v for k, v in values.items() if v is not None}, sort_keys=True)


class Sampler(Protocol):
    name: str
    interval: float  # seconds between samples

    def sample(self, now: float) -> list[Row]:
        """Rows measured now; raise on failure (the monitor records it and goes on)."""

    def close(self) -> None: ...
