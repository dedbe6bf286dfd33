"""The label of a split run's pooled numbers (reports/split_labels.py) and its flag in the
``benchctl runs`` table: two arms are "both arms pooled", three "all 3 arms pooled"; a
shadow run (its requests are the control's only) and a run without arms get none."""

from __future__ import annotations

from typing import Any

from benchctl.reports.split_labels import split_arm_names
from benchctl.reports.terminal.listings import runs_table
from benchctl.reports.terminal.run_summary import pooled_line


def _info(names: list[str], shadow: str | None = None) -> dict[str, Any]:
    arms = [{"name": n, "weight": 1, "share": 1 / len(names), "spec": {}} for n in names]
    return {"status": "completed", "arms": {"control": names[0], "shadow": shadow, "arms": arms}}


def _flags(info: dict[str, Any]) -> str:
    overall = {"requests": 10, "throughput_rps": 1.0, "errors": 0, "dropped": 0}
    table, _ = runs_table([("r", info, overall)], title="t", one_line=True)
    return "".join(table.columns[-1]._cells)


def test_runs_flags_a_split_run_as_pooled():
    assert _flags(_info(["stable", "canary"])) == "split: both arms pooled"
    assert _flags(_info(["a", "b", "c"])) == "split: all 3 arms pooled"
    assert _flags(_info(["stable", "canary"], shadow="canary")) == ""
    assert _flags({"status": "completed"}) == ""


def test_arm_names_and_the_line_under_the_phase_table():
    assert split_arm_names(_info(["stable", "canary"])) == ["stable", "canary"]
    assert split_arm_names(_info(["stable", "canary"], shadow="canary")) == []
    assert split_arm_names({"arms": {"arms": [{"name": "only"}]}}) == []
    two = {"split": {"arms": {"stable": {}, "canary": {}}}}
    assert pooled_line(two).startswith("phase rows and overall: both arms pooled")
    assert pooled_line({"phases": {}}) == ""
