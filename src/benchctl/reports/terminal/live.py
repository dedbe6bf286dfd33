"""The screen while a run sends traffic: on a terminal a panel redrawn in place
(rich.Live); elsewhere (CI logs) a plain line every ``plain_every`` seconds instead."""

from __future__ import annotations

from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.panel import Panel
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from benchctl.durations import format_duration
from benchctl.reports.terminal.cells import number

CPU_WARN = 80.0  # a load process's CPU % shown in red above this


class LiveDisplay:
    """Feed it engine progress events; it keeps the screen current.

    ``console``: where to draw; ``title``: the panel's title; ``plain_every``: seconds
    between plain lines off a terminal. Use as a context manager around the run."""

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
            left = f" ({event['left']:.0f} s left)" if "left" in event else ""
            self.message(f"waiting for workers: {event['connected']}/{event['expected']}{left}")
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
            f"{target_text(e, unit)}, achieved {number(e['rate'])} rps, "
            f"in flight {e['in_flight']}, p50/p95/p99 {number(e['p50'])}/{number(e['p95'])}/"
            f"{number(e['p99'])} ms, ok {e['ok']:,}, errors {e['errors']:,}, "
            f"dropped {e['dropped']:,}, generator CPU {cpu:.0f}%"
        )

    def _panel(self, e: dict[str, Any]) -> Panel:
        elapsed = min(max(e["elapsed"], 0.0), e["duration"])
        bar = ProgressBar(total=e["duration"] or 1, completed=elapsed, width=50)
        remaining = format_duration(max(e["duration"] - elapsed, 0))
        header = Text(f"{format_duration(elapsed)} elapsed, {remaining} left  ")
        parts: list[Any] = [Group(header, bar), _grid(e)]
        if self.note:
            parts.append(Text(self.note, style="yellow"))
        return Panel(Group(*parts), title=self.title, expand=False)


def _grid(e: dict[str, Any]) -> Table:
    """The panel's numbers: rate, latency, in flight, counts and generator CPU."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    grid.add_column(style="bold")
    grid.add_column()
    target_label = "target rate" if e["open_loop"] else "concurrency"
    unit = " rps" if e["open_loop"] else ""
    grid.add_row(
        target_label,
        target_text(e, unit.strip()).split(" ", 1)[1] if e["open_loop"] else number(e["target"]),
        "achieved",
        f"{number(e['rate'])} rps (last 5 s)",
    )
    grid.add_row(
        "p50 / p95 / p99",
        f"{number(e['p50'])} / {number(e['p95'])} / {number(e['p99'])} ms",
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
    return grid


def target_text(e: dict[str, Any], unit: str) -> str:
    """``target N UNIT`` of a progress event; once the schedule is over (elapsed >= duration:
    in-flight requests finishing) ``target: schedule done`` instead of "target 0.0 rps"
    (trial 5: the last progress line read as if the plan had asked for nothing)."""
    if e["open_loop"] and e["elapsed"] >= e["duration"] > 0:
        return "target: schedule done"
    return f"target {number(e['target'])} {unit}"
