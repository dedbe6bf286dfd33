"""Parse and format human durations such as ``90s``, ``10m``, ``1h30m``, ``250ms``."""

import math
import re

_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
MAX_SECONDS = 366 * 86400.0  # a year: longer is a typo (and overflows time arithmetic)


def parse_duration(value: str | float | int) -> float:
    """Seconds in ``value``: a number (seconds) or a string like ``1h30m``.

    ValueError (one line, with the allowed forms) for text that is not a duration, a
    negative, infinite or NaN value, or one longer than a year."""
    if isinstance(value, bool):
        raise ValueError("expected a duration like 30s, 10m, 1h30m or a number of seconds")
    if isinstance(value, int | float):
        try:
            seconds = float(value)
        except OverflowError:  # an int too large for a float
            seconds = math.inf
    elif not isinstance(value, str):
        raise ValueError(f"expected a duration like 30s, 10m, 1h30m, got {type(value).__name__}")
    else:
        text = value.strip().replace(" ", "")
        if text.startswith("-"):
            raise ValueError(f"{value!r}: a duration cannot be negative")
        try:
            seconds = float(text)
        except ValueError:
            parts = _PART.findall(text)
            if not parts or "".join(n + u for n, u in parts) != text:
                raise ValueError(
                    f"{value!r} is not a duration: use e.g. 30s, 10m, 1h30m, 250ms"
                ) from None
            seconds = sum(float(n) * _UNIT_SECONDS[u] for n, u in parts)
    if not math.isfinite(seconds):
        raise ValueError(f"{value!r} is not a finite duration: use e.g. 30s, 10m, 1h30m")
    if seconds < 0:
        raise ValueError(f"{value!r}: a duration cannot be negative")
    if seconds > MAX_SECONDS:
        raise ValueError(f"{value!r}: a duration is at most 366d")
    return seconds


def format_duration(seconds: float) -> str:
    """Compact form for display: ``95`` -> ``1m35s``; sub-second values in ms."""
    if 0 < seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    text = (f"{hours}h" if hours else "") + (f"{minutes}m" if minutes else "")
    return text + (f"{secs}s" if secs or not text else "")
