"""`benchctl analyze` on a capacity search, as a user runs it (installed executable, fresh
directory, relative runs/): the answer names the rates the levels were tested at (arrived in
the judged windows) beside the offered ones, and the own-traffic check quotes the
percentile search.json judged, over its windows. The search run is test_search_judged_windows'
synthetic one (known answers there)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.e2e.helpers import benchctl
from tests.unit.test_search_judged_windows import _search_run


def test_analyze_says_arrived_and_offered_and_the_judged_windows(tmp_path: Path) -> None:
    built = _search_run(tmp_path)  # tmp_path/run
    shutil.copytree(built, tmp_path / "runs" / "search")
    done = benchctl("analyze", "runs/search", "--slo", "p99<=100ms", cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.output()
    text = " ".join(done.stdout.split())  # the terminal wraps long lines
    assert (
        "the SLO crossing lies between 112.5 rps, which met it, and 158.0 rps, which broke "
        "it: the rates that arrived in the windows the search judged, of 120.0 rps and "
        "160.0 rps offered)"
    ) in text
    assert "phase 'step1@40rps' had 39.0 rps arrive in its judged windows (40.0 offered)" in text
    judged = "its p99 in the windows the search judged (search.json: completions at t=30.0–60.0 s)"
    assert f"{judged} was 130 ms" in text
    assert "250 ms" not in text  # summary.json's p99 over the whole level: other windows
    doc = json.loads((tmp_path / "runs" / "search" / "capacity.json").read_text())
    assert doc["capacity_band_rps"] == [112.5, 158.0]
    assert doc["capacity_band_offered_rps"] == [120.0, 160.0]
