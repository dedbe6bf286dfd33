"""Money and replica-hours are never printed as 0.00 (``amounts.amount_text``: three
significant digits below 1), and a ``$`` price is refused with another ``--currency``.
The installed ``benchctl analyze`` on the synthetic M/M/1 step run of test_analyze, from a
fresh directory; capacity.json keeps the numbers themselves."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from benchctl.amounts import amount_text
from benchctl.reports.html_format import fmt_money
from tests.unit.run_files import installed_benchctl
from tests.unit.test_analyze import mm1_step_run

BENCHCTL = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "benchctl"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.0034, "0.00340"),
        (2.48 / 730, "0.00340"),  # 2.48/month: 0.0033973 per hour
        (0.0001, "0.000100"),
        (1e-7, "0.000000100"),
        (0.5, "0.500"),
        (2.48, "2.48"),
        (12.4, "12.40"),
        (1234.4, "1,234"),
        (-0.0034, "-0.00340"),
        (0.0, "0"),
    ],
)
def test_amount_text_keeps_three_significant_digits_below_one(value: float, text: str):
    assert amount_text(value) == text
    assert fmt_money(value) == text  # the report's filter writes the same


def test_signed_amount_says_its_sign():
    assert amount_text(0.0125, signed=True) == "+0.0125"
    assert amount_text(-1.5, signed=True) == "-1.50"


def _analyze(cwd: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    return installed_benchctl(
        "analyze", "run", "--slo", "p99<=100ms", "--peak-rps", "600", *flags, cwd=cwd
    )


def test_a_monthly_price_is_shown_per_hour_with_its_digits(tmp_path: Path):
    """2.48/month = 2.48 / 730 h = 0.0033973 per replica-hour: "0.00340 USD"; the cost per
    million is that price / (capacity x 3600 s) x 1e6, printed as amount_text of the value
    capacity.json holds (about 0.0061 at ~154 rps)."""
    mm1_step_run(tmp_path)
    done = _analyze(tmp_path, "--price", "2.48/month")
    assert done.returncode == 0, done.stderr
    cost = json.loads((tmp_path / "run" / "capacity.json").read_text())["cost"]
    assert cost["price_per_replica_hour"] == pytest.approx(2.48 / 730)
    line = next(ln for ln in done.stdout.splitlines() if ln.startswith("Cost:"))
    per_million = amount_text(cost["per_million_at_capacity"])
    assert f"Cost: {per_million} USD per million inferences" in line, line
    assert "(price 0.00340 USD per replica-hour)" in line, line
    assert " 0.00 " not in done.stdout and "(0.00 " not in done.stdout, done.stdout


def test_a_dollar_price_with_another_currency_is_refused(tmp_path: Path):
    mm1_step_run(tmp_path)
    done = _analyze(tmp_path, "--price", "$2.48/h", "--currency", "EUR")
    assert done.returncode == 2, done.stdout
    assert done.stderr.count("\n") == 1 and "--currency EUR" in done.stderr, done.stderr
    assert not (tmp_path / "run" / "capacity.json").exists()
    dollars = _analyze(tmp_path, "--price", "$2.48/h")  # the default currency is USD
    assert dollars.returncode == 0, dollars.stderr
    assert "(price 2.48 USD per replica-hour)" in dollars.stdout, dollars.stdout
