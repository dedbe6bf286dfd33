"""Runs as the unit in ``benchctl gate``, several candidate runs, and change points over the
history (``benchctl history``, the ``no_change_point_in_last`` rule), on synthetic run
directories written with the project's own writers (tests.unit.test_gate.make_run)."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from benchctl.analysis.changepoints import Point, find_shifts
from benchctl.analysis.gate import FAIL, PASS, RUNS, WINDOWS, gate
from benchctl.analysis.gate_report import junit_xml, markdown_summary
from benchctl.analysis.run_level import run_level_interval
from benchctl.errors import InputError
from tests.unit.test_gate import make_run

BENCHCTL = Path(sys.executable).with_name("benchctl")
P50 = "rules:\n  - {metric: p50_ms, max_increase: 10%}\n"


def _rules(folder: Path, text: str, name: str = "gate.yaml") -> Path:
    path = folder / name
    path.write_text(text)
    return path


def _night(day: int) -> str:
    return f"2026-11-{day:02d}T03:00:00+00:00"


def _p50(result: object) -> object:
    return next(r for r in result.rules if r.metric == "p50_ms")  # type: ignore[attr-defined]


# --------------------------------------------------------------------------- run-level t


def test_run_level_interval_known_answers() -> None:
    """Differences (rates): b = (0.01, 0.03), c = (0.02, 0.04): means 0.02 and 0.03, sum of
    squares 4 × 0.01² = 4e-4 on df = 2, s = sqrt(2e-4) = 0.0141421, se = s·sqrt(1/2 + 1/2),
    t(0.975, 2) = 4.302653: 0.01 ± 0.0608487.

    Ratios: log b = log 100 + (0, 0.1, -0.1), log c = log 100 + 0.2: sum of squares 0.02 on
    df = 2, s = 0.1, se = 0.1·sqrt(1/3 + 1) = 0.1154701, half = 0.4968275; centre 0.2:
    exp(0.2 ± 0.4968275) - 1 = (-0.256828, +1.007374)."""
    rates = run_level_interval([0.01, 0.03], [0.02, 0.04], difference=True, confidence=0.95)
    assert rates is not None and rates.df == 2
    assert rates.low == pytest.approx(0.01 - 0.0608487, abs=1e-6)
    assert rates.high == pytest.approx(0.01 + 0.0608487, abs=1e-6)
    base = [100.0, 100.0 * math.exp(0.1), 100.0 * math.exp(-0.1)]
    ratio = run_level_interval(base, [100 * math.exp(0.2)], difference=False, confidence=0.95)
    assert ratio is not None and (ratio.baseline_runs, ratio.candidate_runs) == (3, 1)
    assert ratio.sd == pytest.approx(0.1)
    assert ratio.low == pytest.approx(-0.256828, abs=1e-5)
    assert ratio.high == pytest.approx(1.007374, abs=1e-5)
    assert run_level_interval([100.0], [110.0], difference=False, confidence=0.95) is None


def test_between_run_shift_widens_the_interval_and_contains_the_true_change(
    tmp_path: Path,
) -> None:
    """Five baseline runs of one configuration whose service time differs run to run by a
    planted factor (0.92 … 1.08, geometric mean 1.00), and a candidate run of the same
    configuration that happens to be a slow run (factor 1.08): the true change of the
    configuration is 0. The within-run block bootstrap (≈ ±2% at p50 with 12,000 requests)
    says +8% and excludes 0; the run-level interval (sd of log factors ≈ 0.06, t(0.975, 4)
    = 2.78, sqrt(1/5 + 1) = 1.10: ± ≈ 19%) is wider and contains 0."""
    folder = tmp_path / "nightly"
    for day, scale in enumerate((0.92, 0.96, 1.0, 1.04, 1.08), start=1):
        make_run(folder, f"night-{day}", seed=day, scale=scale, started=_night(day))
    candidate = make_run(tmp_path, "tonight", seed=10, scale=1.08, started=_night(10))
    result = gate(baseline=folder, candidate=candidate, rules=_rules(tmp_path, P50))
    p50 = _p50(result)
    assert (p50.method, p50.runs_baseline, p50.runs_candidate) == (RUNS, 5, 1)
    assert p50.within_low > 0.0, "the within-run interval alone would call this a change"
    assert p50.ci_low < 0.0 < p50.ci_high
    assert p50.ci_high - p50.ci_low > 3 * (p50.within_high - p50.within_low)
    assert 0.05 < p50.run_sd < 0.08  # log-scale sd of (0.92, 0.96, 1, 1.04, 1.08) ≈ 0.064
    assert p50.verdict == PASS
    assert "runs as the unit: 5 baseline + 1 candidate run" in p50.message
    assert "runs as the unit" in result.settings["method"]


def test_clear_30_percent_regression_still_fails_with_runs_as_the_unit(tmp_path: Path) -> None:
    """Baseline: five runs with a realistic ±3% run-to-run spread (sd of log factors ≈ 0.022,
    half-width ≈ 2.78 × 0.022 × 1.10 ≈ 0.068 on the log scale); candidate 30% slower:
    log 1.3 − 0.068 ≈ 0.194, i.e. the interval starts near +21%, beyond the allowed 10%."""
    folder = tmp_path / "nightly"
    for day, scale in enumerate((0.97, 0.99, 1.0, 1.01, 1.03), start=1):
        make_run(folder, f"night-{day}", seed=day, scale=scale, started=_night(day))
    candidate = make_run(tmp_path, "tonight", seed=10, scale=1.3, started=_night(10))
    result = gate(baseline=folder, candidate=candidate, rules=_rules(tmp_path, P50))
    p50 = _p50(result)
    assert p50.method == RUNS and p50.verdict == FAIL and not result.passed
    assert 0.15 < p50.ci_low < p50.change < p50.ci_high
    assert 0.25 < p50.change < 0.35


def test_several_candidate_runs_narrow_the_interval(tmp_path: Path) -> None:
    """The same candidate configuration run 3 times instead of once: sqrt(1/5 + 1/3) = 0.73
    instead of sqrt(1/5 + 1) = 1.10 and more degrees of freedom: a narrower interval."""
    folder = tmp_path / "nightly"
    for day, scale in enumerate((0.97, 0.99, 1.0, 1.01, 1.03), start=1):
        make_run(folder, f"night-{day}", seed=day, scale=scale, started=_night(day))
    cands = tmp_path / "candidates"
    for index, scale in enumerate((0.99, 1.0, 1.01), start=1):
        make_run(cands, f"cand-{index}", seed=20 + index, scale=scale, started=_night(20 + index))
    rules = _rules(tmp_path, P50)
    one = _p50(gate(baseline=folder, candidate=cands / "cand-1", rules=rules))
    three = gate(baseline=folder, candidate=cands, rules=rules)
    p50 = _p50(three)
    assert three.candidate_runs == ("cand-1", "cand-2", "cand-3")
    assert (p50.runs_baseline, p50.runs_candidate) == (5, 3)
    assert p50.ci_high - p50.ci_low < one.ci_high - one.ci_low
    assert p50.ci_low < 0.0 < p50.ci_high and three.passed
    repeated = gate(baseline=folder, candidate=[cands / "cand-1", cands / "cand-2"], rules=rules)
    assert _p50(repeated).runs_candidate == 2


def test_single_runs_fall_back_to_the_block_bootstrap(tmp_path: Path) -> None:
    baseline = make_run(tmp_path, "base", seed=1)
    candidate = make_run(tmp_path, "cand", seed=2)
    p50 = _p50(gate(baseline=baseline, candidate=candidate, rules=_rules(tmp_path, P50)))
    assert (p50.method, p50.runs_baseline, p50.runs_candidate) == (WINDOWS, 1, 1)
    assert (p50.ci_low, p50.ci_high) == (p50.within_low, p50.within_high)
    assert "within-run block bootstrap" in p50.message
    folder = tmp_path / "nightly"
    for day in (1, 2, 3):
        make_run(folder, f"night-{day}", seed=day, started=_night(day))
    forced = _rules(tmp_path, "statistics: {unit: windows}\n" + P50, "windows.yaml")
    p50 = _p50(gate(baseline=folder, candidate=candidate, rules=forced))
    assert (p50.method, p50.runs_baseline) == (WINDOWS, 3)


def test_several_candidates_status_and_bad_candidates(tmp_path: Path) -> None:
    folder = tmp_path / "nightly"
    for day in (1, 2):
        make_run(folder, f"night-{day}", seed=day, started=_night(day))
    cands = tmp_path / "cands"
    make_run(cands, "c1", seed=5, started=_night(5))
    make_run(cands, "c2", seed=6, started=_night(6), status="interrupted", saturated=True)
    rules = _rules(
        tmp_path,
        "rules:\n  - {metric: status, equals: completed}\n"
        "  - {metric: generator_saturated, equals: false}\n" + P50.removeprefix("rules:\n"),
    )
    status, saturated, p50 = gate(baseline=folder, candidate=cands, rules=rules).rules
    assert (status.verdict, status.candidate) == (FAIL, "interrupted")
    assert (saturated.verdict, saturated.candidate) == (FAIL, True)
    assert (p50.method, p50.runs_baseline, p50.runs_candidate) == (RUNS, 2, 2)
    make_run(cands, "other", seed=7, scenario="spike")
    with pytest.raises(InputError, match="different scenarios or targets"):
        gate(baseline=folder, candidate=cands, rules=rules)
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no run directories"):
        gate(baseline=folder, candidate=tmp_path / "empty", rules=rules)


# --------------------------------------------------------------------------- change points


def _points(values: np.ndarray, metric: str = "p99_ms") -> list[Point]:
    return [Point(f"run-{i}", _night(1), "", {metric: float(v)}) for i, v in enumerate(values)]


def test_planted_step_is_found_at_its_position_with_its_size() -> None:
    """24 nightly p99 values, 100 ms with 3% normal noise, ×1.25 from position 16 on: one
    change point, at 16, of about +25% (the segment means' ratio; the noise of a mean of 8-16
    values is < 1.5%), a regression, significant far below 0.001."""
    rng = np.random.default_rng(7)
    values = 100.0 * (1 + 0.03 * rng.standard_normal(24))
    values[16:] *= 1.25
    shifts = find_shifts(_points(values), "p99_ms")
    assert [s.index for s in shifts] == [16]
    shift = shifts[0]
    assert shift.run == "run-16" and shift.regression
    assert shift.change == pytest.approx(0.25, abs=0.04)
    assert shift.pvalue < 1e-6
    assert shift.before == pytest.approx(values[:16].mean())


def test_flat_noisy_series_has_no_change_point() -> None:
    rng = np.random.default_rng(3)
    flat = 100.0 * rng.lognormal(0.0, 0.05, 30)
    assert find_shifts(_points(flat), "p99_ms") == []


def test_direction_throughput_fall_is_worse_p99_fall_is_better() -> None:
    rng = np.random.default_rng(11)
    values = 200.0 * (1 + 0.02 * rng.standard_normal(16))
    values[10:] *= 0.8
    (drop,) = find_shifts(_points(values, "throughput_rps"), "throughput_rps")
    assert drop.index == 10 and drop.regression and drop.change < -0.15
    (faster,) = find_shifts(_points(values), "p99_ms")
    assert faster.index == 10 and not faster.regression


def _history(folder: Path, scales: list[float]) -> list[Path]:
    return [
        make_run(
            folder,
            f"night-{day:02d}",
            seed=day,
            scale=scale,
            started=_night(day),
            run={"label": f"commit-{day:02d}"},
        )
        for day, scale in enumerate(scales, start=1)
    ]


def test_gate_fails_on_a_change_point_among_the_last_k_runs(tmp_path: Path) -> None:
    """Nights 1-7 at scale 1.0, nights 8-9 and the candidate (night 10) 25% slower: the
    p50 shifts at night 8, position 7 of 10; the last 5 runs hold it, the last 2 do not."""
    folder = tmp_path / "nightly"
    runs = _history(folder, [1.0] * 7 + [1.25] * 3)
    candidate = runs[-1]
    rules = _rules(
        tmp_path,
        "rules:\n  - {metric: p50_ms, no_change_point_in_last: 5}\n"
        "  - {metric: p50_ms, no_change_point_in_last: 2}\n"
        "  - {metric: throughput_rps, no_change_point_in_last: 5}\n",
    )
    result = gate(baseline=folder, candidate=candidate, rules=rules)
    five, two, throughput = result.rules
    assert five.verdict == FAIL and five.change_point_run == "night-08"
    assert five.change_point_label == "commit-08"
    assert five.change == pytest.approx(0.25, abs=0.05) and five.pvalue < 0.001
    assert (five.runs_baseline, five.runs_candidate) == (9, 1)
    assert two.verdict == PASS and "night-08" in two.message
    assert throughput.verdict == PASS
    assert not result.passed
    suites = ET.fromstring(junit_xml(result))
    case = suites.find("./testsuite/testcase")
    assert case is not None and case.find("failure") is not None
    props = {p.get("name"): p.get("value") for p in case.iter("property")}
    assert props["change_point_run"] == "night-08" and float(props["pvalue"]) < 0.001
    assert "change points (10 runs), at night-08" in markdown_summary(result)


def test_change_point_rule_with_one_baseline_run_is_inconclusive(tmp_path: Path) -> None:
    baseline = make_run(tmp_path, "base", seed=1)
    candidate = make_run(tmp_path, "cand", seed=2)
    rules = _rules(tmp_path, "rules:\n  - {metric: p99_ms, no_change_point_in_last: 3}\n")
    (rule,) = gate(baseline=baseline, candidate=candidate, rules=rules).rules
    assert rule.verdict == "inconclusive" and "folder of past runs" in rule.message


# --------------------------------------------------------------------------- the CLI


def _benchctl(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The installed ``benchctl`` as a user runs it, from ``cwd``."""
    return subprocess.run(
        [str(BENCHCTL), *args],
        cwd=cwd,
        env={**os.environ, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def test_cli_gate_and_history_on_run_directories(tmp_path: Path) -> None:
    """Relative paths from a fresh folder: a nightly folder of 8 runs (step +25% at night 6),
    two candidate runs by the repeated flag; every output says runs as the unit, 8+2."""
    work = tmp_path / "ci"
    work.mkdir()
    _history(work / "nightly", [1.0] * 5 + [1.25] * 3)
    for index in (1, 2):
        make_run(
            work / "runs", f"cand-{index}", seed=40 + index, scale=1.25, started=_night(20 + index)
        )
    _rules(
        work,
        "baseline: {last: 8}\nrules:\n  - {metric: status, equals: completed}\n"
        "  - {metric: p50_ms, max_increase: 10%}\n",
    )
    done = _benchctl(
        "gate", "--baseline", "nightly", "--candidate", "runs/cand-1",
        "--candidate", "runs/cand-2", "--rules", "gate.yaml",
        "--junit", "gate.xml", "--markdown", "gate.md", "--json", "gate.json",
        cwd=work,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "runs (8+2)" in done.stdout and "runs as the unit" in done.stdout
    case = ET.parse(work / "gate.xml").findall("./testsuite/testcase")[1]
    props = {p.get("name"): p.get("value") for p in case.iter("property")}
    assert (props["method"], props["runs_baseline"], props["runs_candidate"]) == (RUNS, "8", "2")
    assert "| runs (8+2) |" in (work / "gate.md").read_text()
    document = json.loads((work / "gate.json").read_text())
    assert document["candidate_runs"] == ["cand-1", "cand-2"]
    assert document["rules"][1]["method"] == RUNS

    done = _benchctl("history", "nightly", "--json", "history.json", cwd=work)
    assert done.returncode == 0, done.stdout + done.stderr
    shifts = json.loads((work / "history.json").read_text())["change_points"]
    p50 = [s for s in shifts if s["metric"] == "p50_ms"]
    assert [(s["run"], s["label"], s["regression"]) for s in p50] == [
        ("night-06", "commit-06", True)
    ]
    assert "night-06" in done.stdout and "commit-06" in done.stdout
    assert "Change points" in (work / "nightly" / "history.html").read_text()


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("history", "nightly", "--max-pvalue", "2"), "--max-pvalue: must be in (0, 1), e.g."),
        (("gate", "--rules", "bad.yaml"), "bad.yaml:2: "),
    ],
)
def test_cli_bad_input_is_one_line_and_exit_2(
    tmp_path: Path, args: tuple[str, ...], expected: str
) -> None:
    _history(tmp_path / "nightly", [1.0] * 3)
    _rules(tmp_path, "rules:\n  - {metric: p50_ms, no_change_point_in_last: 0}\n", "bad.yaml")
    if args[0] == "gate":
        args = (*args, "--baseline", "nightly", "--candidate", "nightly/night-03")
    done = _benchctl(*args, cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], done.stderr
    assert "Traceback" not in done.stderr
