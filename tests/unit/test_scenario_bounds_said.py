"""Scenario fields that contradict each other are refused with their values (trial 8):
``run capacity --set start_rate=100 --set max_rate=10`` ran (exit 0) with the first level
silently cut to 10 req/s, and a spike burst that did not fit its period said only "must fit
within period". The installed ``benchctl`` from a fresh folder, ``--dry-run`` (the same
check as a run: the scenario is loaded first)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from benchctl.config import CapacityScenario, SpikeScenario
from tests.unit.run_files import installed_benchctl


def _refused(tmp_path: Path, *args: str) -> str:
    done = installed_benchctl("run", *args, "--target", "kserve", "--dry-run", cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    return done.stderr


def test_a_start_rate_above_max_rate_is_refused(tmp_path: Path) -> None:
    """start_rate 100 > max_rate 10: exit 2 naming both values and the flags that set them;
    --rate sets a capacity search's start_rate, so --rate 6000 over the built-in max_rate
    5000 is refused the same way. start_rate == max_rate (one level) stays allowed."""
    slo = ("--slo", "p99<=100ms")
    sets = ("--set", "start_rate=100", "--set", "max_rate=10")
    err = _refused(tmp_path, "capacity", *slo, *sets)
    assert "(with --set max_rate, --set start_rate): start_rate 100 is above max_rate 10" in err
    err = _refused(tmp_path, "capacity", *slo, "--rate", "6000")
    assert "(with --rate): start_rate 6000 is above max_rate 5000" in err
    CapacityScenario(kind="capacity", start_rate=40, max_rate=40)
    with pytest.raises(ValidationError, match=r"start_rate 40 is above max_rate 39\.5"):
        CapacityScenario(kind="capacity", start_rate=40, max_rate=39.5)


def test_a_burst_that_does_not_fit_its_period_gives_the_values(tmp_path: Path) -> None:
    """The built-in spike (period 10m, rise_time 10s, burst_length 1m, fall_time = rise_time
    10s) with burst_at 20m: 1200 + 10 + 60 + 10 = 1280 s = 21m20s > 600 s. A 9 s period
    without burst_at (half the period, 4.5 s), rise 1 s, burst 4 s, fall = rise:
    4.5 + 1 + 4 + 1 = 10.5 s > 9 s."""
    err = _refused(tmp_path, "spike", "--set", "burst_at=20m")
    assert (
        "(with --set burst_at): burst_at + rise_time + burst_length + fall_time must fit "
        "within period: 20m + 10s + 1m + 10s = 21m20s > period 10m"
    ) in err
    with pytest.raises(ValidationError, match=r"4\.5s \+ 1s \+ 4s \+ 1s = 10\.5s > period 9s "):
        SpikeScenario(
            kind="spike", base_rate=1, burst_multiplier=2, period=9, rise_time=1, burst_length=4
        )
