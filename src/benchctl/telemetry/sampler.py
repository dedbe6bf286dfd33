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
    """The interface every sampler implements (structurally: a Protocol, not a base class).

    ``name``: the sampler's name in messages; ``interval``: seconds between samples;
    ``sample(now)``: rows measured at ``now`` (epoch seconds); ``close()``: release what it holds.
    """

    name: str
    interval: float  # seconds between samples

    def sample(self, now: float) -> list[Row]:
        """Rows measured now; raise on failure (the monitor records it and goes on)."""

    def close(self) -> None:
        """Release what the sampler holds (handles, connections); called once at the end.
        Returns None; may raise, and the monitor records it."""
