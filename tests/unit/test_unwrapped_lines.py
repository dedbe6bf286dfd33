"""Output piped or logged is never hard-wrapped (fresh-user trial 4, #11): a progress line
split at column 120 (``generator CPU`` / ``4%``) breaks ``grep`` on a CI log. Off a
terminal the command console prints each line of text whole; tables keep its width."""

from __future__ import annotations

import io

from rich.table import Table
from rich.text import Text

from benchctl.reports.terminal.console import PipeConsole

LINE = " ".join(f"word{i:02d}" for i in range(30))  # 30 words of 6 + 29 spaces = 209 chars


def _console(*, unwrapped: bool) -> tuple[PipeConsole, io.StringIO]:
    out = io.StringIO()
    return PipeConsole(file=out, width=40, unwrapped_lines=unwrapped, color_system=None), out


def test_a_line_longer_than_the_width_stays_one_line_off_a_terminal():
    """By hand: LINE is 209 characters; at width 40 rich wraps it at word boundaries, 5
    words a line (5 x 6 + 4 spaces = 34; a sixth would make 41 > 40): 30 / 5 = 6 lines.
    Unwrapped, it is one line of exactly 209 characters, as a str and as a Text, with
    markup still interpreted (the [bold] tags are not printed)."""
    assert len(LINE) == 209
    console, out = _console(unwrapped=True)
    console.print(LINE)
    console.print(Text(LINE))
    console.print(f"[bold]{LINE}[/]")
    assert out.getvalue().splitlines() == [LINE, LINE, LINE]
    wrapped, out = _console(unwrapped=False)
    wrapped.print(LINE)
    assert len(out.getvalue().splitlines()) == 6  # 5 words (34 chars) per 40-column line


def test_tables_keep_the_console_width():
    """A table of one 209-character cell at width 40 is drawn within 40 columns (wrapped
    inside its cell), unwrapped lines or not; the caller's own soft_wrap=False still wraps."""
    console, out = _console(unwrapped=True)
    table = Table("cell")
    table.add_row(LINE)
    console.print(table)
    assert max(len(line) for line in out.getvalue().splitlines()) <= 40
    console, out = _console(unwrapped=True)
    console.print(LINE, soft_wrap=False)
    assert len(out.getvalue().splitlines()) == 6
