"""A closed stdout found while a run is being finished (its end printed) is a stop, never a
disk error (fresh-user trial: `benchctl run steady --launch ... | head -3` exited 1 with
"cannot write runs/...: ; check that disk"): ``closed_while_finishing`` marks a run whose
run.json is not final yet ``interrupted`` with the closed stdout's reason, and leaves a
final run.json as it is."""

from __future__ import annotations

import json
from pathlib import Path

from benchctl.run_finish import closed_while_finishing
from benchctl.run_outcome import Outcome
from benchctl.rundir import RUN_JSON, RunDir
from benchctl.stop_signals import CLOSED_STDOUT


def _run(tmp_path: Path, status: str, reason: str = "") -> RunDir:
    run_dir = RunDir.create(tmp_path / "runs", "steady", "kserve")
    run_dir.write_json(RUN_JSON, {"schema_version": 1, "id": run_dir.name, "status": status,
                                  "reason": reason, "engine": {"started_at": "x"},
                                  "scenario": {}, "target": {}, "plan": {}})  # fmt: skip
    return run_dir


def test_a_run_not_yet_final_is_marked_interrupted_by_the_closed_stdout(tmp_path: Path):
    run_dir = _run(tmp_path, "running")
    result = closed_while_finishing(run_dir, Outcome(status="completed", t0=100.0))
    written = json.loads((run_dir.path / RUN_JSON).read_text())
    assert (written["status"], written["reason"]) == ("interrupted", CLOSED_STDOUT)
    assert (result.status, result.reason) == ("interrupted", CLOSED_STDOUT)
    assert "disk" not in result.reason


def test_a_final_run_stands_as_written(tmp_path: Path):
    """The closing came while the end of a completed run was printed: the work was done."""
    run_dir = _run(tmp_path, "completed")
    result = closed_while_finishing(run_dir, Outcome(status="completed", t0=100.0))
    assert json.loads((run_dir.path / RUN_JSON).read_text())["status"] == "completed"
    assert (result.status, result.reason) == ("completed", "")
