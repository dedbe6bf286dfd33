"""A run's report.html follows its latest analysis: ``benchctl analyze`` rewrites an existing
report from the capacity.json it just wrote (the report never re-runs analysis)."""

from __future__ import annotations

import html
import json
import re
import shutil
from pathlib import Path

from tests.e2e.helpers import benchctl
from tests.unit.test_analyze import mm1_step_run

BIG_LINE = re.compile(r"(\d+) replicas?</span> for a peak of .*? under <code>([^<]*)</code>")


def _headline(report: Path) -> tuple[int, str]:
    """(replicas, SLO) of the report's answer line."""
    found = BIG_LINE.search(report.read_text())
    assert found, report.read_text()[:2000]
    return int(found.group(1)), html.unescape(found.group(2))


def test_analyze_rewrites_the_runs_report_with_the_new_slo_and_replicas(tmp_path: Path):
    """M/M/1 with μ = 200 req/s: p99 = ln(100)/(μ - λ), so p99<=100ms holds up to about
    154 req/s and p99<=50ms up to about 108 req/s; a 600 req/s peak at 20% headroom needs
    600/(0.8·154) → 5 replicas, then 600/(0.8·108) → 7 or more: the answers differ."""
    run_dir = mm1_step_run(tmp_path)
    cwd = tmp_path / "user"
    cwd.mkdir()
    (cwd / "runs").mkdir()
    run_dir = Path(shutil.move(run_dir, cwd / "runs" / "run"))
    relative = "runs/run"

    first = benchctl("analyze", relative, "--slo", "p99<=100ms", "--peak-rps", "600", cwd=cwd)
    assert first.returncode == 0, first.output()
    assert not (run_dir / "report.html").exists()  # analyze writes no report of its own
    made = benchctl("report", relative, cwd=cwd)
    assert made.returncode == 0, made.output()
    replicas_before, slo_before = _headline(run_dir / "report.html")
    assert slo_before == "p99<=100ms"

    second = benchctl("analyze", relative, "--slo", "p99<=50ms", "--peak-rps", "600", cwd=cwd)
    assert second.returncode == 0, second.output()
    assert "runs/run/report.html" in second.stdout, second.output()
    capacity = json.loads((run_dir / "capacity.json").read_text())
    replicas_after, slo_after = _headline(run_dir / "report.html")
    assert slo_after == "p99<=50ms"
    assert replicas_after == capacity["replicas"]["recommended"]
    assert replicas_after > replicas_before
