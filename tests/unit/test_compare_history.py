"""benchctl compare and benchctl history on synthetic run directories."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
from rich.console import Console

import benchctl.reports
from benchctl.cli import main
from benchctl.errors import InputError
from benchctl.reports.compare import NOT_ANALYZED, write_compare
from benchctl.reports.history import load_history, write_history
from benchctl.reports.terminal.compare import compare_table
from benchctl.reports.terminal.history import history_table
from tests.unit.test_gate import make_run

BANNER = 'id="banner-not-comparable"'


def _text(table: object) -> str:
    console = Console(width=250, record=True)
    console.print(table)
    return console.export_text()


def test_compare_same_scenario_has_no_warning(tmp_path: Path) -> None:
    a = make_run(tmp_path, "a", seed=1)
    b = make_run(tmp_path, "b", seed=2, scale=1.3, target="triton")
    comparison = write_compare([a, b], slo="p99<=35ms", output=tmp_path / "cmp.html")
    page = comparison.output.read_text()
    assert BANNER not in page and comparison.differences == ()
    assert page.count("<svg") == 3 and "http" not in re.sub(r'xmlns(:\w+)?="[^"]+"', "", page)
    assert NOT_ANALYZED in page
    stylesheet = (
        Path(benchctl.reports.__file__).parent / "templates" / "_style.css.j2"
    ).read_text()
    assert stylesheet.strip()[:200] in page  # the one stylesheet every page includes
    assert [run.slo_met for run in comparison.runs] == [True, False]
    text = _text(compare_table(comparison))
    assert "triton" in text and "not analyzed" in text


def test_compare_warns_when_scenarios_differ(tmp_path: Path) -> None:
    a = make_run(tmp_path, "a", seed=1)
    b = make_run(tmp_path, "b", seed=2, scenario="spike")
    comparison = write_compare([a, b], output=tmp_path / "cmp.html")
    page = comparison.output.read_text()
    assert BANNER in page
    assert comparison.differences == ("B vs A: scenario: 'spike' vs 'steady'",)
    assert "NOT COMPARABLE" in _text(compare_table(comparison))


def test_compare_flags_payload_host_and_time_scale(tmp_path: Path) -> None:
    a = make_run(tmp_path, "a", seed=1)
    b = make_run(
        tmp_path,
        "b",
        seed=2,
        run={
            "target": {"name": "kserve", "spec": {"payload": {"batch_size": 8}}},
            "host": {"hostname": "laptop", "cpu_model": "EPYC", "cpus": 2},
            "scenario": {"name": "steady", "time_scale": 0.1, "spec": {"kind": "steady"}},
        },
    )
    differences = " ".join(write_compare([a, b], output=tmp_path / "c.html").differences)
    for word in ("payload", "host.hostname", "time_scale"):
        assert word in differences


def test_compare_reads_capacity_and_telemetry(tmp_path: Path) -> None:
    a = make_run(tmp_path, "a", seed=1)
    b = make_run(tmp_path, "b", seed=2)
    capacity = {"slo": "p99<=200ms", "single_replica": {"capacity_rps": 187.5}}
    (a / "capacity.json").write_text(json.dumps(capacity))
    telemetry = pd.DataFrame(
        {
            "t": [0.0, 5.0, 10.0, 15.0],
            "server_cpu_percent": [30.0, 190.0, 195.0, 196.0],
            "host_cpu_percent": [20.0, 99.0, 99.0, 99.0],
        }
    )
    telemetry.to_parquet(a / "telemetry_windows.parquet")
    comparison = write_compare([a, b], slo="p99<=100ms", output=tmp_path / "cmp.html")
    first, second = comparison.runs
    assert first.capacity == "187.5 req/s at p99<=200ms (measured); not analyzed for p99<=100ms"
    assert second.capacity == NOT_ANALYZED
    assert first.bottleneck == "host CPU (99% of the host at p95)"  # the warm-up window is left out
    assert ("server CPU", "1.96 cores (98% of 2)") in first.resources
    assert second.bottleneck == "no telemetry"
    assert "187.5 req/s" in comparison.output.read_text()


def test_compare_needs_two_runs_and_a_valid_slo(tmp_path: Path) -> None:
    a = make_run(tmp_path, "a", seed=1)
    with pytest.raises(InputError, match="at least two runs"):
        write_compare([a], output=tmp_path / "c.html")
    with pytest.raises(InputError, match="--slo"):
        write_compare([a, a], slo="fast", output=tmp_path / "c.html")


def test_compare_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a, b = make_run(tmp_path, "a", seed=1), make_run(tmp_path, "b", seed=2)
    out = tmp_path / "page.html"
    assert main(["compare", str(a), str(b), "--slo", "p99<=200ms", "-o", str(out)]) == 0
    assert out.is_file() and "comparison" in capsys.readouterr().out


def test_history_over_three_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "nightly"
    for day, scale in ((3, 1.2), (1, 1.0), (2, 1.1)):
        make_run(
            folder,
            f"night-{day}",
            seed=day,
            scale=scale,
            started=f"2026-11-0{day}T01:00:00Z",
            saturated=day == 2,
        )
    make_run(folder, "other", seed=9, scenario="spike")
    rows = load_history(folder, scenario="steady")
    assert [r.id for r in rows] == ["night-1", "night-2", "night-3"]
    assert rows[0].p99_ms < rows[2].p99_ms and [r.saturated for r in rows] == [False, True, False]
    text = _text(history_table(rows))
    assert all(f"night-{d}" in text for d in (1, 2, 3)) and "generator_saturated" in text
    page = write_history(rows, output=tmp_path / "history.html").read_text()
    assert page.count("<svg") == 3 and page.count("<code>night-") == 3
    assert 'id="banner-generator-saturated"' in page
    assert main(["history", str(folder), "--target", "kserve"]) == 0
    assert (folder / "history.html").is_file()
    assert "history of 4 runs" in capsys.readouterr().out


def test_history_with_no_matching_runs_is_bad_input(tmp_path: Path) -> None:
    make_run(tmp_path / "runs", "a", seed=1)
    with pytest.raises(InputError, match="no runs of scenario 'soak'"):
        load_history(tmp_path / "runs", scenario="soak")
    assert main(["history", str(tmp_path / "missing")]) == 2


def test_history_names_a_damaged_run_unknown_not_none(tmp_path: Path) -> None:
    """A run whose run.json is not UTF-8 is listed as damaged; its scenario and target are
    unknown (nothing in the file says them), never the text "None"."""
    folder = tmp_path / "runs"
    make_run(folder, "good", seed=1)
    bad = make_run(folder, "bad", seed=2)
    (bad / "run.json").write_bytes(b"\xff\xfe garbage")
    rows = {row.id: row for row in load_history(folder)}
    assert (rows["bad"].status, rows["bad"].scenario, rows["bad"].target) == (
        "damaged",
        "unknown",
        "unknown",
    )
    assert (rows["good"].scenario, rows["good"].target) == ("steady", "kserve")
    text = _text(history_table(list(rows.values())))
    assert "None" not in text


def test_meets_the_slo_needs_enough_samples_for_its_percentile():
    """compare --slo: p99 needs 2 / (1 - 0.99) = 200 successes; with 20 the p99 is their
    maximum, so the row says too few samples (as the gate says inconclusive) instead of yes."""
    from benchctl.analysis.slo import parse_slo
    from benchctl.reports.compare import _slo_met

    slo = parse_slo("p99<=50ms")
    assert _slo_met({"ok": 20, "latency_ms": {"p99": 12.0}}, slo) == "too few samples (20 < 200)"
    assert _slo_met({"ok": 200, "latency_ms": {"p99": 12.0}}, slo) is True
    assert _slo_met({"ok": 500, "latency_ms": {"p99": 51.0}}, slo) is False
    assert _slo_met({"ok": 20, "latency_ms": {"p50": 12.0}}, parse_slo("p50<=50ms")) is True
    assert _slo_met({"ok": 0, "latency_ms": {}}, slo) is None
