"""Service demand with load-independent background (trial-5 finding 4): U = U0 + D x X.

A capacity search on Triton printed "no more than 76.3 rps (service demand: 21.86 ms per
request)" from one 10 req/s level, while the same server served 191 rps: Triton's
Python-backend stub keeps about half a core busy at any rate, and the windows of one level
differ only by arrival noise, so their slope is noise and their U / X is mostly background.
"""

from __future__ import annotations

import pandas as pd
import pytest

from benchctl.analysis.bounds import Level, capacity_bound
from benchctl.analysis.service_demand import demand_notes, service_demand

HOST = {"host": {"cpus": 2}}


def _search_run(rates: list[float], busy_cores: list[float], windows_per_level: int = 3):
    """Windows of 5 s, ``windows_per_level`` inside each level; level i runs from
    15 i s to 15 (i + 1) s (search.json start / decided_at), at rates[i] with busy_cores[i]."""
    rows, levels = [], []
    span = 5.0 * windows_per_level
    for i, (rate, busy) in enumerate(zip(rates, busy_cores, strict=True)):
        start = span * i
        levels.append({"name": f"level{i + 1}", "start": start, "decided_at": start + span})
        for k in range(windows_per_level):
            rows.append(
                {"t": start + 5.0 * k, "throughput_rps": rate, "server_cpu_percent": busy * 100}
            )
    return pd.DataFrame(rows), {"levels": levels}


def test_demand_is_the_slope_across_levels_and_background_is_left_out():
    """U = 0.95 + 0.002 X cores at levels X = 10, 50, 100 req/s (U = 0.97, 1.05, 1.15): the
    slope is D = 0.002 core-s = 2 ms per request, the intercept 0.95 core is background, and a
    2-core host saturates at (2 - 0.95) / 0.002 = 525 req/s. (U / X at 10 req/s, the old
    per-request reading, would be 0.97 / 10 = 97 ms and a ceiling of 2 / 0.097 = 20.6 req/s,
    below the 100 req/s served.)"""
    rates = [10.0, 50.0, 100.0]
    windows, search = _search_run(rates, [0.95 + 0.002 * x for x in rates])
    found = service_demand(windows, HOST, search)
    cpu = found["server_cpu"]
    assert cpu["ms_per_request"] == pytest.approx(2.0)
    assert cpu["background"] == pytest.approx(0.95)
    assert cpu["saturates_at_rps"] == pytest.approx(525.0)
    assert cpu["levels"] == 3 and found["saturates_first"] == "server_cpu"
    assert "notes" not in found


def test_one_level_gives_no_ceiling_only_an_upper_bound_on_the_demand():
    """The trial's run: one level at 10 req/s with the server at 0.53 core (Triton's stub
    polling). U = U0 + D x X is one equation in two unknowns there: D <= U / X = 0.53 / 10 =
    53 ms, and no throughput ceiling follows (the old fit of the level's windows said 76.3 rps).
    The capacity band then has no service-demand upper end."""
    windows, search = _search_run([10.0], [0.53], windows_per_level=5)
    windows.loc[windows.index[::2], "throughput_rps"] = 12.0  # arrival noise inside the level
    windows.loc[windows.index[1::2], "throughput_rps"] = 7.0  # mean (3 x 12 + 2 x 7) / 5 = 10
    found = service_demand(windows, HOST, search)
    cpu = found["server_cpu"]
    assert cpu["saturates_at_rps"] is None and cpu["ms_per_request"] is None
    assert cpu["ms_per_request_at_most"] == pytest.approx(53.0)
    assert "saturates_first" not in found
    (note,) = demand_notes(found)
    assert "one load level (10.0 rps)" in note and "cannot be separated from background" in note
    level = Level("level1@10rps", 10.0, 10.0, 10.0, True)
    bound = capacity_bound([level], 20.0, demand_upper_rps=None)
    assert bound is not None and bound.band == (10.0, 10.0) and bound.upper_source == "none"


def test_ceiling_below_a_served_throughput_is_dropped_with_the_reason():
    """Windows at X = 10, 20, 30 req/s with U = 1.2, 1.7, 2.2 cores on a host whose run.json
    says 2 cores: D = 0.5 / 10 = 50 ms, U0 = 0.7, ceiling (2 - 0.7) / 0.05 = 26 req/s, below
    the 30 req/s the run served: the model does not describe this server, so no ceiling."""
    windows = pd.DataFrame(
        {"throughput_rps": [10.0, 20.0, 30.0], "server_cpu_percent": [120.0, 170.0, 220.0]}
    )
    found = service_demand(windows, HOST)
    cpu = found["server_cpu"]
    assert cpu["ms_per_request"] == pytest.approx(50.0)
    assert cpu["saturates_at_rps"] is None and "saturates_first" not in found
    assert "26.0 rps, below the 30.0 rps this run served" in cpu["no_ceiling"]


def test_no_background_keeps_the_utilization_law_numbers():
    """No background (U0 = 0): U = 0.005 X at levels 20 and 80 req/s (0.1 and 0.4 core): D =
    5 ms, ceiling 2 / 0.005 = 400 req/s, as U = X D alone gives (an M/M/1 server's numbers do
    not change)."""
    windows, search = _search_run([20.0, 80.0], [0.1, 0.4])
    cpu = service_demand(windows, HOST, search)["server_cpu"]
    assert cpu["ms_per_request"] == pytest.approx(5.0)
    assert cpu["background"] == pytest.approx(0.0, abs=1e-12)
    assert cpu["saturates_at_rps"] == pytest.approx(400.0)


def test_a_damaged_notes_field_reads_as_none():
    assert demand_notes({"notes": "x"}) == [] and demand_notes(None) == []
