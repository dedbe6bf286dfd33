"""make demo (trial 8): "server_cpu service demand: 9.04 ms per request; upper bound 111.1
rps" from a fit whose background was -0.004 cores, on a KServe whose 1 worker serves one 10
ms request at a time (at most 100 rps) and saturated near 74 rps. A negative background is
refit through 0, and the ceiling is called loose, with the launched server's wall-clock
bound beside it."""

from __future__ import annotations

import pandas as pd
import pytest

from benchctl.analysis.demand_bound import demand_sentence, through_origin, wall_bound
from benchctl.analysis.service_demand import service_demand


def _info(**launch: object) -> dict:
    spec = {"kind": "kserve", "launch": {"server": "kserve", "workers": 1, **launch}}
    return {"host": {"cpus": 2}, "target": {"spec": spec}}


def _levels() -> tuple[pd.DataFrame, dict]:
    """Three search levels of three 1 s windows at 10, 20 and 40 req/s, busy 0.05, 0.15 and
    0.35 cores: U = 0.01 X - 0.05 exactly, a background of -0.05 cores."""
    rows = []
    for i, (rate, busy) in enumerate([(10.0, 0.05), (20.0, 0.15), (40.0, 0.35)]):
        rows += [
            {"t": 3.0 * i + k, "throughput_rps": rate, "server_cpu_percent": busy * 100}
            for k in range(3)
        ]
    levels = [{"name": f"l{i}", "start": 3.0 * i, "decided_at": 3.0 * i + 3} for i in range(3)]
    return pd.DataFrame(rows), {"levels": levels}


def test_a_negative_background_is_refit_through_zero():
    """D = sum(X U) / sum(X^2) = (10 x 0.05 + 20 x 0.15 + 40 x 0.35) / (100 + 400 + 1600)
    = 17.5 / 2100 s = 8.333 ms; 1 worker (1 core): ceiling 1 / 0.008333 = 120.0 req/s (the
    free fit's (1 + 0.05) / 0.01 = 105 rested on an impossible background). Launched with
    cost_ms 10 and 1 worker: wall-clock bound 1 x 1000 / 10 = 100.0 req/s."""
    windows, search = _levels()
    cpu = service_demand(windows, _info(cost_ms=10.0), search)["server_cpu"]
    assert cpu["background"] == 0.0 and cpu["background_clamped"] is True
    assert cpu["ms_per_request"] == pytest.approx(1000 * 17.5 / 2100)
    assert cpu["saturates_at_rps"] == pytest.approx(120.0)
    assert cpu["wall_bound_rps"] == 100.0
    slope, r2 = through_origin(windows["throughput_rps"], windows["server_cpu_percent"] / 100)
    assert slope == pytest.approx(17.5 / 2100) and r2 < 1.0


def test_no_wall_bound_with_batching_a_cache_or_no_cost():
    """A batch or a cache hit spends cost_ms on many requests or none: no bound."""
    assert wall_bound(_info(cost_ms=10.0, max_batch_size=8)) is None
    assert wall_bound(_info(cost_ms=10.0, cache_size=100)) is None
    assert wall_bound(_info(cost_ms=0.0)) is None
    triton = {"target": {"spec": {"kind": "triton", "launch": {"instances": 2, "cost_ms": 8}}}}
    assert wall_bound(triton)["wall_bound_rps"] == 250.0  # 2 x 1000 / 8


def _doc(source: str, saturation: float, **cpu: object) -> dict:
    entry = {"ms_per_request": 9.04, "saturates_at_rps": 111.1, "units_basis": "1 worker"}
    return {
        "service_demand": {"server_cpu": {**entry, **cpu}, "saturates_first": "server_cpu"},
        "single_replica": {"saturation_rps": saturation, "saturation_source": source},
    }


def test_a_ceiling_above_the_measured_saturation_is_loose():
    """111.1 > 1.2 x 74.2 = 89.0 req/s measured at an overloaded level: loose, and the
    wall-clock bound beside it; a fitted saturation (not measured) leaves it an upper bound."""
    doc = _doc("overloaded level", 74.2, wall_bound_rps=100.0, wall_basis="1 x 1000 / 10")
    assert demand_sentence(doc) == (
        "server_cpu service demand: 9.04 ms per request; CPU-time bound 111.1 rps with 1"
        " worker busy, loose: the server saturated near 74.2 rps (measured), so CPU time is"
        " not what limits it; the server's wall-clock bound is 100.0 rps (1 x 1000 / 10)."
    )
    assert demand_sentence(_doc("fit", 81.6)) == (
        "server_cpu service demand: 9.04 ms per request; upper bound 111.1 rps with 1 worker busy."
    )
    busy = demand_sentence(_doc("fit", 81.6, host_others_cores=1.29))
    assert "loose: the host was busy (other processes used about 1.29 cores)" in str(busy)
