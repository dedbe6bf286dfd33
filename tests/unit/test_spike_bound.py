"""Burst advice on a capacity that is only a lower bound (trial 5, finding 3): a violation
that exists only in the simulation, beyond the measured range, is said as an extrapolation,
never as a measured one."""

from __future__ import annotations

import json
import math
from pathlib import Path

from benchctl.analysis.autoscaler_simulation import (
    HpaPolicy,
    ReplicaModel,
    Traffic,
    simulate_hpa,
    spike_advice,
)
from benchctl.analysis.autoscaling_choice import needs_prescale
from tests.unit.run_files import SPIKE_SPEC, burst_traffic, installed_benchctl, set_scenario
from tests.unit.test_analyze import mm1_step_run


def _bursts() -> tuple[Traffic, ReplicaModel]:
    """100 rps with a 60 s burst to 640 rps every 10 minutes (the first at 300 s); one
    replica: 50 ms up to 120 rps, capacity 100 rps, 60 s cold start."""

    def latency_ms(rate: float) -> float:
        return 50.0 if rate < 120.0 else math.inf

    model = ReplicaModel(100.0, 120.0, latency_ms, cold_start_s=60.0, slo_ms=100.0)
    return burst_traffic(), model


def test_a_lower_bound_capacity_makes_the_violation_an_extrapolation():
    """The same simulation read two ways. Min replicas: ceil(640 / 100) = 7 in both."""
    traffic, model = _bursts()
    result = simulate_hpa(traffic, model, HpaPolicy(1, 10, "rps_per_replica", 100))
    measured = spike_advice(traffic, model, result)
    bound = spike_advice(traffic, model, result, capacity_is_bound=True)
    assert measured.startswith("Reactive HPA scaling cannot keep up: the first burst violated")
    seconds = measured.split("violated the SLO for ")[1].split(" s;")[0]
    assert float(seconds) > 0
    assert bound.startswith("Reactive HPA scaling may not keep up, by extrapolation")
    assert "cannot keep up" not in bound and "violated the SLO" not in bound
    assert f"would the first burst break the SLO for {seconds} s (not a measured violation)" in (
        bound
    )
    assert "assumes one replica serves at most 100.0 rps" in bound
    assert "If a replica carries no more than 100.0 rps, set min replicas to 7 " in bound
    assert needs_prescale(measured) and needs_prescale(bound)
    assert not needs_prescale("Reactive HPA scaling keeps up: the first burst met the SLO")


def test_installed_benchctl_says_an_unmeasured_violation_is_an_extrapolation(tmp_path: Path):
    """An M/M/1 server (mu 200) measured at 40..180 rps with a spike scenario's traffic
    (bursts to 5x): under p99 <= 1000 ms the SLO never breaks, so capacity is a lower
    bound and the burst advice must not claim a measured violation; under p99 <= 100 ms
    (broken at 160 rps) the capacity is measured and the advice may say so."""
    run_dir = mm1_step_run(tmp_path)
    set_scenario(run_dir, {"name": "spike", "time_scale": 0.1, "spec": SPIKE_SPEC})
    loose = installed_benchctl(
        "analyze", "run", "--slo", "p99<=1000ms", "--peak-rps", "1000", cwd=tmp_path
    )
    assert loose.returncode == 0, loose.stderr
    doc = json.loads((run_dir / "capacity.json").read_text())
    assert doc["single_replica"]["bound"] == "lower"
    advice = doc["autoscaling"]["spike_advice"]
    assert "cannot keep up" not in advice and "violated the SLO" not in advice
    assert advice.startswith("Reactive HPA scaling may not keep up, by extrapolation")
    spike_line = next(line for line in loose.stdout.splitlines() if line.startswith("Spike:"))
    assert "not a measured violation" in spike_line
    cron = doc["autoscaling"].get("cron_prescale")
    if cron:
        assert "a lower bound: an extrapolation" in cron["text"]
    tight = installed_benchctl(
        "analyze", "run", "--slo", "p99<=100ms", "--peak-rps", "1000", cwd=tmp_path
    )
    assert tight.returncode == 0, tight.stderr
    doc = json.loads((run_dir / "capacity.json").read_text())
    assert doc["single_replica"]["bound"] != "lower"
    assert "by extrapolation" not in (doc["autoscaling"].get("spike_advice") or "")
