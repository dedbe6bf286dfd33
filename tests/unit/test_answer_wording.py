"""Wording of the sizing answer's lines (trial 6, minor): a count of one is singular, and
the burst advice is headed by the scenario simulated, not "Spike:" for a replayed trace."""

from __future__ import annotations

import numpy as np

from benchctl.analysis.autoscaler_simulation import _reason
from benchctl.analysis.autoscaling_section import advice_heading
from benchctl.analysis.scaling_model import SimResult


def test_advice_heading_names_the_scenario() -> None:
    assert advice_heading("spike") == "Spike"
    assert advice_heading("replay") == "Bursts in replay"
    assert advice_heading("step") == "Bursts in step"


def _result(max_replicas: int) -> SimResult:
    """A simulation that met the SLO with 7,200 replica-seconds (2.00 replica-hours)."""
    empty = np.zeros(1)
    return SimResult(
        kind="hpa",
        control_period_s=15.0,
        dt=1.0,
        t=empty,
        offered=empty,
        desired=empty,
        replicas=empty,
        ready=empty,
        served=empty,
        dropped=empty,
        latency_ms=empty,
        violated=np.zeros(1, dtype=bool),
        panic=np.zeros(1, dtype=bool),
        slo_violation_seconds=0.0,
        late_or_dropped_requests=0.0,
        replica_seconds=7200.0,
        cost=0.0,
        max_replicas=max_replicas,
    )


def test_peak_of_one_replica_is_singular() -> None:
    one, three = _result(1), _result(3)
    assert _reason(one, one, chosen=True) == (
        "chosen: cheapest candidate that meets the SLO; 2.00 replica-hours, peak 1 replica"
    )
    assert _reason(three, three, chosen=True).endswith("peak 3 replicas")
