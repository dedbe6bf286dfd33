"""The batched analysis paths through the installed ``benchctl``, from a fresh directory with
default options: two synthetic M/M/1 step runs (benchmarks/synthetic_run.py, the generator
of the scale benchmark, small here) without summary.json, so report and compare compute it
from requests.parquet in batches (issue 16)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from benchmarks.synthetic_run import known_capacity, write_step_run

from tests.e2e.helpers import benchctl

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cwd = tmp_path_factory.mktemp("scale")
    for name, seed in (("a", 1), ("b", 2)):
        write_step_run(
            cwd / "runs" / f"2026-01-0{seed}T000000-step-{name}", rows=150_000, seed=seed
        )
    return cwd


def test_analyze_finds_the_known_capacity_of_an_mm1_server(runs: Path) -> None:
    """mu = 1000 req/s, levels 250..950 req/s, SLO p99 <= 20 ms: one replica sustains
    1000 + ln(0.01)/0.020 = 769.74 req/s, between the 650 and 800 req/s levels."""
    done = benchctl("analyze", "runs/2026-01-01T000000-step-a", "--slo", "p99<=20ms", cwd=runs)
    assert done.returncode == 0, done.output()
    document = json.loads((runs / "runs/2026-01-01T000000-step-a/capacity.json").read_text())
    exact = known_capacity(1000.0, 0.99, 20.0)
    low, high = document["capacity_band_rps"]
    assert document["bound"] == "measured"
    assert low <= exact <= high
    assert document["capacity_rps"] == pytest.approx(exact, rel=0.01)  # the goal: 1%
    assert document["points"]["source"] == "levels" and len(document["points"]["labels"]) == 6


def test_report_compare_gate_and_history_on_runs_without_a_summary(runs: Path) -> None:
    """Same server, other seed: the gate passes (exit 0); report and compare compute the
    missing summary from requests.parquet and say so, history lists both runs."""
    a, b = "runs/2026-01-01T000000-step-a", "runs/2026-01-02T000000-step-b"
    report = benchctl("report", a, cwd=runs)
    assert report.returncode == 0, report.output()
    page = (runs / a / "report.html").read_text()
    assert "summary.json is absent: the numbers below were computed from requests.parquet" in page
    compare = benchctl("compare", a, b, cwd=runs)
    assert compare.returncode == 0, compare.output()
    page = f"compare-{Path(a).name}_vs_{Path(b).name}.html"  # into the last run, not ./
    assert (runs / b / page).is_file() and not (runs / "compare.html").exists()
    rules = str(REPO / "examples" / "gate.yaml")
    gate = benchctl("gate", "--baseline", b, "--candidate", a, "--rules", rules, cwd=runs)
    assert gate.returncode == 0, gate.output()
    history = benchctl("history", "runs", cwd=runs)
    assert history.returncode == 0, history.output()
    assert "step-a" in history.stdout and "step-b" in history.stdout
