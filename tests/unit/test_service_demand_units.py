"""The demand law's ceiling counts the cores the server can use and is dropped when a
measured saturation lies far below it (trial 7, F2: "server_cpu 4.93 ms per request: at
most 401.7 req/s with all 2 units busy" for one KServe worker that used 0.32 cores when it
fell short of its arrivals at 62 rps)."""

from __future__ import annotations

import pytest

from benchctl.analysis.service_demand import service_demand
from tests.unit.test_service_demand_background import _search_run

RATES = [10.0, 30.0, 62.0]
BUSY = [0.02 + 0.005 * x for x in RATES]  # U = 0.02 + 5 ms × X cores: 0.07, 0.17, 0.33


def _info(server: str) -> dict:
    return {"host": {"cpus": 2}, "target": {"spec": {"launch": {"server": server, "workers": 1}}}}


def _levels(short: bool) -> tuple:
    windows, search = _search_run(RATES, BUSY)
    for level, rate in zip(search["levels"], RATES, strict=True):
        level["achieved_rps"] = rate
        level["arrived_rps"] = rate
    if short:  # the last level served 62.0 of 77.5 arrived: 80% < 90%, saturated
        search["levels"][-1]["arrived_rps"] = 77.5
    return windows, search


def test_one_python_worker_uses_one_core():
    """Launched KServe with 1 worker on a 2-core host: C = 1, ceiling (1 - 0.02) / 0.005 =
    196 rps (not (2 - 0.02) / 0.005 = 396); Triton (multi-threaded) keeps the host's 2."""
    windows, search = _levels(short=False)
    cpu = service_demand(windows, _info("kserve"), search)["server_cpu"]
    assert cpu["capacity_units"] == 1.0
    assert cpu["saturates_at_rps"] == pytest.approx(196.0)
    assert cpu["units_basis"].startswith("its 1 KServe worker process")
    triton = service_demand(windows, _info("triton"), search)["server_cpu"]
    assert triton["saturates_at_rps"] == pytest.approx(396.0)


def test_a_measured_saturation_far_below_the_law_drops_the_ceiling():
    """The last level saturated at 62.0 rps with 0.33 cores busy: 196 > 2 × 62 = 124, so
    the law does not explain it: no ceiling, no 'saturates_first', the law's 196 kept."""
    windows, search = _levels(short=True)
    found = service_demand(windows, _info("kserve"), search)
    cpu = found["server_cpu"]
    assert cpu["saturates_at_rps"] is None and "saturates_first" not in found
    assert cpu["law_bound_rps"] == pytest.approx(196.0)
    assert (
        "measurably saturated at 62.0 rps (level3: it served less than arrived) with 0.33"
        in (cpu["no_ceiling"])
    )
    assert "the law does not explain the saturation" in found["notes"][0]
