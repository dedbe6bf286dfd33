"""Latency objectives such as ``p99<=200ms``."""

from __future__ import annotations

import re
from dataclasses import dataclass

from benchctl.errors import InputError

_NUMBER = r"\d+(?:\.\d+)?"
# case-insensitive: P99<=200MS is p99<=200ms (trial 5); ms and s are the only units
_SLO = re.compile(rf"^\s*p({_NUMBER})\s*(?:<=|<)\s*({_NUMBER})\s*(ms|s)\s*$", re.IGNORECASE)
_NO_UNIT = re.compile(rf"^\s*p{_NUMBER}\s*(?:<=|<)\s*{_NUMBER}\s*$", re.IGNORECASE)
_FORM = 'a percentile, <= and a bound with its unit, e.g. "p99<=200ms" or "p95<=0.5s"'


@dataclass(frozen=True)
class Slo:
    """A latency SLO: the ``percentile`` (e.g. 99.0) must be at most ``threshold_ms``."""

    percentile: float  # e.g. 99.0
    threshold_ms: float

    @property
    def quantile(self) -> float:
        """The percentile as a fraction in (0, 1] (99.0 -> 0.99)."""
        return self.percentile / 100.0

    @property
    def column(self) -> str:
        """The summary column holding this percentile, e.g. ``"p99"`` or ``"p99.9"``."""
        return f"p{self.percentile:g}"

    def __str__(self) -> str:
        return f"p{self.percentile:g}<={self.threshold_ms:g}ms"


def parse_slo(text: str) -> Slo:
    """``p99<=200ms``, ``p95<=0.5s`` -> Slo(percentile, threshold in ms); letters in any
    case (``P99<=200MS``).

    The unit (ms or s) is required: ``p99<=200`` is refused rather than guessed, and so is a
    strict ``p99<200ms`` (an SLO is "at most"; it is not silently read as <=). Raises
    InputError (one line naming --slo and the allowed form) for anything else."""
    if _NO_UNIT.match(text):
        raise InputError(f"--slo {text!r}: the bound needs a unit (ms or s), e.g. p99<=200ms")
    match = _SLO.match(text)
    if not match:
        raise InputError(f"--slo {text!r}: expected {_FORM}")
    if "<=" not in text:  # refused, not read as <=: an SLO here is "at most"
        raise InputError(
            f"--slo {text!r}: write <= (the objective is 'at most'), e.g. "
            f"{text.replace('<', '<=', 1).replace(' ', '')}; a strict < is not read"
        )
    percentile = float(match.group(1))
    if not 0 < percentile < 100:
        raise InputError(
            f"--slo {text!r}: the percentile must be above 0 and below 100, e.g. p99 or "
            "p99.9 (p100 is the maximum, which no number of requests pins down)"
        )
    seconds = float(match.group(2)) * (0.001 if match.group(3).lower() == "ms" else 1.0)
    if seconds <= 0:
        raise InputError(f"--slo {text!r}: the bound must be > 0")
    if seconds > 3600:
        raise InputError(f"--slo {text!r}: the bound must be at most 1h")
    return Slo(percentile, seconds * 1000.0)
