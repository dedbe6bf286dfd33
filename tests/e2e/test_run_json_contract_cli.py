"""A run.json this benchctl cannot read (a later schema_version, or a required field
missing) is refused by every command in one line, exit 2, and listed as damaged by
``benchctl runs``: the installed benchctl in a fresh folder, default runs/."""

from __future__ import annotations

import json
from pathlib import Path

from tests.e2e.helpers import benchctl, refused

NEWER = "runs/r4/run.json: schema_version 99 is newer than this benchctl reads (up to 1): "
NEWER += "upgrade benchctl"
MISSING = "runs/r5/run.json: damaged: field 'scenario' missing (every run.json has status, "
MISSING += "scenario and target)"


def test_newer_or_incomplete_run_json_is_one_line_everywhere(tmp_path: Path) -> None:
    for name, info in (("r4", {"schema_version": 99}), ("r5", {"schema_version": 1})):
        (tmp_path / "runs" / name).mkdir(parents=True)
        text = json.dumps({**info, "status": "completed"})
        (tmp_path / "runs" / name / "run.json").write_text(text)
    rules = Path(__file__).parents[2] / "examples" / "gate.yaml"
    analyzed = benchctl("analyze", "runs/r4", "--slo", "p99<=200ms", cwd=tmp_path)
    assert refused(analyzed) == f"benchctl: error: {NEWER}"
    gated = benchctl(
        "gate", "--candidate", "runs/r5", "--baseline", "runs/r5", "--rules", str(rules),
        cwd=tmp_path,
    )  # fmt: skip
    assert refused(gated) == f"benchctl: error: {MISSING}"
    assert refused(benchctl("report", "runs/r4", cwd=tmp_path)) == f"benchctl: error: {NEWER}"
    listed = benchctl("runs", cwd=tmp_path)
    assert listed.returncode == 0, listed.output()
    shown = " ".join(listed.stdout.split())
    assert f"damaged: r4: {NEWER}" in shown and f"damaged: r5: {MISSING}" in shown
