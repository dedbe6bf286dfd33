"""Table cells shared by the terminal screens."""

from __future__ import annotations

from typing import Any


def number(value: float | None, digits: int = 1) -> str:
    """``value`` with thousands separators and ``digits`` decimals (latencies in ms and
    rates in req/s with 1, counts with 0); "—" for None."""
    return "—" if value is None else f"{value:,.{digits}f}"


def fmt_or_dash(value: Any, form: str) -> str:
    """``value`` formatted by ``form`` (a str.format pattern), or "-" when it is None."""
    return "-" if value is None else form.format(value)
