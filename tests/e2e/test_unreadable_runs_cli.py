"""Runs whose requests cannot be read, through the installed ``benchctl`` from a fresh folder
(trial 7): a missing or damaged requests.parquet is said as such with the count the run
recorded (F5), a run still in progress is refused by analyze and report (F19), and a split
run's report names the commands that work on its arms (F15).

The run is a real capacity search against Triton (tests/unit/data/trial5-capacity-triton):
its run.json counts 304 rows (``counts.rows``, warm-up included)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from benchctl.lifetime import owner_record
from tests.e2e.helpers import benchctl, refused

SOURCE = (
    Path(__file__).parents[1] / "unit/data/trial5-capacity-triton/20261130T095552Z-capacity-triton"
)
SLO = ("--slo", "p99<=100ms")


def _copy(cwd: Path, name: str, **fields: object) -> Path:
    """The run copied to ``cwd/runs/name``, run.json's top-level ``fields`` replaced."""
    run = cwd / "runs" / name
    shutil.copytree(SOURCE, run)
    info = json.loads((run / "run.json").read_text())
    (run / "run.json").write_text(json.dumps({**info, **fields}))
    return run


def _report_text(run: Path) -> str:
    return (run / "report.html").read_text()


def test_missing_requests_file_is_said_and_flagged(tmp_path: Path) -> None:
    (_copy(tmp_path, "noreq") / "requests.parquet").unlink()
    assert refused(benchctl("analyze", "runs/noreq", *SLO, cwd=tmp_path)) == (
        "benchctl: error: runs/noreq/requests.parquet is missing (the run recorded 304 "
        "requests): per-request analysis is impossible; its totals are in summary.json "
        "(`benchctl report runs/noreq` shows them)"
    )
    listed = benchctl("runs", cwd=tmp_path)
    assert listed.returncode == 0, listed.output()
    assert (
        "damaged: noreq: runs/noreq/requests.parquet is missing (the run recorded 304 "
        "requests); the row's numbers are from summary.json"
    ) in listed.stdout.splitlines(), listed.output()
    report = benchctl("report", "runs/noreq", cwd=tmp_path)
    assert report.returncode == 0, report.output()
    text = _report_text(tmp_path / "runs/noreq")
    assert (
        '<p class="absent">runs/noreq/requests.parquet is missing (the run recorded 304 '
        "requests): there are no figures and no per-request analysis; the numbers below are "
        "from summary.json.</p>"
    ) in text
    assert "no requests were recorded" not in text


def test_damaged_requests_file_is_said(tmp_path: Path) -> None:
    run = _copy(tmp_path, "badparq")
    (run / "requests.parquet").write_bytes((SOURCE / "requests.parquet").read_bytes()[:500])
    line = refused(benchctl("analyze", "runs/badparq", *SLO, cwd=tmp_path))
    said = "runs/badparq/requests.parquet: damaged: not a readable Parquet file ("
    assert line.startswith(f"benchctl: error: {said}"), line
    assert line.endswith(
        "; the run recorded 304 requests: per-request analysis is impossible; its totals are "
        "in summary.json (`benchctl report runs/badparq` shows them)"
    ), line
    listed = benchctl("runs", cwd=tmp_path).stdout
    assert (
        "damaged: badparq: runs/badparq/requests.parquet: damaged: not a readable Parquet file ("
        in listed
    )


def test_run_in_progress_is_refused(tmp_path: Path) -> None:
    """run.json says running and its owner (this test's process) is alive."""
    owner = owner_record()
    run = _copy(tmp_path, "live", status="running", owner=owner)
    (run / "requests.parquet").unlink()
    pid = owner["pid"]
    for command in ("analyze", "report"):
        args = (command, "runs/live", *SLO) if command == "analyze" else (command, "runs/live")
        assert refused(benchctl(*args, cwd=tmp_path)) == (
            f"benchctl: error: runs/live: still in progress (pid {pid}); wait for it to finish "
            f"(`benchctl runs` shows when), then run `benchctl {command}` again"
        )
    assert not (run / "report.html").exists()
    assert "damaged" not in benchctl("runs", cwd=tmp_path).stdout


def test_split_run_report_names_commands_that_work(tmp_path: Path) -> None:
    """The SLO named is the run's own (search.json: p99<=20ms)."""
    arms = {"arms": [{"name": "stable"}, {"name": "canary"}]}
    _copy(tmp_path, "split", arms=arms)
    assert benchctl("report", "runs/split", cwd=tmp_path).returncode == 0
    text = _report_text(tmp_path / "runs/split")
    assert (
        "<code>benchctl analyze</code> sizes one target, and this is a split run (arms stable, "
        "canary): check each arm against the SLO with <code>benchctl compare runs/split@stable "
        "runs/split@canary --slo &#39;p99&lt;=20ms&#39;</code>"
    ) in text
    assert "Run <code>benchctl analyze" not in text
    assert "run <code>benchctl analyze" not in text
