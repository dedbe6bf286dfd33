"""A run on the terminal before and after it sends traffic: the plan ``--dry-run`` prints,
and at the end the latency table, the send lag, the telemetry self-check and the warnings."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from benchctl.analysis.accuracy import accuracy_line
from benchctl.durations import format_duration
from benchctl.reports.percentile_marks import footnote, mark
from benchctl.reports.terminal.cells import number
from benchctl.reports.terminal.split import print_split
from benchctl.rundir import COMPLETED

if TYPE_CHECKING:
    from benchctl.plan.shapes import Plan

PERCENTILES = ("p50", "p95", "p99", "p99.9", "max")


def summary_table(summary: dict[str, Any], *, title: str) -> Table:
    """summary.json (``phases`` by name and ``overall``) as one row per phase plus
    'overall' (warm-up excluded): requests, ok, errors, dropped, throughput in req/s
    (completions within the phase; ``analysis.phase_completions``) and latency percentiles
    in ms, each marked "*" (with a footnote) where too few successes make it the max
    (``percentile_marks``). KeyError for a summary without those fields."""
    table = Table(
        title=title,
        title_justify="left",
        caption=(
            "ok: successes of the requests sent in the phase; rps: throughput, successes that"
            " completed within it per second; latency in ms, counted from each request's"
            " intended send time"
        ),
        caption_justify="left",
        box=box.SIMPLE_HEAD,  # its blank column separator is the only gap needed
        padding=0,
    )
    for column in ("phase", "reqs", "ok", "err", "drop", "rps", *PERCENTILES):
        table.add_column(column, justify="left" if column == "phase" else "right", no_wrap=True)
    rows = [*summary["phases"].items(), ("overall", summary["overall"])]
    note = footnote(PERCENTILES, [s.get("ok") for _, s in rows])  # pP of too few = the max
    if note:
        table.caption = f"{table.caption}; {note}"
    for name, s in rows:
        style = "bold" if name == "overall" else "dim" if name == "warmup" else ""
        table.add_row(
            Text(name, style=style),
            f"{s['requests']:,}",
            f"{s['ok']:,}",
            Text(f"{s['errors']:,}", style="red" if s["errors"] else ""),
            Text(f"{s['dropped']:,}", style="red" if s["dropped"] else ""),
            number(s["throughput_rps"]),
            *(_latency(s, k) for k in PERCENTILES),
        )
    return table


def _latency(stats: dict[str, Any], key: str) -> str:
    """Latency percentile ``key`` of a row (ms), marked when it rests on too few successes
    to be anything but their max (``percentile_marks``)."""
    value = stats["latency_ms"][key]
    return number(value) + (mark(key, stats.get("ok")) if value is not None else "")


def print_plan(console: Console, plan: Plan, name: str, description: str, facts: str = "") -> None:
    """The planned rate (or concurrency) over time, without sending anything: ``name``
    and ``description`` of the scenario, ``facts`` (what the effective plan sends:
    ``plan_facts``), duration, expected requests, phases, and a bar chart of the rate
    curve (``print_chart``)."""
    unit = "req/s" if plan.open_loop else "concurrency"
    console.print(f"[bold]{name}[/]: {description}".rstrip(": "))
    if facts:
        console.print(facts, highlight=False)
    expected = plan.expected_requests()
    total = f", about {expected:,.0f} requests" if expected is not None else ""
    console.print(
        f"duration {format_duration(plan.duration)}{total}; phases: "
        + ", ".join(f"{p.name} {plan_time(p.start)}–{plan_time(p.end)}" for p in plan.phases[:12])
        + (" …" if len(plan.phases) > 12 else "")
    )
    print_chart(console, plan, unit)


BAR_WIDTH = 40  # characters of the longest bar (the plan's peak)


def print_chart(console: Console, plan: Plan, unit: str) -> None:
    """One row per tick of ``plan`` (``plan.chart``: a round tick, 10-25 rows for any
    duration): its start, the highest rate (or concurrency) planned in it (a replayed
    trace: its mean) and a bar whose length is that value over the highest row's, times
    BAR_WIDTH (rounded: 0 is no bar)."""
    from benchctl.plan.chart import chart_measure, chart_rows, chart_tick

    tick = chart_tick(plan.duration)
    rows = chart_rows(plan, tick)
    peak = max((value for _, _, value in rows), default=0.0)
    console.print(
        f"one row per {plan_time(tick)}: the {chart_measure(plan)} {unit} planned in it; "
        f"the longest bar is {chart_value(peak)} {unit}",
        highlight=False,
    )
    for start, _, value in rows:
        bar = "█" * (round(BAR_WIDTH * value / peak) if peak > 0 else 0)
        console.print(
            f"{plan_time(start):>8}  {chart_value(value):>9} {unit}  {bar}", highlight=False
        )


def chart_value(value: float) -> str:
    """A rate or concurrency of the chart: one decimal (``200.0``, ``0.0`` for none), and
    two significant digits below 0.05, where one decimal would show a planned rate as 0.0
    (``0.01``, ``0.0042``)."""
    return f"{value:.2g}" if 0 < value < 0.05 else f"{value:,.1f}"


def plan_time(seconds: float) -> str:
    """A time of the plan as it will run (trial 5: phases at 15.5 s read "16s", and tick
    labels 0.75 s apart repeated "2s"): whole seconds as ``format_duration``, under 1 s in
    ms, otherwise to the hundredth (``15.5s``, ``2.25s``, ``1m15.5s``)."""
    if seconds < 1 or abs(seconds - round(seconds)) < 0.05:
        return format_duration(seconds)
    minutes, secs = divmod(seconds, 60.0)
    return (format_duration(minutes * 60) if minutes >= 1 else "") + f"{round(secs, 2):g}s"


def print_self_check(console: Console, check: dict[str, Any] | None) -> None:
    """The telemetry self-check's ``warning`` (server-side count vs requests sent), when
    ``check`` has one; nothing otherwise."""
    if check is not None and "warning" in check:
        console.print(f"[yellow bold]telemetry self-check[/]: {check['warning']}")


def print_run_end(
    console: Console,
    name: str,
    summary: dict[str, Any],
    outcome: Any,
    rows: int,
    generator: dict[str, Any],
    clock: dict[str, Any],
    *,
    cpu_limit: float,
    counts: dict[str, Any] | None = None,
) -> None:
    """The end of run ``name``: when ``rows`` requests were kept, the latency table of
    ``summary`` (summary.json), the send-lag line and a split run's arms; then a line per
    warning (run.json ``generator`` send lag, ``clock`` warnings), generator saturation
    (a load process above ``cpu_limit`` % CPU) and a run whose ``outcome.status`` is not
    completed (with ``outcome.reason``); with run.json ``counts`` whose ``sent`` is a lower
    bound (a load process died), the line ``sent: ≥N requests`` and why (``sent_line``)."""
    if rows:
        console.print(summary_table(summary, title=f"{name} ({outcome.status})"))
        if pooled := pooled_line(summary):  # a split run: the rows mix every arm's servers
            console.print(pooled, highlight=False, soft_wrap=True)
        console.print(accuracy_line(summary["generator_accuracy"]), highlight=False)
        print_split(console, summary)  # --split: arms side by side and the canary verdicts
    if generator["send_lag_warning"]:
        console.print(f"[yellow]warning: {generator['send_lag_warning']}[/]")
    for warning in clock.get("warnings", []):
        console.print(f"[yellow]warning: {warning}[/]")
    if generator["saturated"]:
        console.print(
            f"[red bold]generator_saturated[/]: a load process stayed above "
            f"{cpu_limit:.0f}% CPU for {generator['saturated_seconds']}s: "
            "latencies include the generator's own delay; add --workers"
        )
    if outcome.status != COMPLETED:
        console.print(f"[yellow]run {outcome.status}: {outcome.reason}[/] ({rows:,} requests kept)")
    if line := sent_line(counts or {}):
        console.print(f"[yellow]{line}[/]", highlight=False)


def sent_line(counts: dict[str, Any]) -> str:
    """``sent: ≥N requests (a lower bound: WHY)`` for run.json ``counts`` whose ``sent`` is a
    lower bound (``sent_is_lower_bound``, ``sent_bound``: run_finish.sent_lower_bound);
    "" when ``sent`` is exact or unknown."""
    sent = counts.get("sent")
    if not counts.get("sent_is_lower_bound") or not isinstance(sent, int | float):
        return ""
    why = counts.get("sent_bound") or "a load process died"
    return f"sent: ≥{sent:,.0f} requests (a lower bound: {why})"


def pooled_line(summary: dict[str, Any]) -> str:
    """The line under the phase table of a split run (summary.json ``split.arms``, two or
    more): its phase rows and ``overall`` pool every arm's requests (several servers), so
    it says so and where each arm's own numbers are; "" for any other run."""
    from benchctl.reports.split_labels import pooled_label

    arms = (summary.get("split") or {}).get("arms") or {}
    if len(arms) < 2:
        return ""
    return (
        f"phase rows and overall: {pooled_label(len(arms))} (requests of every arm's server); "
        "each arm's own numbers: the arms table below"
    )
