"""The gate's one-word answer with what qualifies it, the same in every output (terminal
title, Markdown heading, JUnit ``verdict`` property): a plain ``PASS`` only when every rule
was decided and proven; ``PASS (inconclusive: …)`` when some rule had too little data to be
decided (exit 0 unless ``strict: true``), ``PASS (not proven)`` when some interval reaches
beyond its limit; ``PASS (inconclusive, busy host: …)`` when a rule would fail on runs measured
on a busy host (``doubts.py``); ``FAIL (…)`` naming a run that served nothing, else ``FAIL
(regression)``."""

from __future__ import annotations

from benchctl.analysis.gate.rules import GateResult
from benchctl.analysis.gate.traffic import TRAFFIC
from benchctl.analysis.gate.unproven import not_proven_rules
from benchctl.analysis.gate.verdicts import FAIL, INCONCLUSIVE

PLAIN_PASS = "PASS"


def headline(result: GateResult) -> str:
    """``"PASS"``, ``"PASS (inconclusive: 2 rules had too little data)"``, ``"PASS
    (inconclusive, busy host: 1 rule would fail)"``, ``"PASS (not proven)"``, qualifiers
    joined by ``; ``, ``"FAIL (no successful requests: candidate RUN)"``, ``"FAIL
    (regression)"`` or, under strict with every fail doubted, ``"FAIL (strict: busy host:
    regression not established)"``. Raises nothing."""
    if not result.passed:
        empty = [rule for rule in result.rules if rule.metric == TRAFFIC and rule.verdict == FAIL]
        if empty:
            runs = ", ".join(rule.name.removesuffix(" served requests") for rule in empty)
            return f"FAIL (no successful requests: {runs})"
        failed = [rule for rule in result.rules if rule.verdict == FAIL]
        if all(rule.doubt for rule in failed):  # strict: an undecided rule fails
            return f"FAIL (strict: {failed[0].doubt}: regression not established)"
        return "FAIL (regression)"
    qualifiers = []
    doubted = [r for r in result.rules if r.verdict == INCONCLUSIVE and r.doubt]
    if doubted:  # would fail, but measured on a busy host (gate/doubts.py)
        rules = f"{len(doubted)} rule{'s' if len(doubted) > 1 else ''}"
        qualifiers.append(f"inconclusive, {doubted[0].doubt}: {rules} would fail")
    undecided = result.count(INCONCLUSIVE) - len(doubted)
    if undecided:
        rules = f"{undecided} rule{'s' if undecided > 1 else ''}"
        qualifiers.append(f"inconclusive: {rules} had too little data")
    unproven = len(not_proven_rules(result))
    if unproven:
        qualifiers.append("not proven" if not undecided else f"{unproven} not proven")
    return f"PASS ({'; '.join(qualifiers)})" if qualifiers else PLAIN_PASS


def qualified(result: GateResult) -> bool:
    """Whether the answer is anything but a plain, fully decided PASS."""
    return headline(result) != PLAIN_PASS
