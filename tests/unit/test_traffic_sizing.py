"""``analyze --traffic``: its peak is the sizing peak, with the same headroom and headline
as ``run --slo`` (trial 7, F13); a scenario with no open-loop traffic of its own is refused
(F18). Run as a user runs it: the installed ``benchctl`` from a fresh folder."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from tests.unit.run_files import installed_benchctl
from tests.unit.test_analyze import mm1_step_run

# The built-in spike scenario: base_rate 40 x burst_multiplier 5 = 200 rps, held a minute.
SPIKE_PEAK = 200


def test_traffic_peak_is_the_sizing_peak_with_headroom(tmp_path: Path):
    """A step run (its own peak 180 rps) analysed with --traffic spike is sized for the
    spike's 200 rps peak: the headline names it, the count keeps the 20% headroom
    (at least ceil(200 / (capacity x 0.8))), and the simulated traffic peaks there too."""
    run_dir = mm1_step_run(tmp_path)
    done = installed_benchctl(
        "analyze", run_dir.name, "--slo", "p99<=50ms", "--traffic", "spike", cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    doc = json.loads((run_dir / "capacity.json").read_text())
    assert doc["peak_rps"] == SPIKE_PEAK
    count = doc["replicas"]["recommended"]
    assert count >= math.ceil(SPIKE_PEAK / (doc["capacity_rps"] * 0.8))
    out = " ".join(done.stdout.split())
    assert f"For a peak of {SPIKE_PEAK} rps: {count} replicas" in out
    assert doc["autoscaling"]["traffic"]["peak_rps"] == SPIKE_PEAK  # the same peak simulated


@pytest.mark.parametrize("kind", ["capacity", "sweep", "batch"])
def test_traffic_without_open_loop_traffic_is_refused(tmp_path: Path, kind: str):
    """One stderr line naming --traffic, the scenario's kind and the allowed kinds; exit 2;
    nothing written."""
    run_dir = mm1_step_run(tmp_path)
    done = installed_benchctl(
        "analyze", run_dir.name, "--slo", "p99<=50ms", "--traffic", kind, cwd=tmp_path
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert (
        f"argument --traffic: scenario '{kind}' is a {kind} scenario, with no open-loop"
        in (lines[0])
    )
    assert "steady, ramp, step, spike, soak, replay" in lines[0]
    assert not (run_dir / "capacity.json").exists()
