"""``benchctl runs`` as a user runs it (installed executable, fresh folder, default runs/):
drops shown, and a capacity search listed with its capacity bound rather than a p99 pooled
over every level (fresh-user trial 4, #10). The runs are tests/unit/test_runs_listing's."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.e2e.helpers import benchctl
from tests.unit.test_analyze import mm1_step_run
from tests.unit.test_fit_above_broken import demo_search_run
from tests.unit.test_runs_listing import SPIKE


def test_runs_lists_drops_and_the_search_capacity(tmp_path: Path) -> None:
    """By hand: spike 487 of 3,500 dropped = 13.9%; the search's band from its levels,
    71.1667 arrived at the best good level, 78.0 at the first broken one above it."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    shutil.copytree(demo_search_run(tmp_path / "a"), tmp_path / "runs" / "1-search")
    spike = mm1_step_run(tmp_path / "b")
    (spike / "summary.json").write_text(json.dumps({"overall": SPIKE, "phases": {}}))
    shutil.copytree(spike, tmp_path / "runs" / "2-spike")
    done = benchctl("runs", cwd=tmp_path, timeout=60)
    assert done.returncode == 0, done.output()
    lines = done.stdout.splitlines()
    search_row = next(line for line in lines if line.strip().startswith("1-search")).split()
    assert search_row[4:6] == ["—", "—"] and search_row[-1] == "search", done.output()
    spike_row = next(line for line in lines if line.strip().startswith("2-spike")).split()
    assert spike_row[-3:] == ["487", "13.9%", "dropped"], done.output()
    assert (
        "1-search: capacity between 71.2 and 78.0 rps under p99<=200ms (the search's "
        "levels; `benchctl analyze` gives the figure)"
    ) in lines, done.output()
