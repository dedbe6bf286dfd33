"""``benchctl runs`` shows drops and a capacity search's answer (fresh-user trial 4, #10):
the demo's spike row showed "err 0" and no flag with 487 of 3,500 requests (13.9%) dropped,
and the capacity search's row a p99 of 241 ms pooled over every level it tried, with no
capacity. Known answers from tests/unit/test_fit_above_broken's demo search."""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console

from benchctl.analysis.listed_capacity import ListedCapacity, listed_capacity
from benchctl.reports.terminal.listings import runs_table
from benchctl.store import RunDir
from tests.unit.test_analyze import mm1_step_run
from tests.unit.test_fit_above_broken import demo_search_run

SPIKE = {  # trial 4's spike run, summary.json overall
    "requests": 3500, "sent": 3013, "ok": 3013, "errors": 0, "dropped": 487,
    "throughput_rps": 51.91606860379907, "latency_ms": {"p50": 33.3, "p99": 4275.1},
}  # fmt: skip


def test_a_search_not_analyzed_lists_the_band_its_levels_support(tmp_path: Path):
    """By hand (DEMO_LEVELS): best good level7@75rps, 71.1667 arrived; first broken above
    it level8@77.5rps, 78.0 arrived: "capacity between 71.2 and 78.0 rps under p99<=200ms"."""
    found = listed_capacity(RunDir.open(demo_search_run(tmp_path)))
    assert found == ListedCapacity(
        "capacity between 71.2 and 78.0 rps under p99<=200ms (the search's levels; "
        "`benchctl analyze` gives the figure)",
        True,
    )


def test_bounds_of_a_search_that_never_broke_or_always_broke(tmp_path: Path):
    """Only the three lowest good levels (10.45, 20.6, 33.5 arrived): at least 33.5 rps.
    Only the two broken ones (79.83 and 78.0 arrived): less than the lowest, 78.0 rps."""
    run = demo_search_run(tmp_path)
    search = json.loads((run / "search.json").read_text())
    levels = search["levels"]
    (run / "search.json").write_text(json.dumps({**search, "levels": levels[:3]}))
    text = listed_capacity(RunDir.open(run)).text
    assert text == "capacity at least 33.5 rps under p99<=200ms (it never broke)"
    broken = [lv for lv in levels if not lv["good"]]
    (run / "search.json").write_text(json.dumps({**search, "levels": broken}))
    text = listed_capacity(RunDir.open(run)).text
    assert text == "capacity less than 78.0 rps under p99<=200ms (every level broke it)"


def test_an_analyzed_run_lists_its_capacity_json(tmp_path: Path):
    """capacity.json decides when present: measured 71.1667 -> "capacity 71.2 rps", lower
    -> "at least", a mix bounded above (band [0, 10]) -> "less than 10.0 rps"; a run with
    neither capacity.json nor search.json lists none."""
    run = mm1_step_run(tmp_path)
    assert listed_capacity(RunDir.open(run)) is None
    doc = {"slo": "p99<=200ms", "capacity_rps": 71.16666666666667, "bound": "measured"}
    (run / "capacity.json").write_text(json.dumps(doc))
    assert listed_capacity(RunDir.open(run)) == ListedCapacity(
        "capacity 71.2 rps under p99<=200ms", False, "71.2"
    )
    (run / "capacity.json").write_text(json.dumps({**doc, "bound": "lower"}))
    assert listed_capacity(RunDir.open(run)).text == "capacity at least 71.2 rps under p99<=200ms"
    assert listed_capacity(RunDir.open(run)).cell == "≥71.2"
    upper = {**doc, "bound": "upper", "capacity_rps": None, "capacity_band_rps": [0.0, 10.0]}
    (run / "capacity.json").write_text(json.dumps(upper))
    assert listed_capacity(RunDir.open(run)).text == "capacity less than 10.0 rps under p99<=200ms"
    assert listed_capacity(RunDir.open(run)).cell == "<10.0"


def test_the_table_shows_drops_and_no_pooled_percentile_for_a_search():
    """Spike row: drop 487 and the flag 487 / 3,500 = 13.914% -> "13.9% dropped"; search
    row: p50 and p99 "—" (not its pooled 25.3 / 241.1 ms), flagged "search"."""
    search_overall = {"requests": 2574, "throughput_rps": 37.1, "errors": 0, "dropped": 0}
    search_overall["latency_ms"] = {"p50": 25.3, "p99": 241.1}
    listed = ListedCapacity("capacity between 71.2 and 78.0 rps under p99<=200ms", True)
    table, _ = runs_table(
        [("search-run", {"status": "completed"}, search_overall),
         ("spike-run", {"status": "completed"}, SPIKE)],
        title="runs in runs/",
        capacities={"search-run": listed},
    )  # fmt: skip
    console = Console(width=120, record=True, color_system=None)
    console.print(table)
    lines = console.export_text().splitlines()
    search_row = next(line for line in lines if "search-run" in line).split()
    spike_row = next(line for line in lines if "spike-run" in line).split()
    assert search_row == ["search-run", "completed", "2,574", "37.1", "—", "—", "0", "0", "search"]
    assert spike_row == [
        "spike-run", "completed", "3,500", "51.9", "33.3", "4,275.1", "0", "487", "13.9%",
        "dropped",
    ]  # fmt: skip


def test_runs_shows_a_capacity_column_and_why_reqs_is_0(tmp_path: Path):
    """The installed benchctl in a fresh folder, default runs/: run a analyzed (capacity.json
    measured 43.4 rps), run b not analyzed ("—" in the capacity column), run c interrupted
    in its warm-up (summary: 0 requests after warm-up, 79 sent during it): its "reqs 0" is
    explained by a line naming the 79."""
    from tests.unit.run_files import this_python_benchctl
    from tests.unit.test_gate import make_run

    runs = tmp_path / "runs"
    a = make_run(runs, "a", seed=1, requests=2000)
    make_run(runs, "b", seed=2, requests=2000)
    c = make_run(runs, "c", seed=3, requests=2000, status="interrupted")
    doc = {"slo": "p99<=20ms", "capacity_rps": 43.4, "bound": "measured"}
    (a / "capacity.json").write_text(json.dumps(doc))
    summary = json.loads((c / "summary.json").read_text())
    summary["overall"] = {"requests": 0, "sent": 0, "ok": 0, "errors": 0, "dropped": 0}
    summary["phases"] = {"warmup": {"requests": 79, "sent": 79, "ok": 79, "errors": 0}}
    (c / "summary.json").write_text(json.dumps(summary))
    done = this_python_benchctl("runs", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    header = next(line for line in lines if " run " in line and "status" in line)
    assert "capacity" in header.split()
    row = {line.split()[0]: line.split() for line in lines if line.split()[:1] in (["a"], ["b"])}
    at = header.split().index("capacity") - 2  # "p50 ms" and "p99 ms" are two words each
    assert row["a"][at] == "43.4" and row["b"][at] == "—"
    assert (
        "c: reqs 0 counts requests after the warm-up (rates and percentiles too); 79 were "
        "sent during the warm-up"
    ) in " ".join(done.stdout.split())
    report = this_python_benchctl("report", "runs/c", cwd=tmp_path)
    assert report.returncode == 0, report.stderr
    page = (c / "report.html").read_text()
    assert "0 of 0 sent after warm-up" in page  # says what the count counts
