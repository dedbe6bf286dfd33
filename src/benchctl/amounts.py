"""How amounts of money and of replica-hours are written for people (terminal, reports,
comparisons): never ``0.00`` for a small positive amount. The numbers in capacity.json are
kept as they are; only their text is made here."""

from __future__ import annotations

import math


def amount_text(value: float, *, signed: bool = False) -> str:
    """An amount of money or of replica-hours as people read it: whole units from 100
    (``1,234``), two decimals from 1 (``2.48``), three significant digits below 1 (``0.00340``,
    ``0.000100``), so a small amount never reads ``0.00``; ``0`` for zero. ``signed``: a leading
    ``+`` for positive amounts (a difference). Not finite: as Python writes it."""
    if not math.isfinite(value) or value == 0:
        return f"{value:+g}" if signed and value == value else f"{value:g}"
    size = abs(value)
    if size >= 100:
        digits = 0
    elif size >= 1:
        digits = 2
    else:
        digits = 2 - math.floor(math.log10(size))
    return f"{value:{'+' if signed else ''},.{digits}f}"
