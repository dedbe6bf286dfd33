"""Durations where 0 makes no sense (a scenario's drop_after, a target's timeout) and negative
values on the command line (``--duration -3s``, ``--price -1/h``, ``--cold-start -5s``):
refused up front by the installed ``benchctl`` from a fresh folder, one line, exit 2 (trial 7
F9, F10, F14)."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchctl.config import builtin_dir
from tests.e2e.helpers import benchctl, refused

STEADY = builtin_dir("scenarios") / "steady.yaml"
KSERVE = builtin_dir("targets") / "kserve.yaml"
RUN = ("run", "steady", "--rate", "5", "--duration", "3s", "--dry-run")


def test_drop_after_zero_is_refused(tmp_path: Path) -> None:
    """drop_after=0 dropped 58 of 96 arrivals against an idle server (F9)."""
    done = benchctl(*RUN, "--set", "drop_after=0", cwd=tmp_path)
    assert refused(done) == (
        f"benchctl run: error: argument --set: drop_after (for {STEADY}): field 'drop_after': "
        "must be greater than 0 s, e.g. 1s or 250ms (0 would drop every request not sent at "
        "its exact intended time), got 0 (see `benchctl run --help`)"
    )


@pytest.mark.parametrize(
    ("field", "why"),
    [
        ("timeout", "0 would time out every request"),
        ("connect_timeout", "0 would fail every connection"),
    ],
)
def test_target_timeout_zero_is_refused(tmp_path: Path, field: str, why: str) -> None:
    """timeout=0 passed --dry-run, then every request timed out (F10)."""
    done = benchctl(*RUN, "--target-set", f"{field}=0s", cwd=tmp_path)
    assert refused(done) == (
        f"benchctl run: error: argument --target-set: {field} (for {KSERVE}): field "
        f"'{field}': must be greater than 0 s, e.g. 1s or 250ms ({why}), got 0 "
        "(see `benchctl run --help`)"
    )


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (
            ("run", "steady", "--dry-run", "--duration", "-3s"),
            "benchctl run: error: argument --duration: '-3s': a duration cannot be negative "
            "(see `benchctl run --help`)",
        ),
        (
            ("analyze", "x", "--slo", "p99<=1s", "--price", "-1/h"),
            "benchctl analyze: error: argument --price: a price cannot be negative "
            "(e.g. 2.48/h), got '-1/h' (see `benchctl analyze --help`)",
        ),
        (
            ("analyze", "x", "--slo", "p99<=1s", "--cold-start", "-5s"),
            "benchctl analyze: error: argument --cold-start: '-5s': a duration cannot be "
            "negative (see `benchctl analyze --help`)",
        ),
    ],
)
def test_negative_values_reach_their_check(tmp_path: Path, args: tuple, line: str) -> None:
    """argparse read '-3s' as a flag: 'expected one argument' (F14)."""
    assert refused(benchctl(*args, cwd=tmp_path)) == line
