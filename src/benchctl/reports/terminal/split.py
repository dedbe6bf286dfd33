"""A ``--split`` (or ``--shadow``) run on the terminal: the arms side by side, each arm's
canary verdict against the control, and each arm's server telemetry."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from benchctl.analysis.shadow import shadow_lines
from benchctl.analysis.verdicts import METRICS
from benchctl.reports.terminal.cells import fmt_or_dash


def print_split(console: Console, summary: dict[str, Any]) -> None:
    """summary.json's ``split`` section as the arms table and the verdicts table (a shadow
    run, its ``shadow`` section: its pairs' latency difference and output agreement);
    nothing for a plain run."""
    if summary.get("shadow"):
        for line in shadow_lines(summary["shadow"]):
            console.print(line, highlight=False)
    split = summary.get("split")
    if not split:
        return
    console.print(_arms_table(split["arms"]))
    console.print(_verdicts_table(split))
    for line in undecided_lines(split) + userless_lines(split):
        console.print(line, highlight=False)


def userless_lines(split: dict[str, Any]) -> list[str]:
    """One line per arm of a ``--users`` split that no user was hashed to (so it sent
    nothing and has no verdict), e.g. ``canary: no user hashed to it (2 users in all): no
    requests, not judged; raise --users``."""
    arms = split.get("arms", {})
    counts = {name: arm["users"] for name, arm in arms.items() if "users" in arm}
    if not counts:
        return []
    return [
        f"{name}: no user hashed to it ({sum(counts.values())} users in all): no requests, "
        "not judged; raise --users"
        for name, users in counts.items()
        if users == 0
    ]


def undecided_lines(split: dict[str, Any]) -> list[str]:
    """One line per metric the split verdict left ``inconclusive`` (too few successful
    requests for its percentile, the minimum ``benchctl gate`` uses), e.g. ``canary
    latency_p99: only 98 successful requests in the arm (needs 100 for p99): not judged``."""
    return [
        f"{name} {metric}: {m.get('note', '')}"
        for name, verdict in split.get("verdicts", {}).items()
        for metric, m in verdict.get("metrics", {}).items()
        if m.get("class") == "inconclusive"
    ]


def _arms_table(arms: dict[str, Any]) -> Table:
    """One row per arm (control first): share of the traffic, requests sent, error rate,
    successes per second, p50 and p99 in ms; all of the measured phases (after warm-up),
    like the phase table's ``overall``, which the title says."""
    table = Table(title="arms (control first; after warm-up)")
    by_user = any("users" in arm for arm in arms.values())  # a --users split: users column
    columns = ("arm", "share", *(("users",) if by_user else ()), "sent", "error rate", "ok/s")
    for column in (*columns, "p50 ms", "p99 ms"):
        table.add_column(column, justify="left" if column == "arm" else "right")
    for name, arm in arms.items():
        latency = arm.get("latency_ms") or {}
        table.add_row(
            name,
            f"{arm['share']:.1%}",
            *((f"{arm.get('users', 0):,}",) if by_user else ()),
            f"{arm['sent']:,}",
            fmt_or_dash(arm.get("error_rate"), "{:.2%}"),
            fmt_or_dash(arm.get("throughput_rps"), "{:.1f}"),
            fmt_or_dash(latency.get("p50"), "{:.2f}"),
            fmt_or_dash(latency.get("p99"), "{:.2f}"),
        )
    return table


def _verdicts_table(split: dict[str, Any]) -> Table:
    """Per arm and metric: effect against the control, its interval, p-value and class;
    then the arm's score and verdict."""
    verdicts = Table(title=f"canary verdicts vs {split['control']}")
    for column in ("arm", "metric", "effect", "interval", "p-value", "class"):
        verdicts.add_column(column)
    for name, verdict in split["verdicts"].items():
        for metric in METRICS:
            m = verdict["metrics"].get(metric, {})
            ci = m.get("ci")
            verdicts.add_row(
                name,
                metric,
                fmt_or_dash(m.get("effect"), "{:+.4g}"),
                _interval_text(ci),
                fmt_or_dash(m.get("p_value"), "{:.3g}"),
                m.get("class", ""),
            )
        score = verdict["score"]
        verdicts.add_row(
            name,
            "[bold]score[/]",
            "" if score is None else f"{score:.0f}%",
            "",
            "",
            f"[bold]{verdict['verdict']}[/]",
        )
    return verdicts


def _interval_text(ci: Any) -> str:
    """``[low, high]`` of a verdict's interval; an open end (None: the requests cannot
    bound it) as -inf / +inf; "" without an interval."""
    if not ci:
        return ""
    low, high = (
        ("-inf" if ci[0] is None else f"{ci[0]:+.4g}"),
        ("+inf" if ci[1] is None else f"{ci[1]:+.4g}"),
    )
    return f"[{low}, {high}]"


def print_arm_telemetry(console: Console, arms: dict[str, Any]) -> None:
    """One row per arm (control first): where its server numbers come from, the server's
    request count, the requests sent to the arm (when self-checked), server CPU p95; the
    counts cover the whole run, warm-up included (the title says so), unlike the arms
    table's."""
    table = Table(title="server telemetry per arm (whole run, warm-up included)")
    for column in ("arm", "sampled", "server requests", "sent", "server CPU p95"):
        table.add_column(column, justify="left" if column in ("arm", "sampled") else "right")
    for name, entry in arms.items():
        table.add_row(
            name,
            entry["sampled"] or "-",
            fmt_or_dash(entry.get("server_requests"), "{:,.0f}"),
            fmt_or_dash((entry.get("self_check") or {}).get("rows"), "{:,}"),
            fmt_or_dash(entry.get("server_cpu_percent_p95"), "{:.0f}%"),
        )
    console.print(table)


def print_arm_self_check(console: Console, arms: str, warning: str) -> None:
    """A ``--split`` run's telemetry self-check ``warning`` for ``arms`` ("arm B", or
    "arms A, B" for the arms the control's server served), in bold yellow."""
    console.print(f"[yellow bold]telemetry self-check[/] ({arms}): {warning}")
