"""``benchctl compare`` on a run whose summary.json is missing or garbled (a damaged run
directory, case faults/corrupt-run-dir-tracebacks): summary.json is derived from
requests.parquet, so compare computes the same numbers from it instead of failing."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from benchctl.analysis.summary import read_requests, summarize
from benchctl.cli import main
from tests.unit.test_analyze import mm1_step_run


def _row(out: str, label: str) -> list[str]:
    """The cells of the terminal table's row ``label`` (box-drawing separators)."""
    line = next(ln for ln in out.splitlines() if ln.strip("│┃ ").startswith(label))
    return [cell.strip() for cell in line.replace("┃", "│").split("│") if cell.strip()][1:]


def test_compare_recomputes_a_missing_or_garbled_summary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    """Known answer: the three runs hold the same requests.parquet, so B (no summary.json)
    and C (summary.json ``{"overall": 5``) show exactly A's p50 and p99, and A's are those of
    the summary.json written from that file."""
    monkeypatch.chdir(tmp_path)
    run = mm1_step_run(tmp_path)
    phases = json.loads((run / "run.json").read_text())["plan"]["phases"]
    summary = summarize(read_requests(run / "requests.parquet"), phases)
    (run / "summary.json").write_text(json.dumps(summary))
    shutil.copytree(run, tmp_path / "nosum")
    (tmp_path / "nosum" / "summary.json").unlink()
    shutil.copytree(run, tmp_path / "badsum")
    (tmp_path / "badsum" / "summary.json").write_text('{"overall": 5')

    assert main(["compare", "run", "nosum", "badsum", "-o", "c.html"]) == 0
    out = capsys.readouterr().out
    for label, key in (("p50 ms", "p50"), ("p99 ms", "p99")):
        cells = _row(out, label)
        assert len(cells) == 3 and len(set(cells)) == 1, (label, cells)
        expected = summary["overall"]["latency_ms"][key]
        assert float(cells[0]) == pytest.approx(expected, rel=0.01), (label, cells, expected)
    assert (tmp_path / "c.html").is_file()
