"""How the report pages write numbers and facts (the Jinja2 filters) and the environment
that renders their templates; ``NONE`` stands where a value is missing.
"""

from __future__ import annotations

import json
import re
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape

from benchctl.reports.percentile_marks import mark as percentile_mark
from benchctl.reports.views import is_number as _number

NONE = "—"


def fmt_ms(value: Any) -> str:
    """Latency in ms: 3 significant figures below 100, whole numbers above."""
    return _figures(value, whole_from=100)


def fmt_rps(value: Any) -> str:
    """A rate in req/s: 3 significant figures below 1,000, whole numbers above."""
    return _figures(value, whole_from=1000)


def _figures(value: Any, *, whole_from: float) -> str:
    """Two decimals below 10, one below ``whole_from``, whole numbers (with commas) above."""
    if not _number(value):
        return NONE
    if value < 10:
        return f"{value:.2f}"
    return f"{value:.1f}" if value < whole_from else f"{value:,.0f}"


def fmt_pct(value: Any) -> str:
    """A fraction as a percentage; tiny non-zero fractions are not shown as 0."""
    if not _number(value):
        return NONE
    if value == 0:
        return "0%"
    if value < 0.0001:
        return "<0.01%"
    return f"{value * 100:.2f}%" if value < 0.1 else f"{value * 100:.1f}%"


def fmt_count(value: Any) -> str:
    """A whole count with thousands separators."""
    return f"{int(value):,}" if _number(value) else NONE


def fmt_seconds(value: Any) -> str:
    """Seconds with one decimal and the unit."""
    return f"{value:,.1f} s" if _number(value) else NONE


def fmt_money(value: Any) -> str:
    """An amount in the price's currency: whole units from 100, cents from 1, three
    significant digits below (``amounts.amount_text``: a small cost never reads 0.00)."""
    from benchctl.amounts import amount_text

    if not _number(value):
        return NONE
    return amount_text(float(value))


def fmt_fact(value: Any) -> str:
    """Any JSON value on one line: scalars as text, containers as compact JSON."""
    if value is None or value == "":
        return NONE
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list) and all(isinstance(v, str | int | float) for v in value):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(", ", ": "), default=str)
    return str(value)


def fmt_ticks(text: Any) -> Markup:
    """Escaped text in which `back-ticked` spans (commands, options) become <code>."""
    escaped = str(escape(NONE if text is None else text))
    return Markup(re.sub(r"`([^`<>]+)`", r"<code>\1</code>", escaped))


def environment() -> Environment:
    """The Jinja2 environment of every report page: the package's templates, autoescaped,
    with the ``fmt_*`` functions as filters (``ms``, ``rps``, ``pct``, ...)."""
    env = Environment(
        loader=PackageLoader("benchctl.reports", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(FILTERS)
    return env


FILTERS = {
    "ms": fmt_ms,
    "rps": fmt_rps,
    "pct": fmt_pct,
    "count": fmt_count,
    "seconds": fmt_seconds,
    "fact": fmt_fact,
    "money": fmt_money,
    "ticks": fmt_ticks,
    "at_max": percentile_mark,  # "*" on a percentile of too few successes (the max)
}
