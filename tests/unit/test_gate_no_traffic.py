"""The gate never passes what it could not judge: a run that served nothing fails (naming
the run) in the terminal, Markdown and JUnit; a rule below min_samples is decided on an
exact small-sample interval where that interval decides, and the headline says when rules
stayed inconclusive (never a plain PASS). Known answers are worked out in each docstring."""

from __future__ import annotations

import io
import json
import math
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console

from benchctl.analysis.gate import FAIL, INCONCLUSIVE, PASS, gate
from benchctl.analysis.gate.exact import (
    latency_ratio,
    proportion_difference,
    quantile_bounds,
    rate_ratio,
)
from benchctl.analysis.gate.headline import headline
from benchctl.analysis.gate.intervals import method_summary
from benchctl.analysis.gate.rules import StatisticsSpec
from benchctl.analysis.gate_report import json_text, junit_xml, markdown_summary
from benchctl.cli import main
from benchctl.reports.terminal.gate import print_gate
from tests.unit.test_gate import make_run

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "gate.yaml"


def _terminal(result) -> str:
    out = io.StringIO()
    print_gate(Console(file=out, width=200, color_system=None), result)
    return " ".join(out.getvalue().split())


# --------------------------------------------------------------------------- exact intervals


def test_order_statistic_interval_of_a_median() -> None:
    """Values 1..10, median, 90%: B ~ Binomial(10, 0.5), F(1) = 11/1024 < 0.05 <= F(2) =
    56/1024, so l = 2; F(7) = 968/1024 < 0.95 <= F(8) = 1013/1024, so u = 8 + 1 = 9: the
    interval is [x_(2), x_(9)] = [2, 9] (coverage F(8) - F(1) = 1002/1024 = 97.9%)."""
    assert quantile_bounds(np.arange(1, 11), 0.5, 0.90) == (2.0, 9.0)


def test_a_p99_of_few_values_has_no_upper_bound() -> None:
    """100 values, p99 at 97.5%: P(B <= 99) for B ~ Binomial(100, 0.99) is 1 - 0.99^100 =
    0.634 < 0.9875, so the upper rank would be 101 > n: open (inf), and the ratio's lower end
    against such a baseline is -100%."""
    low, high = quantile_bounds(np.arange(1, 101), 0.99, 0.975)
    assert math.isinf(high) and low > 0
    assert latency_ratio(np.arange(1, 101), np.arange(1, 101) * 3.0, 0.99, 0.95)[0] == -1.0


def test_throughput_to_zero_is_a_certain_loss() -> None:
    """0 successes against 329 in equal times: k = 329, the Clopper-Pearson upper end of pi
    with 0 events is 1 - 0.025^(1/329) = 0.011149, so the ratio's upper end is
    0.011149 / 0.988851 - 1 = -0.98872 and its lower end -1."""
    low, high = rate_ratio(329, 10.0, 0, 10.0, 0.95)
    upper = 1 - 0.025 ** (1 / 329)
    assert low == -1.0
    assert high == pytest.approx(upper / (1 - upper) - 1, rel=1e-9)
    assert high == pytest.approx(-0.98872, abs=1e-5)


def test_newcombe_difference_of_all_failed_against_none() -> None:
    """0/200 failed against 200/200: Wilson's upper end for 0/200 is w = (z^2/n) / (1 +
    z^2/n) with z = 1.95996, z^2 / 200 = 0.0192073, w = 0.0188453; Newcombe's lower end is
    1 - sqrt(w^2 + w^2) = 1 - 0.0266516 = 0.973348, the upper end 1."""
    low, high = proportion_difference(0, 200, 200, 200, 0.95)
    assert low == pytest.approx(0.973348, abs=1e-6) and high == pytest.approx(1.0)


# --------------------------------------------------------------------------- no traffic


@pytest.mark.parametrize(
    ("kwargs", "what"),
    [({"error_rate": 1.0}, "every one failed"), ({"requests": 0}, "nothing was sent")],
)
def test_a_run_that_served_nothing_fails_everywhere(tmp_path: Path, kwargs, what) -> None:
    """The example rules against a candidate with no successful request (all failed, or
    none sent): the first row fails naming the run; the absolute p99 rule and the relative
    latency rules fail for lack of data; throughput from the baseline's rate to 0 is -100%,
    a fail; terminal, Markdown and JUnit all say FAIL and why; exit 1."""
    base = make_run(tmp_path, "base", seed=1, requests=3000)
    cand = make_run(tmp_path, "cand", seed=2, **kwargs)
    result = gate(baseline=base, candidate=cand, rules=EXAMPLE)
    verdicts = {rule.name: rule for rule in result.rules}
    first = result.rules[0]
    assert first.name == "candidate cand served requests" and first.verdict == FAIL
    assert "the candidate run cand has no successful requests after the warm-up (" in (
        first.message
    )
    assert f"{what}): a run that served nothing cannot pass" in first.message
    assert verdicts["p99_ms <= 250"].verdict == FAIL
    assert verdicts["p99_ms <= 250"].message.startswith("no successful requests")
    throughput = verdicts["throughput_rps decrease <= 5%"]
    assert throughput.verdict == FAIL and throughput.change == -1.0
    assert verdicts["p50_ms increase <= 10%"].verdict == FAIL
    assert not any(rule.verdict == INCONCLUSIVE for rule in result.rules)
    assert not result.passed
    assert headline(result) == "FAIL (no successful requests: candidate cand)"
    assert "gate FAIL (no successful requests: candidate cand)" in _terminal(result)
    assert "## benchctl gate: ❌ FAIL (no successful requests: candidate cand)" in (
        markdown_summary(result)
    )
    suite = ET.fromstring(junit_xml(result)).find("testsuite")
    assert suite is not None
    props = {p.get("name"): p.get("value") for p in suite.find("properties") or []}
    assert props["verdict"] == "FAIL (no successful requests: candidate cand)"
    case = suite.find("testcase")
    assert case is not None and case.find("failure").get("type") == "no_traffic"
    argv = ["gate", "--baseline", str(base), "--candidate", str(cand), "--rules", str(EXAMPLE)]
    assert main(argv) == 1


def test_a_baseline_that_served_nothing_fails_too(tmp_path: Path) -> None:
    """No successful request in the baseline: nothing to compare with, the gate fails and
    names the baseline run."""
    base = make_run(tmp_path, "base", seed=1, requests=3000, error_rate=1.0)
    cand = make_run(tmp_path, "cand", seed=2, requests=3000)
    result = gate(baseline=base, candidate=cand, rules=EXAMPLE)
    assert not result.passed
    assert headline(result) == "FAIL (no successful requests: baseline base)"


# --------------------------------------------------------------------------- headline


def test_undecided_rules_never_give_a_plain_pass(tmp_path: Path) -> None:
    """300 requests a side from the same latency law (about 277 successes after the
    warm-up): no p99 ratio can be bounded (the upper rank needed is beyond n, see
    test_a_p99_of_few_values_has_no_upper_bound), so that rule is not decided; the headline
    counts the undecided rules and every output carries it: terminal title, Markdown heading
    (no ✅), JUnit property and system-out. Exit 0 (inconclusive passes unless strict)."""
    base = make_run(tmp_path, "base", seed=1, requests=300)
    cand = make_run(tmp_path, "cand", seed=2, requests=300)
    result = gate(baseline=base, candidate=cand, rules=EXAMPLE)
    undecided = [rule.name for rule in result.rules if rule.verdict == INCONCLUSIVE]
    assert "p99_ms increase <= 10%" in undecided and result.passed
    text = f"PASS (inconclusive: {len(undecided)} rules had too little data)"
    assert headline(result) == text
    assert f"gate {text}" in _terminal(result)
    markdown = markdown_summary(result)
    assert f"## benchctl gate: ⚠️ {text}" in markdown and "✅ PASS" not in markdown
    suite = ET.fromstring(junit_xml(result)).find("testsuite")
    assert suite is not None
    props = {p.get("name"): p.get("value") for p in suite.find("properties") or []}
    assert props["verdict"] == text
    assert suite.findtext("system-out", "").endswith(f"gate {text}")
    assert json.loads(json_text(result))["verdict"] == text
    argv = ["gate", "--baseline", str(base), "--candidate", str(cand), "--rules", str(EXAMPLE)]
    assert main(argv) == 0


def test_decided_runs_give_a_plain_pass(tmp_path: Path) -> None:
    """12,000 requests a side from the same law: every rule decided, a plain PASS."""
    base = make_run(tmp_path, "base", seed=1)
    cand = make_run(tmp_path, "cand", seed=2)
    result = gate(baseline=base, candidate=cand, rules=EXAMPLE)
    assert all(rule.verdict == PASS for rule in result.rules)
    assert headline(result) == "PASS"
    assert "## benchctl gate: ✅ PASS" in markdown_summary(result)


def test_intervals_line_counts_relative_rules_without_an_interval(tmp_path: Path) -> None:
    """Four relative rules, none with an interval (the candidate served nothing): the
    intervals line says so instead of "no relative rule"."""
    base = make_run(tmp_path, "base", seed=1, requests=3000)
    cand = make_run(tmp_path, "cand", seed=2, requests=0)
    result = gate(baseline=base, candidate=cand, rules=EXAMPLE)
    line = method_summary(result.rules, StatisticsSpec())
    assert line == "none: the 4 relative rules had no data to make one from"
    assert f"intervals: {line}" in _terminal(result)
