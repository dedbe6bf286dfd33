"""`benchctl analyze` and `benchctl report` on ``make demo``'s capacity search (fresh-user
trial 4), as a user runs them: installed executable, fresh directory, relative runs/. The
fitted curve crosses the SLO at 75.0 req/s, but level8@77.5rps broke it while serving
74.5: the answer is the best level measured to meet it, 71.2 (71.1667 arrived at
level7@75rps), said as such, never "sustains 75.0 rps" (the search levels are
tests/unit/test_fit_above_broken.DEMO_LEVELS)."""

from __future__ import annotations

import html
import json
from pathlib import Path

from tests.e2e.helpers import analyze_copy, benchctl
from tests.unit.test_fit_above_broken import LEVEL7_ARRIVED, demo_search_run


def test_analyze_and_report_answer_with_the_level_that_met_the_slo(tmp_path: Path) -> None:
    """By hand: band [71.1667, 78.0] arrived; the fit's crossing ~74.96 is not below the
    74.5 level8 served, so capacity_rps = 71.1667 ("71.2 rps"); a 200 rps peak at <= 80%
    needs ceil(200 / 56.93) = 4 replicas by capacity. Screen, capacity.json and report say
    the same figure and why."""
    done, run = analyze_copy(
        demo_search_run, tmp_path, "search", "--slo", "p99<=200ms", "--peak-rps", "200", timeout=120
    )
    assert done.returncode == 0, done.output()
    doc = json.loads((run / "capacity.json").read_text())
    assert doc["capacity_rps"] == LEVEL7_ARRIVED and doc["bound"] == "measured"
    assert doc["capacity_source"] == "best_good_level"
    assert doc["replicas"]["by_capacity"] == 4
    text = " ".join(done.stdout.split())
    why = (
        "The fitted curve crosses the SLO at 75.0 rps, not below the 74.5 rps level8@77.5rps "
        "served (78.0 rps arrived) when it broke the SLO: the figure is the best level "
        "measured to meet it."
    )
    assert "One replica sustains 71.2 rps under p99<=200ms (measured:" in text, done.output()
    assert why in text
    assert "sustains 75.0 rps" not in text
    assert "at ≤80% of the 71.2 rps one replica sustains" in text
    shown = benchctl("report", "runs/search", cwd=tmp_path, timeout=120)
    assert shown.returncode == 0, shown.output()
    page = html.unescape((run / "report.html").read_text())
    assert "One replica sustains 71.2 rps under p99<=200ms" in page
    assert why in page
    assert "the best level measured to meet it (see the answer)" in page
