"""Passing relative rules that are not proven: the change's interval reaches beyond the
allowed change, so the gate passes (it fails only when the *whole* interval is beyond the
limit) but a regression past the limit is not ruled out. Every output (terminal table,
Markdown, JUnit) marks such a pass with these words, so it does not read as a clean pass."""

from __future__ import annotations

import math

from benchctl.analysis.gate.rules import GateResult, RuleResult
from benchctl.analysis.gate.verdicts import PASS


def not_proven_text(rule: RuleResult) -> str:
    """``"not proven: the interval reaches +92.4%, beyond the +10% limit; more runs narrow
    it"`` for a passing ``max_increase`` rule whose interval's upper end is above the limit
    (``max_decrease``: lower end below minus the limit); "" for every other rule. Changes and
    limits are fractions (0.1 = 10%), shown in % for ratios and pp for rate differences."""
    if rule.verdict != PASS or not rule.relative or rule.ci_low is None or rule.ci_high is None:
        return ""
    if isinstance(rule.limit, bool) or not isinstance(rule.limit, int | float):
        return ""
    if rule.bound == "max_increase":
        edge, limit = rule.ci_high, float(rule.limit)
        beyond = edge > limit
    elif rule.bound == "max_decrease":
        edge, limit = rule.ci_low, -float(rule.limit)
        beyond = edge < limit
    else:
        return ""
    if not (math.isfinite(edge) and beyond):
        return ""
    unit = " pp" if rule.change_kind == "difference" else "%"
    return (
        f"not proven: the interval reaches {edge * 100:+.1f}{unit}, beyond the "
        f"{limit * 100:+g}{unit} limit; more runs narrow it"
    )


def not_proven_rules(result: GateResult) -> list[RuleResult]:
    """The rules of ``result`` that passed without being proven (see ``not_proven_text``)."""
    return [rule for rule in result.rules if not_proven_text(rule)]


def not_proven_summary(result: GateResult) -> str:
    """One overall line when any rule passed without being proven, else ""."""
    rules = not_proven_rules(result)
    if not rules:
        return ""
    names = ", ".join(rule.name for rule in rules)
    count = f"{len(rules)} rule{'s' if len(rules) > 1 else ''}"
    return (
        f"not proven: {count} passed although the interval reaches beyond the limit "
        f"({names}): a regression past the limit is not ruled out; more runs narrow the "
        "interval"
    )
