"""A 13-request run printed p95 = p99 = p99.9 = max = 12.7 ms with no caveat (trial 8): a
nearest-rank percentile whose rank is n is the max; it is marked "*" with a footnote, in the
terminal table and the HTML report alike, while summary.json keeps the numbers and ``ok``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
from rich.console import Console

from benchctl.analysis.summary_file import summarize_file
from benchctl.load.records import RecordBuffer, to_table
from benchctl.reports.percentile_marks import at_max, footnote, needed
from benchctl.reports.terminal.run_summary import summary_table
from tests.unit.run_files import (
    completed_run_info,
    installed_benchctl,
    open_loop_plan,
    step_scenario,
)


def test_which_percentiles_of_n_successes_are_the_max():
    """Nearest rank ceil(P/100 x n): n = 13 gives p50 rank 7, p90 ceil(11.7) = 12, p95
    ceil(12.35) = 13, p99 13, p99.9 13 (the max). p95 is not the max from n = 20 (rank 19),
    p99 from 100, p99.9 from 1,000 (0.999 x 1000 = 999 exactly)."""
    assert [at_max(k, 13) for k in ("p50", "p90", "p95", "p99", "p99.9", "max")] == [
        False, False, True, True, True, False,
    ]  # fmt: skip
    assert (at_max("p95", 19), at_max("p95", 20)) == (True, False)
    assert (at_max("p99.9", 999), at_max("p99.9", 1000)) == (True, False)
    assert [needed(k) for k in ("p50", "p95", "p99", "p99.9")] == [2, 20, 100, 1000]
    assert footnote(("p50", "p95"), [500, 1000]) is None


def _row(ok: int, p95: float) -> dict:
    return {
        "requests": ok, "ok": ok, "errors": 0, "dropped": 0, "throughput_rps": 6.5,
        "latency_ms": {"p50": 4.7, "p95": p95, "p99": 12.7, "p99.9": 12.7, "max": 12.7},
    }  # fmt: skip


def test_the_terminal_table_marks_them_and_says_why():
    """The trial's 13-request steady phase: p95, p99 and p99.9 are its max, 12.7 ms."""
    summary = {"phases": {"steady": _row(13, 12.7)}, "overall": _row(13, 12.7)}
    console = Console(width=200, record=True)
    console.print(summary_table(summary, title="run"))
    text = console.export_text()
    row = next(line for line in text.splitlines() if line.lstrip().startswith("steady"))
    assert row.split()[-5:] == ["4.7", "12.7*", "12.7*", "12.7*", "12.7"]
    assert (
        "*: the largest latency of the row, too few successes for that percentile (p95 needs"
        " 20, p99 needs 100, p99.9 needs 1,000; fewest here: 13)"
    ) in " ".join(text.split())


def test_the_report_marks_them(tmp_path: Path):
    """The installed CLI from a fresh folder: 13 requests at 1 s apart, latencies 1..13 ms:
    p50 = 7.0 ms (rank 7), p95 = p99 = p99.9 = max = 13.0 ms (rank 13), marked in the
    report's phase table (its summary rebuilt from requests.parquet, as summary.json is: it
    keeps 13.0 and ok = 13, the count they rest on)."""
    buffer = RecordBuffer()
    for i in range(13):
        buffer.add(float(i), float(i), i + (i + 1) / 1000.0, 200, "", 10, 10)
    run_dir = tmp_path / "runs" / "run"
    run_dir.mkdir(parents=True)
    phases = [{"name": "steady", "start": 0.0, "end": 13.0}]
    table = to_table(buffer.drain(), ["steady"], np.zeros(13, dtype=np.int8))
    pq.write_table(table, run_dir / "requests.parquet")
    plan = open_loop_plan(13.0, phases, [[0.0, 1.0]])
    (run_dir / "run.json").write_text(
        json.dumps(completed_run_info("run", step_scenario([1.0], 13.0), plan))
    )
    done = installed_benchctl("report", "runs/run", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    overall = summarize_file(run_dir / "requests.parquet", phases)["overall"]  # summary.json's
    assert overall["ok"] == 13
    assert [round(overall["latency_ms"][k], 3) for k in ("p50", "p95", "p99", "max")] == [
        7.0, 13.0, 13.0, 13.0,
    ]  # fmt: skip
    html = (run_dir / "report.html").read_text()
    assert "<td>7.00</td><td>13.0*</td><td>13.0*</td><td>13.0*</td><td>13.0</td>" in html
    assert "*: the largest latency of the row, too few successes" in html
