"""A relative rule passes unless its whole interval is beyond the limit; a pass whose interval
reaches past the limit is marked "not proven" in the terminal table, gate.md and JUnit, with
an overall line, and the exit code stays 0.

Known values (the trial's case): p50 change +40.2%, 95% interval [+2.2%, +92.4%], rule
``max_increase: 10%``: the lower end +2.2% <= +10%, so the rule passes, and the upper end
+92.4% > +10%, so a regression past the limit is not ruled out."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from pathlib import Path

from rich.console import Console

from benchctl.analysis.gate import FAIL, PASS, GateResult, RuleResult
from benchctl.analysis.gate.unproven import not_proven_summary, not_proven_text
from benchctl.analysis.gate_report import junit_xml, markdown_summary
from benchctl.cli import main
from benchctl.reports.terminal.gate import print_gate
from tests.unit.test_gate import make_run

TRIAL_TEXT = "not proven: the interval reaches +92.4%, beyond the +10% limit; more runs narrow it"


def _rule(name: str, bound: str, change: float, low: float, high: float, **kw) -> RuleResult:
    verdict = kw.pop("verdict", PASS)
    return RuleResult(
        name=name, metric=kw.pop("metric", "p50_ms"), bound=bound, limit=0.1, phase="steady",
        relative=True, verdict=verdict, message="m", baseline=10.0, candidate=14.02,
        change=change, ci_low=low, ci_high=high, change_kind=kw.pop("kind", "ratio"), **kw,
    )  # fmt: skip


def _result(*rules: RuleResult) -> GateResult:
    return GateResult(
        passed=all(r.verdict != FAIL for r in rules), candidate="cand", candidate_path="cand",
        scenario="steady", target="kserve", baseline_runs=("b1", "b2", "b3"),
        rules_file="gate.yaml", rules=rules, settings={"method": "runs"},
    )  # fmt: skip


TRIAL = _rule("p50_ms increase <= 10%", "max_increase", 0.402, 0.022, 0.924)
CLEAN = _rule("p99_ms increase <= 10%", "max_increase", 0.01, -0.03, 0.08)


def test_known_values_give_the_words() -> None:
    assert not_proven_text(TRIAL) == TRIAL_TEXT
    assert not_proven_text(CLEAN) == ""  # +8% upper end is within +10%: a clean pass
    # throughput may fall by 10%: lower end -25.0% is beyond -10%
    fall = _rule("tp", "max_decrease", -0.05, -0.25, 0.12, metric="throughput_rps")
    assert not_proven_text(fall) == (
        "not proven: the interval reaches -25.0%, beyond the -10% limit; more runs narrow it"
    )
    # error rate, a difference in percentage points: +12.0 pp upper end > +10 pp
    errors = _rule("err", "max_increase", 0.02, -0.01, 0.12, metric="error_rate", kind="difference")
    assert "reaches +12.0 pp, beyond the +10 pp limit" in not_proven_text(errors)
    # a failed rule (whole interval beyond) is a failure, not "not proven"
    failed = _rule("f", "max_increase", 0.4, 0.2, 0.6, verdict=FAIL)
    assert not_proven_text(failed) == ""
    assert not_proven_summary(_result(CLEAN)) == ""
    assert not_proven_summary(_result(TRIAL, CLEAN)).startswith(
        "not proven: 1 rule passed although the interval reaches beyond the limit "
        "(p50_ms increase <= 10%)"
    )


def test_markdown_junit_and_terminal_mark_the_pass() -> None:
    result = _result(TRIAL, CLEAN)
    markdown = markdown_summary(result)
    assert "## benchctl gate: ⚠️ PASS (not proven)" in markdown
    assert f"| ⚠️ pass ({TRIAL_TEXT}) |" in markdown
    assert "| ✅ pass |" in markdown  # the clean rule stays a plain pass
    assert "**not proven: 1 rule passed" in markdown

    suite = ET.fromstring(junit_xml(result)).find("testsuite")
    assert suite is not None and suite.get("failures") == "0"
    cases = {c.get("name"): c for c in suite.findall("testcase")}
    trial = cases["p50_ms increase <= 10%"]
    props = {p.get("name"): p.get("value") for p in trial.iter("property")}
    assert props["not_proven"] == TRIAL_TEXT
    assert trial.find("failure") is None and trial.find("skipped") is None
    assert trial.findtext("system-out") == f"p50_ms increase <= 10%: pass ({TRIAL_TEXT})"
    assert cases["p99_ms increase <= 10%"].find("system-out") is None
    assert suite.findtext("system-out", "").startswith("not proven: 1 rule passed")

    out = io.StringIO()
    print_gate(Console(file=out, width=80, color_system=None), result)
    text = out.getvalue()
    assert "gate PASS (not proven)" in text and "pass (not proven)" in text
    assert f"p50_ms increase <= 10%: pass ({TRIAL_TEXT})" in " ".join(text.split())


def test_clean_pass_is_unchanged() -> None:
    result = _result(CLEAN)
    assert "## benchctl gate: ✅ PASS" in markdown_summary(result)
    assert "not proven" not in junit_xml(result)


def test_cli_exit_code_stays_0_and_outputs_say_not_proven(tmp_path: Path, capsys) -> None:
    """Seeded runs (3,000 requests each, lognormal median 10 ms, candidate latencies x1.08,
    one run a side: the within-run block bootstrap): the gate measures p50 +12.7% with a 95%
    interval of about [+8.9%, +15.6%]; its lower end is within +10%, so the rule passes
    (exit 0), and its upper end is past +10%, so the pass is marked not proven."""
    base = make_run(tmp_path, "base", seed=1, requests=3000)
    cand = make_run(tmp_path, "cand", seed=2, requests=3000, scale=1.08)
    rules = tmp_path / "gate.yaml"
    rules.write_text("rules:\n  - {metric: p50_ms, max_increase: 10%}\n")
    md = tmp_path / "gate.md"
    argv = ["gate", "--baseline", str(base), "--candidate", str(cand), "--rules", str(rules)]
    assert main([*argv, "--markdown", str(md)]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "gate PASS (not proven)" in out
    assert "pass (not proven: the interval reaches +" in out
    assert ", beyond the +10% limit; more runs narrow it)" in out
    assert "not proven: 1 rule passed" in out
    assert "⚠️ pass (not proven: the interval reaches +" in md.read_text()
