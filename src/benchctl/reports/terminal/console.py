"""The console a command prints to, the lines that name a file written, and the one-line
error (or recovery notice) on stderr.

On a terminal the console takes the terminal's width; elsewhere (CI logs, pipes) at least
``PIPE_WIDTH`` columns. A reader that leaves early (``| head -1``) ends the command quietly.
"""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Iterable
from contextlib import AbstractContextManager
from pathlib import Path

from rich.console import Console

PIPE_WIDTH = 120  # columns for tables when stdout is no terminal (CI logs)


class PipeConsole(Console):
    """A Console whose closed stdout (``| head -1``) ends the command quietly with exit 0
    (rich's own handling exits 1): the reader leaving is not an error."""

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


def print_written(console: Console, paths: Iterable[Path | str]) -> None:
    """One ``wrote PATH`` line per file written (the path in bold)."""
    for path in paths:
        console.print(f"wrote [bold]{path}[/]", soft_wrap=True)
