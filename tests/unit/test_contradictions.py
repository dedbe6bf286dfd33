"""The capacity answer checked against its own run (hand-computed known answers)."""

import pandas as pd

from benchctl.analysis.contradictions import busy_host, traffic_contradictions
from benchctl.analysis.slo import parse_slo

SLO = parse_slo("p99<=100ms")


def _phase(offered: float, p99: float, ok: int = 500) -> dict:
    return {"offered_rps": offered, "ok": ok, "latency_ms": {"p99": p99}}


def test_burst_below_capacity_that_broke_the_slo_is_named() -> None:
    """The fresh user's spike: burst offered 208.8 rps (<= 639.3) with p99 995 ms > 100 ms."""
    phases = {
        "warmup": _phase(35.0, 500.0),  # warm-up never counts
        "base": _phase(40.2, 38.3),  # met the SLO
        "burst": _phase(208.8, 995.0),
    }
    found = traffic_contradictions(phases, 639.3, SLO)
    assert len(found) == 1
    assert "phase 'burst' offered 208.8 rps" in found[0]
    assert "639.3 rps" in found[0] and "995 ms" in found[0]


def test_phase_above_capacity_or_too_few_samples_is_no_contradiction() -> None:
    """Above capacity a broken SLO is expected; p99 needs ceil(2 / 0.01) = 200 successes."""
    phases = {"over": _phase(700.0, 995.0), "short": _phase(100.0, 995.0, ok=199)}
    assert traffic_contradictions(phases, 639.3, SLO) == []
    assert traffic_contradictions({"burst": _phase(208.8, 995.0)}, None, SLO) == []


def test_busy_host_counts_other_processes_cores() -> None:
    """Host 97% of 2 cores = 1.94 cores; server 0.41 + generator 0.04 -> others 1.49 cores
    >= 0.25 x 2 = 0.5: warned."""
    windows = pd.DataFrame(
        {
            "host_cpu_percent": [97.0] * 4,
            "server_cpu_percent": [41.0] * 4,
            "generator_cpu_percent": [4.0] * 4,
        }
    )
    text = busy_host(windows, 2)
    assert text is not None and "about 1.49 cores" in text and "97% of 2 cores" in text


def test_host_busy_with_our_own_server_is_not_a_busy_host() -> None:
    """Host 95% of 2 cores = 1.9 cores; server 1.6 + generator 0.2 -> others 0.1 < 0.5;
    and a host at 50% is never busy."""
    ours = pd.DataFrame(
        {"host_cpu_percent": [95.0], "server_cpu_percent": [160.0], "generator_cpu_percent": [20.0]}
    )
    assert busy_host(ours, 2) is None
    quiet = pd.DataFrame({"host_cpu_percent": [50.0], "server_cpu_percent": [1.0]})
    assert busy_host(quiet, 2) is None
