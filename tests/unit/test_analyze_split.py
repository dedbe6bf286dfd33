"""``benchctl analyze`` on a split run (``run --split``): refused in one line, exit 2, as
``run --slo --split`` is, since the run's requests went to two servers and a replica sized
from their pooled traffic is no server's capacity. A shadow run is analyzed as usual."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.unit.run_files import installed_benchctl
from tests.unit.test_analyze import mm1_step_run

ARMS = {
    "control": "stable",
    "users": None,
    "shadow": None,
    "arms": [
        {"name": "stable", "weight": 70, "share": 0.7, "file": "stable.yaml", "spec": {}},
        {"name": "canary", "weight": 30, "share": 0.3, "file": "canary.yaml", "spec": {}},
    ],
}


def _runs_with(tmp_path: Path, arms: dict) -> Path:
    """A fresh folder holding runs/split: the M/M/1 step run with run.json's ``arms``."""
    (tmp_path / "made").mkdir()
    made = mm1_step_run(tmp_path / "made")
    cwd = tmp_path / "user"
    (cwd / "runs").mkdir(parents=True)
    run_dir = shutil.copytree(made, cwd / "runs" / "split")
    info = json.loads((run_dir / "run.json").read_text())
    info["arms"] = arms
    (run_dir / "run.json").write_text(json.dumps(info))
    return cwd


def test_installed_analyze_refuses_a_split_run_in_one_line(tmp_path: Path):
    cwd = _runs_with(tmp_path, ARMS)
    done = installed_benchctl("analyze", "runs/split", "--slo", "p99<=100ms", cwd=cwd)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr
    assert lines[0] == (
        "benchctl: error: runs/split: a split run (arms stable, canary): --slo sizes one "
        "target, not the arms of a split run; `benchctl compare runs/split@stable "
        "runs/split@canary --slo ...` checks each arm against it, `benchctl gate --baseline "
        "runs/split@stable --candidate runs/split@canary --rules ...` compares them (or run "
        "--slo on each arm's profile)"
    )
    assert not (cwd / "runs" / "split" / "capacity.json").exists()  # nothing sized
    assert not (cwd / "runs" / "split" / "manifests").exists()


def test_installed_analyze_still_sizes_a_shadow_run(tmp_path: Path):
    """A shadow run's requests.parquet holds the control's requests only (the shadow's are
    in shadow.parquet): one server's traffic, sized as usual."""
    cwd = _runs_with(tmp_path, {**ARMS, "shadow": "canary"})
    done = installed_benchctl("analyze", "runs/split", "--slo", "p99<=100ms", cwd=cwd)
    assert done.returncode == 0, done.stderr
    assert (cwd / "runs" / "split" / "capacity.json").is_file()
