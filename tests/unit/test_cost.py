"""Price strings and the cost arithmetic."""

import pytest

from benchctl.analysis.cost import cost_per_million, monthly_cost, parse_price


@pytest.mark.parametrize(
    ("text", "per_hour"),
    [("2.48/h", 2.48), ("0.0007/s", 2.52), ("1800/month", 1800 / 730), ("$3 / hour", 3.0)],
)
def test_parse_price(text: str, per_hour: float):
    assert parse_price(text) == pytest.approx(per_hour)


@pytest.mark.parametrize("text", ["2.48", "2.48/day", "abc/h", "-1/h", ""])
def test_parse_price_rejects_other_formats(text: str):
    with pytest.raises(ValueError, match="/month"):
        parse_price(text)


def test_costs():
    assert monthly_cost(3, 2.0) == pytest.approx(3 * 2.0 * 730)
    assert monthly_cost(3, 2.0, hours=100) == pytest.approx(600)
    assert cost_per_million(3.6, 100.0) == pytest.approx(10.0)  # 360k requests/h for $3.6
    with pytest.raises(ValueError, match="throughput_rps"):
        cost_per_million(1.0, 0.0)
