"""`benchctl analyze` and `benchctl report` on a spike run whose latency fit is a step at
the window that broke the SLO (fresh-user trial 5, finding 1: "One replica sustains 147.6
rps", the rate that broke p99<=20ms), as a user runs them: installed executable, fresh
directory, relative runs/. The run is tests/unit/test_fit_trust.spike_run (by-hand values
in its docstrings)."""

from __future__ import annotations

import html
import json
from pathlib import Path

from tests.e2e.helpers import analyze_copy, benchctl
from tests.unit.test_fit_trust import spike_run


def test_analyze_answers_with_the_best_window_not_the_step_fit(tmp_path: Path) -> None:
    """Windows at 45-55 req/s met p99<=20ms, the burst window (140.0 req/s) broke it; the
    fit is a step there. The answer is the best window that met the SLO (at most 55.2),
    said with why; no "Saturates near 140.0" (the burst phase served 600 requests within
    3.03 s: 198.0 req/s), said as a bound; no numpy warning; the report's tile agrees."""
    done, run = analyze_copy(
        spike_run, tmp_path, "spike", "--slo", "p99<=20ms", "--peak-rps", "200", timeout=120
    )
    assert done.returncode == 0, done.output()
    doc = json.loads((run / "capacity.json").read_text())
    points = doc["points"]
    good = [
        x
        for x, ms in zip(points["throughput_rps"], points["latency_ms"], strict=True)
        if ms <= 20.0
    ]
    best = max(good)
    assert best <= 55.2 and doc["capacity_rps"] == best
    assert doc["capacity_source"] == "best_good_level"
    text = " ".join(done.stdout.split())
    assert (
        f"One replica sustains {best:.1f} rps under p99<=20ms (measured: the SLO crossing lies "
        f"between {best:.1f} rps, which met it, and 140.0 rps, which broke it: throughputs "
        "served in windows)."
    ) in text, done.output()
    assert "The fitted curve (crossing the SLO at 140.0 rps) is not used:" in text
    assert "it is a step at 140.0 rps, not a measured curve" in text
    assert "sustains 140.0 rps" not in text and "offered rates" not in text
    assert "Saturates near" not in text
    assert "Saturation: above 198.0 rps, the most the run served (its burst phase)" in text
    assert "Warning" not in done.stderr, done.output()
    shown = benchctl("report", "runs/spike", cwd=tmp_path, timeout=120)
    assert shown.returncode == 0, shown.output()
    page = html.unescape((run / "report.html").read_text())
    assert f"One replica sustains {best:.1f} rps under p99<=20ms" in page
    assert "the best level measured to meet it (see the answer)" in page
    assert "Saturation: above 198.0 rps" in page


def test_analyze_bounds_saturation_when_the_burst_met_the_slo(tmp_path: Path) -> None:
    """Trial 6 (Triton spike): every window met p99<=20ms (the burst's requests take 14 ms):
    at least what the burst phase served within it, 600 / 3.014 s = 199.1 req/s (more than
    the burst window's 700 / 5 s = 140.0). No "extrapolates" line (the fit is a distrusted
    step); saturation is at least the same 199.1 req/s, written to capacity.json and said;
    no number above 1e300 anywhere in capacity.json."""
    done, run = analyze_copy(
        lambda root: spike_run(root, burst_ms=14.0),
        tmp_path,
        "spike",
        "--slo",
        "p99<=20ms",
        "--peak-rps",
        "200",
        timeout=120,
    )
    assert done.returncode == 0, done.output()
    raw = (run / "capacity.json").read_text()
    doc = json.loads(raw)
    single = doc["single_replica"]
    assert (doc["bound"], round(doc["capacity_rps"], 2)) == ("lower", 199.07)
    assert doc["extrapolated"] is None
    assert round(single["saturation_at_least_rps"], 1) == 199.1
    assert "e+30" not in raw
    text = " ".join(done.stdout.split())
    assert "One replica sustains at least 199.1 rps under p99<=20ms" in text, done.output()
    assert "its burst phase served 199.1 rps within it (the best window: 140.0 rps)" in text
    assert "extrapolates" not in text
    assert "Saturation: above 199.1 rps, the most the run served (its burst phase)" in text
