"""Prices: parse a user's price string, cost per month, cost per million requests."""

from __future__ import annotations

import math
import re

HOURS_PER_MONTH = 730.0  # 8760 h / 12, the cloud providers' billing month

_UNIT_HOURS = {
    "s": 1.0 / 3600.0,
    "sec": 1.0 / 3600.0,
    "second": 1.0 / 3600.0,
    "h": 1.0,
    "hr": 1.0,
    "hour": 1.0,
    "month": HOURS_PER_MONTH,
    "mo": HOURS_PER_MONTH,
}
_PRICE = re.compile(
    r"\s*\$?\s*(?P<amount>[0-9]*\.?[0-9]+(?:e[-+]?[0-9]+)?)\s*/\s*(?P<unit>[a-z]+)\s*"
)
_FORMATS = "AMOUNT/h, AMOUNT/s or AMOUNT/month (e.g. '2.48/h', '0.0007/s', '1800/month')"


def parse_price(text: str) -> float:
    """A user's price string as a price per replica-hour (currency units/h).

    ``text``: AMOUNT/UNIT, an optional ``$``, UNIT one of s/sec/second, h/hr/hour, month/mo
    (case-insensitive), e.g. '2.48/h', '0.0007/s' (x 3600 = 2.52/h), '1800/month' (/ HOURS_PER_MONTH
    = 730 h, 8760 h / 12: the cloud providers' billing month). Raises ValueError (one line with the
    accepted forms) for anything else.
    """
    match = _PRICE.fullmatch(text.lower())
    if match is None or match["unit"] not in _UNIT_HOURS:
        raise ValueError(f"price {text!r} is not understood; use {_FORMATS}")
    return float(match["amount"]) / _UNIT_HOURS[match["unit"]]


def monthly_cost(replicas: int, price_per_hour: float, hours: float = HOURS_PER_MONTH) -> float:
    """replicas x price_per_hour x hours: what ``replicas`` cost per month (currency units).

    ``hours`` defaults to HOURS_PER_MONTH = 730 (8760 h / 12). Raises ValueError for ``replicas`` <
    0 or a price that is negative, NaN or infinite.
    """
    if replicas < 0:
        raise ValueError(f"replicas must be >= 0, got {replicas}")
    _check_price(price_per_hour)
    return replicas * price_per_hour * hours


def cost_per_million(price_per_hour: float, throughput_rps: float) -> float:
    """What one million requests cost (currency units) on one replica serving ``throughput_rps``
    requests/s at ``price_per_hour``: price_per_hour / (throughput_rps x 3600 s/h) x 1e6. Raises
    ValueError for a price < 0 or not finite, or a throughput <= 0 or not finite.
    """
    _check_price(price_per_hour)
    if not math.isfinite(throughput_rps) or throughput_rps <= 0:
        raise ValueError(f"throughput_rps must be > 0, got {throughput_rps}")
    return price_per_hour / (throughput_rps * 3600.0) * 1e6


def _check_price(price_per_hour: float) -> None:
    if not math.isfinite(price_per_hour) or price_per_hour < 0:
        raise ValueError(f"price per hour must be a finite number >= 0, got {price_per_hour}")
