"""benchctl history over series too short to show a change point (trial-5 finding 10).

A change point needs runs enough on either side for the t-test between the segments:
``changepoints.MIN_RUNS`` = 4 completed runs whose generator kept up. The trial ran history
over one run per series and read "No change point in any series", as if they had been looked
at and found flat.
"""

from __future__ import annotations

import json
from pathlib import Path

from benchctl.analysis.changepoints import MIN_RUNS, Point, find_shifts
from benchctl.reports.history import history_json, load_history, short_series, short_series_text
from tests.unit.run_files import this_python_benchctl
from tests.unit.test_gate import make_run


def test_history_of_one_run_per_series_says_each_is_too_short(tmp_path: Path) -> None:
    """Two runs, one per series, in runs/ of a fresh folder, through the installed benchctl:
    each series has 1 of the 4 runs a change point needs, and the terminal and the page say
    so instead of only "no change point"."""
    make_run(tmp_path / "runs", "a", seed=1, requests=2000)
    make_run(tmp_path / "runs", "b", seed=2, requests=2000, scenario="spike", target="triton")
    done = this_python_benchctl("history", "runs", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    out = " ".join(done.stdout.split())  # rich wraps at the terminal's width
    assert "No series has enough runs to show a change point" in out
    assert "needs at least 4 completed runs whose generator kept up" in out
    assert "spike on triton 1, steady on kserve 1" in out
    assert "change points (E-Divisive" not in out  # no empty table before the reason
    page = (tmp_path / "runs" / "history.html").read_text()
    assert 'id="short-series"' in page and "steady on kserve 1" in page


def test_only_the_short_series_are_named(tmp_path: Path) -> None:
    """Four steady runs (one interrupted, so 3 count) and four spike runs: steady has 3 < 4,
    spike has 4, so only steady is named, as "1 of 2 series"; the JSON keeps both facts."""
    folder = tmp_path / "runs"
    for day in range(1, 5):
        status = "interrupted" if day == 4 else "completed"
        make_run(folder, f"steady-{day}", seed=day, requests=1000, status=status)
        make_run(folder, f"spike-{day}", seed=10 + day, requests=1000, scenario="spike")
    rows = load_history(folder)
    assert short_series(rows) == {"steady on kserve": 3}
    text = short_series_text(rows)
    assert text is not None and text.startswith("1 of 2 series have too few runs")
    assert text.endswith(": steady on kserve 3.")
    document = json.loads(history_json(rows, []))
    assert document["min_runs"] == MIN_RUNS == 4
    assert document["short_series"] == {"steady on kserve": 3}


def test_three_runs_show_no_change_point_however_large_the_shift() -> None:
    """p99 of 10, 10, 1000 ms: a hundredfold jump, but 3 < MIN_RUNS runs, so none is found
    (the reason short_series_text gives)."""
    points = [
        Point(f"r{i}", "", "", {"p99_ms": value}) for i, value in enumerate((10.0, 10.0, 1000.0))
    ]
    assert find_shifts(points, "p99_ms") == []
