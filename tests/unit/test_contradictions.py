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


def test_phase_after_an_overload_is_not_blamed_on_the_capacity():
    """The demo: capacity 61.2 rps, the plan goes 40 rps (base, 2-30 s) -> 200 rps (rise at
    30 s, burst) -> 40 rps (base again, 38-60 s). 'base' (p99 4,240 ms) has a segment ending
    after 30 s, when the rate first exceeded 61.2: the burst's backlog, not a contradiction.
    Without the plan it would be one."""
    plan = {
        "curve": [[0.0, 40.0], [30.0, 40.0], [30.5, 120.0], [31.0, 200.0], [38.0, 40.0]],
        "phases": [
            {"name": "base", "start": 2.0, "end": 30.0},
            {"name": "rise", "start": 30.0, "end": 31.0},
            {"name": "burst", "start": 31.0, "end": 37.0},
            {"name": "base", "start": 38.0, "end": 60.0},
        ],
    }
    phases = {"base": _phase(40.2, 4240.0)}
    assert traffic_contradictions(phases, 61.2, SLO, plan) == []
    assert len(traffic_contradictions(phases, 61.2, SLO)) == 1


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


def test_damaged_summary_values_are_not_judged_and_do_not_crash() -> None:
    """A summary.json holding text, null, NaN, a list or a bool where a number belongs (a
    damaged file): those phases are skipped; the one well-formed phase is still judged."""
    phases = {
        "text": {"offered_rps": "208", "ok": 500, "latency_ms": {"p99": 995.0}},
        "null": {"offered_rps": None, "ok": 500, "latency_ms": {"p99": 995.0}},
        "nan": {"offered_rps": float("nan"), "ok": 500, "latency_ms": {"p99": 995.0}},
        "list_latency": {"offered_rps": 100.0, "ok": 500, "latency_ms": [995.0]},
        "text_ok": {"offered_rps": 100.0, "ok": "500", "latency_ms": {"p99": 995.0}},
        "bool_p99": {"offered_rps": 100.0, "ok": 500, "latency_ms": {"p99": True}},
        "burst": _phase(208.8, 995.0),
    }
    found = traffic_contradictions(phases, 639.3, SLO)
    assert len(found) == 1 and "phase 'burst'" in found[0]
