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


def test_windows_at_one_rate_with_varying_background_give_no_ceiling():
    """The trial's Triton level read as plain windows (no search): throughputs 6.4, 11.4, 9.0,
    10.0, 12.6, 4.6 req/s (arrival noise and a partial last window, span 2.7x) with the server
    at 0.330, 0.546, 0.534, 0.612, 0.628, 0.528 core. Least squares: slope 21.86 ms (the old
    "no more than 76.3 rps"), but its 95% interval (t with 4 degrees of freedom, 2.776 x the
    standard error) includes 0: no ceiling."""
    windows = pd.DataFrame(
        {
            "throughput_rps": [6.4, 11.4, 9.0, 10.0, 12.6, 4.6],
            "server_cpu_percent": [33.0, 54.6, 53.4, 61.2, 62.8, 52.8],
        }
    )
    found = service_demand(windows, HOST)
    cpu = found["server_cpu"]
    assert cpu["ms_per_request"] == pytest.approx(21.86, abs=0.01)
    assert cpu["saturates_at_rps"] is None and "saturates_first" not in found
    assert "does not rise measurably with throughput" in cpu["no_ceiling"]


def test_windows_with_small_noise_keep_their_ceiling():
    """X = 10, 20, 30, 40 req/s, U = 0.151, 0.199, 0.251, 0.299 core (0.1 + 0.005 X, +/- 1
    millicore): Sxx = 500, Sxy = 2.48, slope 0.00496 (4.96 ms), intercept 0.225 - 0.00496 x 25
    = 0.101, ceiling (2 - 0.101) / 0.00496 = 382.9 req/s; the slope is far from 0 (interval
    +/- 0.25 ms), so the ceiling stands."""
    windows = pd.DataFrame(
        {"throughput_rps": [10.0, 20.0, 30.0, 40.0], "server_cpu_percent": [15.1, 19.9, 25.1, 29.9]}
    )
    cpu = service_demand(windows, HOST)["server_cpu"]
    assert cpu["ms_per_request"] == pytest.approx(4.96)
    assert cpu["saturates_at_rps"] == pytest.approx(1.899 / 0.00496)
