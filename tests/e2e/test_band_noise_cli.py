"""`benchctl analyze` on a capacity search whose arrival noise exceeded its step, as a user
runs it (installed executable, fresh directory, relative runs/): the figure is never more
than arrived at the level that met the SLO (``make demo`` said "sustains 28.0 rps offered"
when 25.9 had arrived). The search run is test_search_judged_windows' synthetic one with
the level that broke the SLO drawing fewer arrivals than the one that met it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.e2e.helpers import benchctl
from tests.unit.test_search_judged_windows import _search_run

# name, offered, arrived, achieved req/s, p99 ms over the judged windows, good
NOISY = [
    ("step1@40rps", 40.0, 39.0, 38.9, 30.0, True),
    ("step2@80rps", 80.0, 77.5, 77.4, 40.0, True),
    ("step3@120rps", 120.0, 112.5, 112.0, 80.0, True),
    ("step4@160rps", 160.0, 110.0, 109.0, 300.0, False),  # offered more, drew less
    ("step5@180rps", 180.0, 181.0, 160.0, 900.0, False),
]


def test_the_figure_is_what_arrived_when_arrivals_cannot_order_the_levels(
    tmp_path: Path,
) -> None:
    """By hand: best good level step3 (offered 120, 112.5 arrived), first bad above it
    step4 (offered 160, 110.0 arrived: no more than 112.5, so arrivals cannot order
    them). Figure min(120, 112.5) = 112.5; band [112.5, 160] (up to step4's offered
    rate), kind "arrived/offered"; offered [120, 160]; arrived [112.5, 110.0]."""
    built = _search_run(tmp_path, NOISY)  # tmp_path/run
    shutil.copytree(built, tmp_path / "runs" / "search")
    done = benchctl("analyze", "runs/search", "--slo", "p99<=100ms", cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.output()
    doc = json.loads((tmp_path / "runs" / "search" / "capacity.json").read_text())
    assert doc["capacity_rps"] == 112.5 and doc["bound"] == "measured"
    assert doc["capacity_band_rps"] == [112.5, 160.0]
    assert doc["capacity_band_rates"] == "arrived/offered"
    assert doc["capacity_band_offered_rps"] == [120.0, 160.0]
    assert doc["capacity_band_arrived_rps"] == [112.5, 110.0]
    text = " ".join(done.stdout.split())  # the terminal wraps long lines
    assert (
        "One replica sustains 112.5 rps under p99<=100ms (measured: the level that met it "
        "had 112.5 rps arrive of 120.0 rps offered; the one that broke it, offered 160.0 "
        "rps, drew 110.0 rps: arrival noise exceeds the search's step"
    ) in text, done.output()
    assert "the crossing lies below 160.0 rps offered" in text
    assert "sustains 120.0 rps" not in text
