"""Trial-6 findings 2 and 3: ``gate RUN@stable RUN@canary`` judges a split run's throughput
against what each arm was offered (its share), not the raw share difference; the split run's
own percentile verdicts use the gate's minimum sample count for a pXX rule.

The split run is synthetic (requests.parquet with an ``arm`` column, run.json with the arms'
shares and an open-loop plan), gated by the installed ``benchctl`` from a fresh folder."""

from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from benchctl.analysis.gate.exact import proportion_ratio
from benchctl.analysis.gate.offered import OPEN_LOOP, offered_basis
from benchctl.analysis.gate.runs import load_run
from benchctl.analysis.verdicts import judge
from benchctl.load.records import to_table
from benchctl.reports.terminal.split import undecided_lines
from tests.unit.run_files import (
    completed_run_info,
    installed_benchctl,
    open_loop_plan,
    request_columns,
)

RUN_ID = "20261130T103648Z-steady-stable"
RULES = "min_samples: 1000\nrules:\n  - {metric: throughput_rps, max_decrease: 5%}\n"


def split_run(
    runs: Path, *, canary_failing: float = 0.0, weights: tuple[int, int] = (70, 30)
) -> Path:
    """``runs/RUN_ID``: steady 20 req/s for 50 s (5 s warm-up), one request every 0.05 s,
    every 10th request to the canary when the weights are 70/30 (request i goes to the
    canary when i % 10 < 3), else every other request (50/50). Latency 5 ms stable, 15 ms
    canary. ``canary_failing``: the fraction of the canary's requests that fail (http_5xx),
    spread evenly (every second one for 0.5)."""
    path = runs / RUN_ID
    path.mkdir(parents=True)
    n = 1000
    t = np.arange(n) * 0.05
    canary = (np.arange(n) % 10 < 3) if weights == (70, 30) else (np.arange(n) % 2 == 1)
    error = np.full(n, "", dtype=object)
    if canary_failing:
        step = round(1 / canary_failing)
        index = np.flatnonzero(canary)
        error[index[::step]] = "http_5xx"
    columns = request_columns(t, np.where(canary, 15.0, 5.0), error.astype(str))
    phase = (t >= 5.0).astype(int)
    table = to_table(columns, ["warmup", "steady"], phase)
    arm = pa.array(np.where(canary, "canary", "stable")).dictionary_encode()
    table = table.set_column(table.schema.get_field_index("arm"), "arm", arm)
    pq.write_table(table, path / "requests.parquet")
    total = sum(weights)
    arms = [
        {"name": name, "weight": float(w), "share": w / total, "spec": {"kind": "kserve"}}
        for name, w in zip(("stable", "canary"), weights, strict=True)
    ]
    phases = [
        {"name": "warmup", "start": 0.0, "end": 5.0},
        {"name": "steady", "start": 5.0, "end": 50.0},
    ]
    plan = {**open_loop_plan(50.0, phases, []), "expected_requests": 1000.0}
    scenario = {"name": "steady", "time_scale": 1.0, "spec": {"kind": "steady", "rate": 20}}
    target = {"name": "stable", "spec": {"kind": "kserve"}}
    info = {
        **completed_run_info(RUN_ID, scenario, plan, target),
        "arms": {"control": "stable", "arms": arms},
    }
    (path / "run.json").write_text(json.dumps(info))
    return path


def _gate(tmp_path: Path) -> tuple[int, str, dict]:
    """``benchctl gate`` on the arms, as a user types it in ``tmp_path`` (relative runs/)."""
    (tmp_path / "gate.yaml").write_text(RULES)
    done = installed_benchctl(
        "gate", "--baseline", f"runs/{RUN_ID}@stable", "--candidate", f"runs/{RUN_ID}@canary",
        "--rules", "gate.yaml", "--junit", "gate.xml", "--markdown", "gate.md",
        "--json", "gate.json", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode in (0, 1), done.stdout + done.stderr
    rule = json.loads((tmp_path / "gate.json").read_text())["rules"][0]
    return done.returncode, " ".join(done.stdout.split()), rule


def test_a_canary_that_served_its_whole_share_passes_the_throughput_rule(tmp_path: Path) -> None:
    """After the 5 s warm-up 900 requests: i in 100..999, the canary 3 of every 10 (270),
    the stable arm 630. Raw throughput 270 / 45 s = 6.0 against 630 / 45 s = 14.0 req/s,
    -57.1%: only the 30/70 shares. Each arm served all it was offered (270/270, 630/630), so
    the change judged is 1.0 / 1.0 - 1 = 0%: pass, exit 0; every output says what each arm
    was offered (14.0 and 6.0 req/s) and why."""
    split_run(tmp_path / "runs")
    code, out, rule = _gate(tmp_path)
    assert code == 0, out
    assert rule["verdict"] == "pass" and rule["change"] == 0.0, rule
    assert math.isclose(rule["baseline"], 14.0) and math.isclose(rule["candidate"], 6.0)
    assert math.isclose(rule["baseline_offered"], 14.0)
    assert math.isclose(rule["candidate_offered"], 6.0)
    assert rule["offered_basis"] == "split arms: offered by their shares, 70% and 30%"
    assert "6.0 req/s (100% of 6.0 offered)" in out
    assert "-57.1%" not in out
    markdown = (tmp_path / "gate.md").read_text()
    assert "| 14.0 req/s (100% of 14.0 offered) | 6.0 req/s (100% of 6.0 offered) | +0.0%" in (
        markdown
    )
    assert "judged against what each side was offered" in markdown
    case = ET.parse(tmp_path / "gate.xml").getroot().find("./testsuite/testcase")
    assert case is not None and case.find("failure") is None and case.find("skipped") is None
    props = {p.get("name"): p.get("value") for p in case.iter("property")}
    assert props["offered_basis"].startswith("split arms") and props["change"] == "0.0"


def test_a_canary_that_dropped_half_its_share_fails_the_throughput_rule(tmp_path: Path) -> None:
    """The same run, every second canary request failing: the canary served 135 of its 270
    (50.0%), the stable arm 630 of 630, so the change is 0.5 / 1.0 - 1 = -50%. With 270 <
    min_samples 1000 the interval is the exact one: 135/270's Wilson interval at 97.5% is
    about [0.43, 0.57], so the change is at most about -43%, wholly beyond -5%: fail, exit 1,
    a JUnit failure of type regression."""
    split_run(tmp_path / "runs", canary_failing=0.5)
    code, out, rule = _gate(tmp_path)
    assert code == 1, out
    assert rule["verdict"] == "fail" and math.isclose(rule["change"], -0.5), rule
    assert rule["ci_high"] < -0.4, rule
    assert "gate FAIL (regression)" in out
    case = ET.parse(tmp_path / "gate.xml").getroot().find("./testsuite/testcase")
    failure = case.find("failure") if case is not None else None
    assert failure is not None and failure.get("type") == "regression"
    assert "candidate 50.0% of 6 req/s" in failure.get("message", "")


def test_equal_shares_and_whole_runs_judge_served_fraction_when_open_loop(
    tmp_path: Path,
) -> None:
    """50/50 arms of one run are offered the same 10 req/s (20 x 0.5) by design, but their
    arrivals (like any open-loop run's) are a draw, not the server's doing (trial 7, F7): the
    open-loop basis, served fraction judged. 70/30 arms: the basis names the shares. The same
    runs made closed loop (plan.open_loop false) keep raw throughput: no basis."""
    run = split_run(tmp_path / "even", weights=(50, 50))
    base, cand = load_run(Path(f"{run}@stable")), load_run(Path(f"{run}@canary"))
    assert offered_basis([base], [cand]) == OPEN_LOOP
    run = split_run(tmp_path / "uneven")
    base, cand = load_run(Path(f"{run}@stable")), load_run(Path(f"{run}@canary"))
    assert offered_basis([base], [cand]) == "split arms: offered by their shares, 70% and 30%"
    assert offered_basis([load_run(run)], [load_run(run)]) == OPEN_LOOP
    info = json.loads((run / "run.json").read_text())
    info["plan"]["open_loop"] = False
    (run / "run.json").write_text(json.dumps(info))
    assert offered_basis([load_run(run)], [load_run(run)]) is None


def test_served_ratio_interval_known_answer() -> None:
    """100 of 100 served on both sides, 95%: each side's Wilson interval at 97.5% (z =
    2.2414, z^2 = 5.0239) is [100 / 105.0239, 1] = [0.95216, 1], so the ratio's interval is
    [0.95216 / 1 - 1, 1 / 0.95216 - 1] = [-4.784%, +5.024%]."""
    low, high = proportion_ratio(100, 100, 100, 100, 0.95)
    assert low == pytest.approx(-0.04784, abs=2e-5)
    assert high == pytest.approx(0.05024, abs=2e-5)


def test_split_p99_needs_the_gates_minimum_of_100() -> None:
    """p99 needs ceil(1 / (1 - 0.99)) = 100 successes an arm (the gate's ``p99_ms`` rule).
    98 canary successes 14-16 ms against 222 control ones 4-6 ms (evenly spaced): latency
    and p50 fail, p99 is inconclusive with its observed difference kept: the canary's p99 is
    its rank ceil(0.99 x 98) = 98, 16.0 ms, the control's rank ceil(0.99 x 222) = 220,
    4 + 2 x 219/221 = 5.9819 ms, so +10.018 ms; error rate passes; score = 1 of 3 judged = 33%; the
    p99 either way gives 25% or 50%, both fail, so the verdict is fail. Identical arms of
    98: three metrics pass, p99 undecided: 75% (marginal) or 100% (pass), so inconclusive.
    With 100 successes a side p99 has its minimum, but (as gate widens the same rule) 100
    cannot bound a p99 from above at 98.75% (0.99**100 = 0.37 > 0.0125): inconclusive, as
    gate's [-100%, +inf]; with 437 a side (0.99**437 = 0.0124) identical arms 4-6 ms
    (step 2/436) have the exact interval [x_(427) - x_(437), x_(437) - x_(427)] = +-10 x
    2/436 = +-0.0459 ms, within the 1 ms tolerance: pass."""
    rng = np.random.default_rng(3)
    control = {"latency": np.linspace(4.0, 6.0, 222), "sent": 222, "errors": 0}
    slow = {"latency": np.linspace(14.0, 16.0, 98), "sent": 98, "errors": 0}
    found = judge(control, slow, rng)
    p99 = found["metrics"]["latency_p99"]
    assert p99["class"] == "inconclusive" and p99["needed"] == 100 and p99["samples"] == 98
    assert "only 98 successful requests in the arm (needs 100 for p99)" in p99["note"]
    assert p99["effect"] == pytest.approx(16.0 - (4.0 + 2.0 * 219 / 221))
    assert found["metrics"]["latency_p50"]["class"] == "fail"
    assert found["score"] == pytest.approx(100 / 3) and found["verdict"] == "fail"
    assert undecided_lines({"verdicts": {"canary": found}}) == [
        "canary latency_p99: only 98 successful requests in the arm (needs 100 for p99): not judged"
    ]
    same = {"latency": np.linspace(4.0, 6.0, 98), "sent": 98, "errors": 0}
    assert judge(same, same, rng)["verdict"] == "inconclusive"
    enough = {"latency": np.linspace(4.0, 6.0, 100), "sent": 100, "errors": 0}
    judged = judge(enough, enough, rng)["metrics"]["latency_p99"]
    assert "needed" not in judged and judged["class"] == "inconclusive"
    assert judged["exact_ci"] == [None, None]
    bounded = {"latency": np.linspace(4.0, 6.0, 437), "sent": 437, "errors": 0}
    judged = judge(bounded, bounded, rng)
    assert judged["metrics"]["latency_p99"]["exact_ci"] == pytest.approx([-20 / 436, 20 / 436])
    assert judged["metrics"]["latency_p99"]["class"] == "pass" and judged["verdict"] == "pass"
