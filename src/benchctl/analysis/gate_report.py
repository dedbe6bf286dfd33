"""What ``benchctl gate`` hands to CI: JUnit XML, a Markdown summary, JSON (and the cells of
the terminal table, ``benchctl.reports.terminal.gate``).

JUnit: one ``<testcase>`` per rule, ``<failure>`` when it failed, ``<skipped>`` when it was
inconclusive (too few samples), and the numbers as ``<property>`` elements. Every output
says how each interval was made (``method``: ``runs``, Student's t on per-run values, or
``windows``, the within-run block bootstrap) and how many runs it rests on.
"""

from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET
from dataclasses import asdict
from pathlib import Path
from typing import Any

from benchctl.analysis.gate import (
    CHANGE_POINT,
    FAIL,
    INCONCLUSIVE,
    LATENCY,
    PASS,
    RUNS,
    WINDOWS,
    GateResult,
    RuleResult,
)
from benchctl.analysis.gate.headline import headline, qualified
from benchctl.analysis.gate.traffic import TRAFFIC
from benchctl.analysis.gate.unproven import not_proven_summary, not_proven_text
from benchctl.rundir import write_atomic

_ICON = {PASS: "✅ pass", FAIL: "❌ fail", INCONCLUSIVE: "⚠️ inconclusive"}


def write_gate_outputs(
    result: GateResult,
    *,
    junit: Path | None = None,
    markdown: Path | None = None,
    json_path: Path | None = None,
) -> list[Path]:
    """Write whichever outputs were asked for; returns their paths."""
    writers = [(junit, junit_xml), (markdown, markdown_summary), (json_path, json_text)]
    written = []
    for path, render in writers:
        if path is not None:
            written.append(_write(Path(path), render(result)))
    return written


def _write(path: Path, text: str) -> Path:
    return write_atomic(path, text)  # never through a symlink; InputError if not writable


# --------------------------------------------------------------------------- formats


def json_text(result: GateResult) -> str:
    """The GateResult as indented JSON (NaN and infinities as null), one trailing newline;
    ``verdict`` after ``passed`` is the headline every output shows (``headline``)."""
    fields = asdict(result)
    document = {"passed": fields.pop("passed"), "verdict": headline(result), **fields}
    return json.dumps(_clean(document), indent=2, allow_nan=False) + "\n"


def junit_xml(result: GateResult) -> str:
    """The GateResult as JUnit XML: one testcase per rule; a failed rule is a failure, an
    inconclusive one is skipped; the runs and settings as properties, warnings as
    system-out."""
    counts = {
        "tests": str(len(result.rules)),
        "failures": str(result.count(FAIL)),
        "skipped": str(result.count(INCONCLUSIVE)),
        "errors": "0",
    }
    suites = ET.Element("testsuites", name="benchctl gate", **counts)
    suite = ET.SubElement(
        suites, "testsuite", name=f"benchctl gate: {result.scenario} on {result.target}", **counts
    )
    properties = ET.SubElement(suite, "properties")
    facts = {
        "verdict": headline(result),
        "candidate": result.candidate,
        "candidate_runs": ", ".join(result.candidate_runs or (result.candidate,)),
        "baseline_runs": ", ".join(result.baseline_runs),
        "rules_file": result.rules_file,
        **{
            k: str(v).lower() if isinstance(v, bool) else str(v)
            for k, v in result.settings.items()
            if not isinstance(v, dict)
        },
        **{
            f"{k}.{key}": str(value)
            for k, v in result.settings.items()
            if isinstance(v, dict)
            for key, value in v.items()
        },
    }
    for name, value in facts.items():
        ET.SubElement(properties, "property", name=name, value=value)
    for rule in result.rules:
        _testcase(suite, rule)
    summary = [not_proven_summary(result)] if not_proven_summary(result) else []
    lines = [*summary, *result.warnings, f"gate {headline(result)}"]
    ET.SubElement(suite, "system-out").text = "\n".join(lines)
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"


def _testcase(suite: ET.Element, rule: RuleResult) -> None:
    case = ET.SubElement(
        suite, "testcase", name=rule.name, classname=f"benchctl.gate.{rule.phase}", time="0"
    )
    properties = ET.SubElement(case, "properties")
    for key in ("metric", "bound", "limit", "phase", "baseline", "candidate", "change"):
        _property(properties, key, getattr(rule, key))
    for key in ("ci_low", "ci_high", "change_kind", "baseline_samples", "candidate_samples"):
        _property(properties, key, getattr(rule, key))
    for key in RULE_FIELDS:
        _property(properties, key, getattr(rule, key))
    if rule.verdict == FAIL:
        kind = "no_traffic" if rule.metric == TRAFFIC else "regression"
        ET.SubElement(case, "failure", message=rule.message, type=kind).text = (
            f"{rule.name}: baseline {side_text(rule, 'baseline')}, "
            f"candidate {side_text(rule, 'candidate')}; {rule.message}"
        )
    elif rule.verdict == INCONCLUSIVE:
        ET.SubElement(case, "skipped", message=f"inconclusive: {rule.message}")
    _not_proven_junit(case, properties, rule)


def _not_proven_junit(case: ET.Element, properties: ET.Element, rule: RuleResult) -> None:
    """A pass whose interval reaches beyond the limit: a ``not_proven`` property and the
    reason as the testcase's system-out (it stays a passed testcase)."""
    text = not_proven_text(rule)
    if text:
        _property(properties, "not_proven", text)
        ET.SubElement(case, "system-out").text = f"{rule.name}: pass ({text})"


def _property(parent: ET.Element, name: str, value: Any) -> None:
    if value is not None:
        text = str(value).lower() if isinstance(value, bool) else str(value)
        ET.SubElement(parent, "property", name=name, value=text)


def markdown_summary(result: GateResult) -> str:
    """A table for a CI job page ($GITHUB_STEP_SUMMARY): rule, numbers, change, verdict."""
    answer = headline(result)
    verdict = (
        f"❌ {answer}" if not result.passed else f"⚠️ {answer}" if qualified(result) else "✅ PASS"
    )
    level = f"{result.settings.get('confidence', 0.95):.0%}"
    lines = [
        f"## benchctl gate: {verdict}",
        "",
        f"Candidate `{result.candidate}` ({result.scenario} on {result.target}) against "
        f"{baseline_text(result)}.",
        "",
        f"| rule | baseline | candidate | change ({level} CI) | interval from | verdict |",
        "|---|---:|---:|---:|---|---|",
    ]
    for rule in result.rules:
        cells = [
            _md(rule.name),
            side_text(rule, "baseline"),
            side_text(rule, "candidate"),
            change_text(rule),
            basis_text(rule),
            _md_verdict(rule),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    notes = [f"- {_md(r.name)}: {_md(r.message)}" for r in result.rules if r.verdict != PASS]
    notes += [
        f"- {_md(r.name)}: pass ({_md(t)})" for r in result.rules if (t := not_proven_text(r))
    ]
    notes += [f"- {_md(r.name)}: {_md(t)}" for r in result.rules if (t := offered_note(r))]
    if summary := not_proven_summary(result):
        notes += ["", f"**{_md(summary)}**"]
    lines += ["", *notes] if notes else []
    if result.warnings:
        lines += ["", "**Warnings**", "", *[f"- {_md(w)}" for w in result.warnings]]
    lines += [
        "",
        "<sub>A relative rule fails only when its whole confidence interval lies beyond the "
        f"allowed change. Intervals: {_md(str(result.settings.get('method', '')))}; "
        "block bootstrap over "
        f"{result.settings.get('window', 5):g} s windows, "
        f"{result.settings.get('resamples')} resamples, seed {result.settings.get('seed')}.</sub>",
        "",
    ]
    return "\n".join(lines)


def _md_verdict(rule: RuleResult) -> str:
    """The verdict cell: ``⚠️ pass (not proven: …)`` when a pass's interval reaches beyond
    the limit, else the plain verdict with its icon."""
    text = not_proven_text(rule)
    return f"⚠️ pass ({_md(text)})" if text else _ICON[rule.verdict]


def baseline_text(result: GateResult) -> str:
    """What the candidate was judged against, in Markdown: ``baseline `RUN` `` or a pooled
    baseline's run count with its first and last run."""
    runs = result.baseline_runs
    if len(runs) == 1:
        return f"baseline `{runs[0]}`"
    return f"a baseline of {len(runs)} pooled runs (`{runs[0]}` … `{runs[-1]}`)"


# RuleResult fields that say how a verdict was reached (JUnit properties)
RULE_FIELDS = (
    "method",
    "runs_baseline",
    "runs_candidate",
    "run_sd",
    "within_low",
    "within_high",
    "exact_low",
    "exact_high",
    "baseline_offered",
    "candidate_offered",
    "offered_basis",
    "pvalue",
    "change_point_run",
    "change_point_label",
)


def basis_text(rule: RuleResult) -> str:
    """What the rule's interval or verdict rests on: ``runs (4+1)``, ``windows (1+1)``,
    ``change points (12 runs)``; "—" for absolute and status rules."""
    k, m = rule.runs_baseline or 0, rule.runs_candidate or 0
    if rule.bound == CHANGE_POINT:
        text = f"change points ({k + m} runs)"
        if rule.change_point_run:
            text += f", at {rule.change_point_run}"
            if rule.pvalue is not None:
                text += f", p={rule.pvalue:.2g}"
        return text
    exact = ", exact" if rule.exact_low is not None else ""  # widened: few samples
    if rule.method == RUNS:
        return f"runs ({k}+{m}){exact}"
    if rule.method == WINDOWS:
        return f"windows ({k}+{m} runs){exact}"
    return "—"


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


# --------------------------------------------------------------------------- numbers


def change_text(rule: RuleResult) -> str:
    """``+5.2% [+1.0%, +9.8%]``; error/drop rates in percentage points (pp)."""
    if rule.change is None:
        return "—"
    unit = " pp" if rule.change_kind == "difference" else "%"
    text = f"{_signed(rule.change)}{unit}"
    if rule.ci_low is not None and rule.ci_high is not None:
        text += f" [{_signed(rule.ci_low)}, {_signed(rule.ci_high)}]"
    return text


def value_text(rule: RuleResult, value: Any) -> str:
    """A rule's baseline or candidate ``value`` in its metric's unit: latency in ms (two
    decimals under 10 ms), throughput in req/s, rates in %; booleans and strings lower-case;
    "—" for None."""
    if value is None:
        return "—"
    if isinstance(value, bool | str):
        return str(value).lower()
    if rule.metric == TRAFFIC:
        return f"{value:,} ok"
    if rule.metric in LATENCY:
        return f"{value:,.1f} ms" if value >= 10 else f"{value:.2f} ms"
    if rule.metric == "throughput_rps":
        return f"{value:,.1f} req/s"
    return f"{value * 100:.2f}%"


def side_text(rule: RuleResult, side: str) -> str:
    """The ``side`` ("baseline" or "candidate") value of a rule as ``value_text`` writes it;
    a throughput judged against what each side was offered (``offered_basis``) adds the
    share served of the offered rate: ``6.5 req/s (100% of 6.5 offered)``."""
    value = getattr(rule, side)
    offered = getattr(rule, f"{side}_offered")
    text = value_text(rule, value)
    if rule.offered_basis and isinstance(value, int | float) and offered:
        text += f" ({value / offered:.0%} of {offered:,.1f} offered)"
    return text


def offered_note(rule: RuleResult) -> str:
    """For a passing throughput rule judged against the offered rate, its message (why and
    how it was judged, which a failing or inconclusive rule's note already gives); "" for
    every other rule."""
    return rule.message if rule.offered_basis and rule.verdict == PASS else ""


def _signed(value: float) -> str:
    return "?" if math.isnan(value) else f"{value * 100:+.1f}"


def _clean(value: Any) -> Any:
    """JSON-safe: tuples as lists, NaN and infinities as null."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
