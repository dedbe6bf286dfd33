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
    """A price string such as '2.48/h', '0.0007/s' or '1800/month', as a price per hour."""
    match = _PRICE.fullmatch(text.lower())
    if match is None or match["unit"] not in _UNIT_HOURS:
        raise ValueError(f"price {text!r} is not understood; use {_FORMATS}")
    return float(match["amount"]) / _UNIT_HOURS[match["unit"]]


def monthly_cost(replicas: int, price_per_hour: float, hours: float = HOURS_PER_MONTH) -> float:
    """replicas × price per hour × hours in a month."""
    if replicas < 0:
        raise ValueError(f"replicas must be >= 0, got {replicas}")
    _check_price(price_per_hour)
    return replicas * price_per_hour * hours


def cost_per_million(price_per_hour: float, throughput_rps: float) -> float:
    """What one million requests cost on one replica that serves ``throughput_rps``."""
    _check_price(price_per_hour)
    if not math.isfinite(throughput_rps) or throughput_rps <= 0:
        raise ValueError(f"throughput_rps must be > 0, got {throughput_rps}")
    return price_per_hour / (throughput_rps * 3600.0) * 1e6


def _check_price(price_per_hour: float) -> None:
    if not math.isfinite(price_per_hour) or price_per_hour < 0:
        raise ValueError(f"price per hour must be a finite number >= 0, got {price_per_hour}")
