"""``benchctl compare`` on the terminal: the runs side by side, the ranking, the warnings
and where the page was written."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from benchctl.analysis.verdict_doubts import ESTABLISHED
from benchctl.reports.compare_results import Comparison, RunColumn, ranking_lines
from benchctl.reports.html_format import fmt_fact, fmt_ms, fmt_pct, fmt_rps
from benchctl.reports.terminal.console import print_path


def print_comparison(console: Console, comparison: Comparison) -> None:
    """``benchctl compare``: the table of ``comparison``, its ranking by capacity and by
    cost, a warning per note and per difference that makes the runs not comparable, and
    the page's path."""
    console.print(compare_table(comparison))
    for line in verdict_lines(comparison):
        console.print(f"[yellow]{escape(line)}[/]", highlight=False)
    for line in ranking_lines(comparison):
        console.print(line, highlight=False)
    notes = [n for n in comparison.notes if not n.startswith(ESTABLISHED)]  # a verdict line
    for text in [*notes, *(f"not comparable: {d}" for d in comparison.differences)]:
        console.print(f"[yellow]warning:[/] {escape(text)}", highlight=False)
    print_path(console, "comparison", comparison.output)


def compare_table(comparison: Comparison) -> Table:
    """The terminal version, readable at 80 columns: one row per measure, one column per
    run (short measures), then each run's longer texts (capacity, bottleneck) as their own
    rows under the run's label, so nothing is cut to fit."""
    table = Table(title="comparison", title_justify="left")
    table.add_column("", no_wrap=True)
    for run in comparison.runs:
        table.add_column(run.label, justify="right")
    rows: list[tuple[str, list[str]]] = [
        ("target", [run.target for run in comparison.runs]),
        ("status", [run.status for run in comparison.runs]),
        ("ok rps", [fmt_rps(run.overall.get("throughput_rps")) for run in comparison.runs]),
    ]
    for name in ("p50", "p95", "p99"):
        latency = [run.overall.get("latency_ms") or {} for run in comparison.runs]
        rows.append((f"{name} ms", [fmt_ms(value.get(name)) for value in latency]))
    rows.append(("errors", [fmt_pct(run.overall.get("error_rate")) for run in comparison.runs]))
    if comparison.slo:
        rows.append((f"meets {comparison.slo}", [verdict_cell(r) for r in comparison.runs]))
    for name, values in rows:
        table.add_row(name, *values)
    details = Table(title="runs", title_justify="left", show_header=False)
    details.add_column("", no_wrap=True)
    details.add_column("")
    for run in comparison.runs:
        details.add_row(run.label, run.id)
        details.add_row("  capacity", run.capacity)
        details.add_row("  bottleneck", run.bottleneck)
    if comparison.differences:
        details.caption = "NOT COMPARABLE: " + "; ".join(comparison.differences)
    outer = Table.grid()
    outer.add_row(table)
    outer.add_row(details)
    return outer


def verdict_cell(run: RunColumn) -> str:
    """The run's SLO verdict ("yes", "no", "too few samples (...)", "—"), with "(unsure)"
    after a yes or no that is not established (``run.doubts``)."""
    text = fmt_fact(run.slo_met)
    return f"{text} (unsure)" if run.doubts and isinstance(run.slo_met, bool) else text


def verdict_lines(comparison: Comparison) -> list[str]:
    """A line per run whose yes/no verdict is not established, naming why; then, when the
    verdicts differ and any is unsure, that the difference is not established either, or
    the note that it is (``verdict_doubts.established_difference``)."""
    if not comparison.slo:
        return []
    lines = [
        f"{run.label} meets {comparison.slo}: {fmt_fact(run.slo_met)}, not established: "
        + "; ".join(run.doubts)
        for run in comparison.runs
        if run.doubts and isinstance(run.slo_met, bool)
    ]
    verdicts = {run.slo_met for run in comparison.runs if isinstance(run.slo_met, bool)}
    settled = [note for note in comparison.notes if note.startswith(ESTABLISHED)]
    if lines and settled:
        lines += settled
    elif lines and len(verdicts) > 1:
        lines.append(
            "the runs' different verdicts are not an established difference: repeat each "
            "run (benchctl run ... --repeat 3) on a quiet host before choosing"
        )
    return lines
