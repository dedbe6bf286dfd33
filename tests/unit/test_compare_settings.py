"""``benchctl compare``: a warning naming the target settings that differ (trial 8: two
Triton runs launched with cost_ms 10 and 20), and two runs' different SLO verdicts called
an established difference when their percentile intervals are disjoint on a host alike
busy (trial 8: p99 62 vs 202 ms, both "not established" for a busy host alone)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from benchctl.reports.compare import write_compare
from benchctl.reports.compare_settings import settings_notes
from benchctl.reports.terminal.compare import verdict_lines
from tests.unit.test_gate import make_run


def _launched(cost_ms: float) -> dict:
    launch = {"server": "triton", "cost_ms": cost_ms, "workers": 1}
    spec = {"kind": "triton", "url": f"http://127.0.0.1:{int(cost_ms)}", "launch": launch}
    return {"target": {"name": "triton", "spec": spec}}


def test_settings_notes_name_the_differing_launch_keys() -> None:
    """cost_ms 10 vs 20 differ (the URL, an address, is not a setting); same: no note."""
    notes = settings_notes([_launched(10.0), _launched(20.0)], ["A", "B"])
    assert notes == [
        "the runs' servers were set up differently (B vs A: launch.cost_ms 20.0 vs 10.0): "
        "their differences include these settings' effect, not only the change under test"
    ]
    assert settings_notes([_launched(10.0), _launched(10.0)], ["A", "B"]) == []


def _busy(run: Path, host: float, server: float) -> None:
    """2 cores; telemetry windows after the warm-up at ``host`` % (mean of cores) and
    ``server`` % of one core."""
    info = json.loads((run / "run.json").read_text())
    info["host"] = {**(info.get("host") or {}), "cpus": 2}
    (run / "run.json").write_text(json.dumps(info))
    frame = pd.DataFrame(
        {"t": [10.0 + i for i in range(20)], "host_cpu_percent": [host] * 20,
         "server_cpu_percent": [server] * 20}
    )  # fmt: skip
    frame.to_parquet(run / "telemetry_windows.parquet")


def test_disjoint_intervals_on_alike_busy_hosts_are_an_established_difference(
    tmp_path: Path,
) -> None:
    """A: lognormal latency, median 10 ms, sigma 0.5: p99 about 10 e^(0.5 x 2.326) = 32 ms;
    B the same x 3.3: about 106 ms; 1000 requests each, SLO p99 <= 60 ms: A yes, B no.
    Both hosts busy: others = host % x 2 cores - server cores: A 1.00 x 2 - 0.40 = 1.60,
    B 1.00 x 2 - 0.46 = 1.54 cores, 0.06 apart (< a quarter of 2 cores: alike), so the
    disjoint intervals establish the difference. With B at host 80%, server 100%: others
    1.6 - 1.0 = 0.60 cores (still busy: >= 0.5), 1.00 from A's: the load could explain it,
    and the old line stays."""
    a = make_run(tmp_path, "a", seed=1, requests=1000)
    b = make_run(tmp_path, "b", seed=2, requests=1000, scale=3.3)
    _busy(a, 100.0, 40.0)
    _busy(b, 100.0, 46.0)
    comparison = write_compare([a, b], slo="p99<=60ms", output=tmp_path / "c.html")
    assert [run.slo_met for run in comparison.runs] == [True, False]
    lines = verdict_lines(comparison)
    assert all(run.doubts[0].startswith("busy host") for run in comparison.runs)
    assert lines[-1].startswith("the runs' different verdicts are an established difference")
    assert "other processes 1.60 vs 1.54 of 2 cores" in lines[-1]
    _busy(b, 80.0, 100.0)
    comparison = write_compare([a, b], slo="p99<=60ms", output=tmp_path / "c.html")
    assert verdict_lines(comparison)[-1].startswith(
        "the runs' different verdicts are not an established difference"
    )
