"""Printed paths are never wrapped, and a spec with several problems names each of them."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.e2e.helpers import benchctl
from tests.unit.test_analyze import mm1_step_run


def test_a_report_path_longer_than_the_console_stays_on_one_line(tmp_path: Path):
    """stdout is a pipe and COLUMNS=30: the 70-character path must still be one line."""
    cwd = tmp_path / "user"
    (cwd / "runs").mkdir(parents=True)
    name = "20261130T013444Z-capacity-torchserve_vs_kserve-long-name"
    shutil.move(mm1_step_run(tmp_path), cwd / "runs" / name)
    done = benchctl("report", f"runs/{name}", cwd=cwd, env={"COLUMNS": "30"})
    assert done.returncode == 0, done.output()
    assert f"report: runs/{name}/report.html\n" in done.stdout, done.output()


def test_a_scenario_with_two_problems_names_both_on_one_line(tmp_path: Path):
    """base_rate -1 (line 2) and burst_multiplier 0.5 (line 3) are both wrong."""
    (tmp_path / "bad.yaml").write_text("kind: spike\nbase_rate: -1\nburst_multiplier: 0.5\n")
    done = benchctl("run", "bad.yaml", "--target", "kserve", cwd=tmp_path, timeout=60)
    assert done.returncode == 2, done.output()
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.output()
    assert "bad.yaml:2: field 'base_rate'" in lines[0]
    assert "field 'burst_multiplier' (line 3): Input should be greater than 1" in lines[0]
    assert "more problem" not in lines[0]
