"""The gate's verdict on the terminal: one row per rule, then warnings and files written."""

from __future__ import annotations

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from benchctl.analysis.gate import FAIL, INCONCLUSIVE, PASS, GateResult, RuleResult
from benchctl.analysis.gate.headline import headline, qualified
from benchctl.analysis.gate.unproven import not_proven_summary, not_proven_text
from benchctl.analysis.gate_report import (
    baseline_text,
    basis_text,
    change_text,
    offered_note,
    side_text,
)

_STYLE = {PASS: "green", FAIL: "bold red", INCONCLUSIVE: "yellow"}


def print_gate(console: Console, result: GateResult) -> None:
    """``benchctl gate``: the verdict line, the table of ``result``, the intervals' method
    and a line per warning. The verdict and the method are lines of their own (not the
    table's title and caption), so a log piped to a file keeps each whole for ``grep``."""
    console.print(_title(result), highlight=False)
    console.print(gate_table(result, titled=False))
    if result.settings.get("method"):
        console.print(f"intervals: {escape(str(result.settings['method']))}", highlight=False)
    for rule in result.rules:
        if text := not_proven_text(rule):
            console.print(f"[yellow]{escape(rule.name)}:[/] pass ({text})", highlight=False)
    if summary := not_proven_summary(result):
        console.print(f"[yellow]{escape(summary)}[/]", highlight=False)
    for rule in result.rules:  # a throughput judged against what each side was offered
        if text := offered_note(rule):
            console.print(f"{escape(rule.name)}: {escape(text)}", highlight=False)
    for warning in result.warnings:
        console.print(f"[yellow]warning:[/] {warning}", highlight=False)


def _title(result: GateResult) -> str:
    """``gate VERDICT: CANDIDATE vs BASELINE`` (rich markup, the verdict coloured)."""
    answer = escape(headline(result))
    style = "bold red" if not result.passed else "yellow" if qualified(result) else "green"
    verdict = f"[{style}]{answer}[/]"
    return f"gate {verdict}: {result.candidate} vs {baseline_text(result).replace('`', '')}"


def gate_table(result: GateResult, *, titled: bool = True) -> Table:
    """The GateResult as a terminal table, readable at 80 columns: one row per rule with the
    baseline and candidate values, the change with its interval, and the verdict; with
    ``titled``, the verdict line as its title and the intervals' method as its caption."""
    table = Table(
        title=_title(result) if titled else None,
        title_justify="left",
        box=box.SIMPLE_HEAD,  # readable at 80 columns: cells wrap, none is cut
    )
    for column in ("rule", "baseline", "candidate", "change (CI)", "interval from", "verdict"):
        left = column in ("rule", "verdict", "interval from")
        table.add_column(
            column,
            justify="left" if left else "right",
            overflow="fold",
            no_wrap=column == "verdict",
            min_width=len("inconclusive") if column == "verdict" else None,
        )
    for rule in result.rules:
        table.add_row(
            rule.name,
            side_text(rule, "baseline"),
            side_text(rule, "candidate"),
            change_text(rule),
            basis_text(rule),
            _verdict_cell(rule),
        )
    if titled and result.settings.get("method"):
        table.caption = f"intervals: {result.settings['method']}"
        table.caption_justify = "left"
    return table


def _verdict_cell(rule: RuleResult) -> str:
    """The verdict, styled; a pass whose interval reaches beyond the limit is
    ``pass (not proven)`` in yellow (the reason is printed under the table)."""
    if not_proven_text(rule):
        return "[yellow]pass (not proven)[/]"
    return f"[{_STYLE[rule.verdict]}]{rule.verdict}[/]"
