"""The driver's wake-up lead follows the waker's lateness (load/lead.py)."""

from __future__ import annotations

import numpy as np
import pytest

from benchctl.load.lead import LEAD_CAP_S, LEAD_FLOOR_S, SpinLead


def test_tracks_the_80th_percentile_of_a_known_lateness() -> None:
    """Lateness uniform on [0, 0.5 ms]: its 80th percentile is 0.4 ms (known answer)."""
    lateness = np.random.default_rng(7).uniform(0.0, 0.5e-3, 20_000)
    lead = SpinLead()
    for late in lateness:
        lead.observe(float(late))
    assert lead.estimate_s == pytest.approx(0.4e-3, abs=0.02e-3)
    assert lead.lead(gap_s=5e-3) == pytest.approx(0.4e-3, abs=0.02e-3)  # 200 req/s


def test_lead_is_bounded_by_floor_cap_and_a_quarter_of_the_gap() -> None:
    lead = SpinLead()
    assert lead.lead(gap_s=1.0) == LEAD_FLOOR_S  # nothing observed yet: the floor
    for _ in range(5_000):
        lead.observe(0.1)  # wake-ups 100 ms late (a stalled machine)
    assert lead.lead(gap_s=1.0) == LEAD_CAP_S  # never more than 1 ms of spinning
    assert lead.lead(gap_s=1e-3) == pytest.approx(0.25e-3)  # 1,000 req/s: a quarter gap
    assert lead.lead(gap_s=0.0) == 0.0  # arrivals at the same instant: no spin


def test_follows_a_change_in_lateness_and_ignores_non_finite() -> None:
    lead = SpinLead()
    for _ in range(3_000):
        lead.observe(0.6e-3)
    assert lead.estimate_s == pytest.approx(0.6e-3, abs=0.01e-3)
    for _ in range(3_000):
        lead.observe(0.0)  # the loop warmed up: wake-ups on time
    assert lead.lead(gap_s=1.0) == LEAD_FLOOR_S
    before = lead.estimate_s
    lead.observe(float("nan"))
    lead.observe(float("inf"))
    assert lead.estimate_s == before
