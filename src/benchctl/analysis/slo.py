"""Latency objectives such as ``p99<=200ms``."""

from __future__ import annotations

import re
from dataclasses import dataclass

from benchctl.durations import parse_duration
from benchctl.errors import InputError

_SLO = re.compile(r"^\s*p(\d+(?:\.\d+)?)\s*(?:<=|<)\s*([\d.]+\s*(?:ms|s)?)\s*$")


@dataclass(frozen=True)
class Slo:
    percentile: float  # e.g. 99.0
    threshold_ms: float

    @property
    def quantile(self) -> float:
        return self.percentile / 100.0

    @property
    def column(self) -> str:
        return f"p{self.percentile:g}"

    def __str__(self) -> str:
        return f"p{self.percentile:g}<={self.threshold_ms:g}ms"


def parse_slo(text: str) -> Slo:
    """``p99<=200ms``, ``p95<0.5s``; InputError naming the allowed form otherwise."""
    match = _SLO.match(text)
    if not match:
        raise InputError(
            f"--slo {text!r}: expected a percentile and a bound, e.g. p99<=200ms or p95<=0.5s"
        )
    percentile = float(match.group(1))
    if not 0 < percentile < 100:
        raise InputError(f"--slo {text!r}: the percentile must be between 0 and 100")
    bound = match.group(2).replace(" ", "")
    seconds = parse_duration(bound if bound[-1].isalpha() else bound + "ms")
    if seconds <= 0:
        raise InputError(f"--slo {text!r}: the bound must be > 0")
    return Slo(percentile, seconds * 1000.0)
