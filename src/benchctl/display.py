"""What a person sees on the terminal: the console the commands print to, a live panel
during a run, the final summary table, and the listing tables (scenarios, targets, runs).

On a terminal the panel redraws in place (rich.Live); elsewhere (CI logs) a plain line is
printed every ``plain_every`` seconds instead.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any

from rich import box
from rich.console import Console, Group
from rich.live import Live
from rich.panel import Panel
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from benchctl.durations import format_duration

if TYPE_CHECKING:
    from benchctl.config import CapacityScenario
    from benchctl.plan.shapes import Plan
    from benchctl.search.levels import LevelRecord

CPU_WARN = 80.0
PIPE_WIDTH = 120  # columns for tables when stdout is no terminal (CI logs)


class PipeConsole(Console):
    """A Console whose closed stdout (``| head -1``) ends the command quietly with exit 0
    (rich's own handling exits 1): the reader leaving is not an error."""

    def on_broken_pipe(self) -> None:
        """Go quiet, point stdout at /dev/null, and raise BrokenPipeError for ``main``."""
        self.quiet = True
        quiet_stdout()
        raise BrokenPipeError


def command_console() -> PipeConsole:
    """The console a command prints to: the terminal's width on a terminal; at least
    ``PIPE_WIDTH`` columns (or ``$COLUMNS``) elsewhere, so CI logs get whole tables
    instead of tables wrapped at 80 columns."""
    if sys.stdout.isatty():
        return PipeConsole()
    return PipeConsole(width=max(PIPE_WIDTH, _columns()))


def quiet_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def _columns() -> int:
    try:
        return int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        return 0


def error_line(text: str) -> None:
    """Write ``text`` as one line on stderr (never wrapped, unlike the console)."""
    sys.stderr.write(text + "\n")


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:,.1f}"


def _num(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


class LiveDisplay:
    """Feed it engine progress events; it keeps the screen current."""

    def __init__(self, console: Console, title: str, *, plain_every: float = 10.0) -> None:
        self.console = console
        self.title = title
        self.plain_every = plain_every
        self._live: Live | None = None
        self._last_plain = -plain_every
        self.note = ""

    def __enter__(self) -> LiveDisplay:
        if self.console.is_terminal:
            self._live = Live(console=self.console, refresh_per_second=4, transient=False)
            self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.__exit__(*exc)

    def message(self, text: str) -> None:
        """Print one line (rich markup) above the panel."""
        self.console.print(text)

    def update(self, event: dict[str, Any]) -> None:
        """Show one engine event: ``waiting`` (workers connected of expected) as a line;
        ``progress`` (elapsed and duration s, target and achieved rate, in flight,
        p50/p95/p99 ms, ok, errors, dropped, CPU % per process) redraws the panel, or
        prints a plain line every ``plain_every`` seconds off a terminal."""
        if event.get("type") == "waiting":
            self.message(f"waiting for workers: {event['connected']}/{event['expected']}")
            return
        if self._live is not None:
            self._live.update(self._panel(event))
        elif event["elapsed"] - self._last_plain >= self.plain_every:
            self._last_plain = event["elapsed"]
            self.console.print(self._line(event), highlight=False)

    def _line(self, e: dict[str, Any]) -> str:
        unit = "rps" if e["open_loop"] else "conc"
        cpu = max(e["cpu"].values(), default=0.0)
        return (
            f"[{format_duration(max(e['elapsed'], 0))}/{format_duration(e['duration'])}] "
            f"target {_num(e['target'])} {unit}, achieved {_num(e['rate'])} rps, "
            f"in flight {e['in_flight']}, p50/p95/p99 {_ms(e['p50'])}/{_ms(e['p95'])}/"
            f"{_ms(e['p99'])} ms, ok {e['ok']:,}, errors {e['errors']:,}, "
            f"dropped {e['dropped']:,}, generator CPU {cpu:.0f}%"
        )

    def _panel(self, e: dict[str, Any]) -> Panel:
        elapsed = min(max(e["elapsed"], 0.0), e["duration"])
        bar = ProgressBar(total=e["duration"] or 1, completed=elapsed, width=50)
        remaining = format_duration(max(e["duration"] - elapsed, 0))
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold")
        grid.add_column()
        grid.add_column(style="bold")
        grid.add_column()
        target_label = "target rate" if e["open_loop"] else "concurrency"
        unit = " rps" if e["open_loop"] else ""
        grid.add_row(
            target_label,
            f"{_num(e['target'])}{unit}",
            "achieved",
            f"{_num(e['rate'])} rps (last 5 s)",
        )
        grid.add_row(
            "p50 / p95 / p99",
            f"{_ms(e['p50'])} / {_ms(e['p95'])} / {_ms(e['p99'])} ms",
            "in flight",
            str(e["in_flight"]),
        )
        grid.add_row(
            "ok",
            f"{e['ok']:,}",
            "errors / dropped",
            Text(
                f"{e['errors']:,} / {e['dropped']:,}",
                style="red" if e["errors"] or e["dropped"] else "",
            ),
        )
        cpu = Text()
        for name, value in e["cpu"].items():
            cpu.append(f"{name} {value:.0f}%  ", style="red bold" if value > CPU_WARN else "")
        grid.add_row("generator CPU", cpu, "", "")
        header = Text(f"{format_duration(elapsed)} elapsed, {remaining} left  ")
        parts: list[Any] = [Group(header, bar), grid]
        if self.note:
            parts.append(Text(self.note, style="yellow"))
        return Panel(Group(*parts), title=self.title, expand=False)


def summary_table(summary: dict[str, Any], *, title: str) -> Table:
    """One row per phase plus 'overall' (warm-up excluded); latency in ms."""
    table = Table(
        title=title,
        title_justify="left",
        caption="latency in ms, counted from each request's intended send time",
        caption_justify="left",
        box=box.SIMPLE_HEAD,  # its blank column separator is the only gap needed
        padding=0,
    )
    percentiles = ("p50", "p95", "p99", "p99.9", "max")
    for column in ("phase", "reqs", "ok", "err", "drop", "rps", *percentiles):
        table.add_column(column, justify="left" if column == "phase" else "right", no_wrap=True)
    rows = [*summary["phases"].items(), ("overall", summary["overall"])]
    for name, s in rows:
        style = "bold" if name == "overall" else "dim" if name == "warmup" else ""
        table.add_row(
            Text(name, style=style),
            f"{s['requests']:,}",
            f"{s['ok']:,}",
            Text(f"{s['errors']:,}", style="red" if s["errors"] else ""),
            Text(f"{s['dropped']:,}", style="red" if s["dropped"] else ""),
            _num(s["throughput_rps"]),
            *(_ms(s["latency_ms"][k]) for k in percentiles),
        )
    return table


def runs_table(
    rows: list[tuple[str, dict[str, Any], dict[str, Any]]], *, title: str
) -> tuple[Table, list[str]]:
    """The ``benchctl runs`` table, readable at 80 columns (long run names wrap), and one
    line per damaged run saying what is wrong.

    ``rows``: (run name, run.json content, summary.json's ``overall``) per run; a damaged
    run has ``{"status": "damaged", "damage": "<one line>"}`` as run.json content."""
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, padding=(0, 1))
    table.add_column("run", overflow="fold", ratio=1, min_width=16)
    table.add_column("status", no_wrap=True)
    for column in ("reqs", "rps", "p50 ms", "p99 ms", "err"):
        table.add_column(column, justify="right", no_wrap=True)
    table.add_column("flags", overflow="fold")
    damaged = []
    for name, info, overall in rows:
        latency = overall.get("latency_ms") if isinstance(overall.get("latency_ms"), dict) else {}
        generator = info.get("generator") if isinstance(info.get("generator"), dict) else {}
        status = str(info.get("status") or "?")
        if status == "damaged":
            damaged.append(f"{name}: {info.get('damage', 'run.json unreadable')}")
        style = {"completed": "green", "interrupted": "yellow"}.get(status, "red")
        table.add_row(
            name,
            Text(status, style=style if status != "running" else ""),
            _num(_number(overall.get("requests")), 0),
            _num(_number(overall.get("throughput_rps"))),
            _ms(_number(latency.get("p50"))),
            _ms(_number(latency.get("p99"))),
            _num(_number(overall.get("errors")), 0),
            "saturated" if generator.get("saturated") else "",
        )
    return table, damaged


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def scenarios_table(rows: list[tuple[str, str | None, str, str, str]]) -> Table:
    """The ``benchctl scenarios`` table. ``rows``: (name, kind, duration, description,
    source) per scenario; kind None marks a scenario that does not load (its error in the
    description column)."""
    table = Table(title="scenarios (run with: benchctl run NAME --target T)", title_justify="left")
    for column in ("name", "kind", "duration", "description", "source"):
        table.add_column(column)
    for name, kind, *rest in rows:
        table.add_row(name, _INVALID if kind is None else kind, *rest)
    return table


def targets_table(rows: list[tuple[str, str | None, str, str, str, str]]) -> Table:
    """The ``benchctl targets`` table, readable at 80 columns (long cells wrap, nothing is
    cut). ``rows``: (name, kind, protocol, address, model, source) per profile; kind None
    marks a profile that does not load (its error in the model column)."""
    table = Table(
        title="targets (use with: benchctl run SCENARIO --target NAME)",
        title_justify="left",
        box=box.SIMPLE_HEAD,
    )
    for column in ("name", "kind", "protocol", "address", "model", "source"):
        table.add_column(column, overflow="fold")
    for name, kind, *rest in rows:
        table.add_row(name, _INVALID if kind is None else kind, *rest)
    return table


_INVALID = "[red]invalid[/]"


def search_plan_line(s: CapacityScenario) -> str:
    """What a capacity search would do (``--dry-run``): levels, bisection, holds, bounds."""
    return (
        f"capacity search: levels from {s.start_rate:g} rps doubling up to {s.max_rate:g} rps, "
        f"then bisection to {s.resolution:.0%}; each level held until {s.stable_windows} "
        f"windows of ≥{s.window:g}s agree (at most {s.max_hold:g}s); at most "
        f"{s.max_duration:g}s in all"
    )


def level_line(level: LevelRecord, column: str) -> str:
    """One capacity-search level as it is decided: its SLO percentile (``column``, e.g.
    p99) in ms, achieved vs arriving rate, errors, the verdict (markup) and why."""
    verdict = level.verdict
    mark = "—" if verdict.latency_ms is None else f"{verdict.latency_ms:,.1f} ms"
    colour = "green" if verdict.good else "red"
    return (
        f"  {level.name}: {column} {mark}, achieved {verdict.achieved_rps:,.1f} rps "
        f"of {verdict.arrived_rps:,.1f} rps arriving in the same windows "
        f"({verdict.ratio:.0%}), errors {verdict.error_rate:.1%}: "
        f"[{colour}]{'good' if verdict.good else 'broke the SLO'}[/] "
        f"after {level.hold_s:.0f}s ({verdict.reason})"
    )


def print_plan(console: Console, plan: Plan, name: str, description: str) -> None:
    """The planned rate (or concurrency) over time, without sending anything: ``name``
    and ``description`` of the scenario, duration, expected requests, phases, and a 40-row
    bar chart of the rate curve."""
    from benchctl.plan.shapes import rate_curve

    unit = "req/s" if plan.open_loop else "concurrency"
    console.print(f"[bold]{name}[/]: {description}".rstrip(": "))
    expected = plan.expected_requests()
    total = f", about {expected:,.0f} requests" if expected is not None else ""
    console.print(
        f"duration {format_duration(plan.duration)}{total}; phases: "
        + ", ".join(
            f"{p.name} {format_duration(p.start)}–{format_duration(p.end)}"
            for p in plan.phases[:12]
        )
        + (" …" if len(plan.phases) > 12 else "")
    )
    curve = rate_curve(plan, points=40)
    peak = max((value for _, value in curve), default=0.0) or 1.0
    for t, value in curve:
        bar = "█" * round(40 * value / peak)
        console.print(f"{format_duration(t):>8}  {value:9.1f} {unit}  {bar}", highlight=False)
