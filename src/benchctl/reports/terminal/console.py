"""The console a command prints to, the lines that name a file written, and the one-line
error (or recovery notice) on stderr.

On a terminal the console takes the terminal's width; elsewhere (CI logs, pipes, files)
tables get at least ``PIPE_WIDTH`` columns and lines of text are never hard-wrapped (one
progress line stays one line, so ``grep`` finds it whole). A reader that leaves early
(``| head -1``) ends the command quietly.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.text import Text

PIPE_WIDTH = 120  # columns for tables when stdout is no terminal (CI logs)


class PipeConsole(Console):
    """A Console whose closed stdout (``| head -1``) ends the command quietly with exit 0
    (rich's own handling exits 1): the reader leaving is not an error.

    ``unwrapped_lines``: print text (str or Text objects) without hard wrapping (rich's
    soft wrap: a line longer than the width stays one line), as off a terminal; tables,
    rules and other renderables keep the console's width. Other arguments are Console's.
    """

    def __init__(self, *args: Any, unwrapped_lines: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.unwrapped_lines = unwrapped_lines

    def print(self, *objects: Any, soft_wrap: bool | None = None, **kwargs: Any) -> None:
        """Console.print; text is soft-wrapped (never split into lines) when the console
        has ``unwrapped_lines`` and the caller did not choose."""
        if soft_wrap is None and self.unwrapped_lines and _only_text(objects):
            soft_wrap = True
        super().print(*objects, soft_wrap=soft_wrap, **kwargs)

    def on_broken_pipe(self) -> None:
        """Go quiet, point stdout at /dev/null, and raise BrokenPipeError for ``main`` —
        unless a run is in progress: that one stops as for a stop signal and finishes its
        run directory (``stop_signals.closed_stdout_stops_run``)."""
        self.quiet = True
        quiet_stdout()
        from benchctl.stop_signals import closed_stdout_stops_run

        if not closed_stdout_stops_run():  # errno and words: never read as a disk error
            raise BrokenPipeError(errno.EPIPE, "stdout closed (its reader left)")


def command_console() -> PipeConsole:
    """The console a command prints to: the terminal's width on a terminal; elsewhere at
    least ``PIPE_WIDTH`` columns (or ``$COLUMNS``) for tables, so CI logs get whole tables
    instead of tables wrapped at 80 columns, and lines of text never hard-wrapped (a
    progress line split at column 120 breaks ``grep`` on a CI log)."""
    if sys.stdout.isatty():
        return PipeConsole()
    return PipeConsole(width=max(PIPE_WIDTH, _columns()), unwrapped_lines=True)


def _only_text(objects: tuple[Any, ...]) -> bool:
    """True when every object printed is a str or rich Text (a line, not a table)."""
    return bool(objects) and all(isinstance(item, str | Text) for item in objects)


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


def recovery_line(notice: str) -> None:
    """``benchctl: NOTICE`` on stderr: a run a killed ``benchctl run`` left behind was
    recovered when this command opened it (``rundir.directory.recovery_notices``)."""
    error_line(f"benchctl: {notice}")


def recovery_notices_on_stderr() -> AbstractContextManager[None]:
    """A context in which each run recovered on first sight (one a killed ``benchctl run``
    left ``running``, finished when a command opens it: ``rundir.directory.recovery_notices``)
    is one stderr line, ``recovery_line``. ``main`` runs every command inside it."""
    from benchctl.rundir.directory import recovery_notices

    return recovery_notices(recovery_line)


def print_path(console: Console, label: str, path: Path | str) -> None:
    """``LABEL: PATH`` (the path in bold): where a command wrote its page or report, on one
    line however narrow the console (a wrapped path cannot be copied or clicked)."""
    console.print(f"{label}: [bold]{path}[/]", soft_wrap=True)


def print_warning(console: Console, text: str) -> None:
    """``warning: TEXT`` (the word in yellow; ``text`` printed as given, never as markup), as
    ``compare`` prints its warnings."""
    from rich.markup import escape

    console.print(f"[yellow]warning:[/] {escape(text)}", highlight=False)


def print_written(console: Console, paths: Iterable[Path | str]) -> None:
    """One ``wrote PATH`` line per file written (the path in bold)."""
    for path in paths:
        console.print(f"wrote [bold]{path}[/]", soft_wrap=True)


@contextlib.contextmanager
def reader_may_leave() -> Iterator[None]:
    """A context for terminal output that a command's result does not depend on: when
    stdout's reader leaves (``| head -1``: BrokenPipeError) the rest of the output is
    dropped quietly and the command goes on (stdout then points at /dev/null), so its exit
    code stays its own (gate's verdict, 1 on FAIL) instead of ``main``'s 0 for a reader
    that left. Commands write their files before printing (F11: ``gate --junit j.xml |
    head -1`` wrote no j.xml and exited 0 on a FAIL)."""
    try:
        yield
    except BrokenPipeError:
        quiet_stdout()
