"""One module per ``benchctl`` command (asv's layout).

Each command module defines:

- ``NAME``: the command word; ``HELP``: its one-line summary (listed by ``benchctl --help``
  and shown as its description); ``EPILOG``: examples after its options, or None;
- ``add_arguments(parser)``: its options on the ``argparse`` parser ``benchctl.cli`` made;
- ``run_from_args(args, console) -> int``: call the command's one keyword function with the
  parsed options and return the exit code (0 ok, 1 failed, 2 bad input, 3 interrupted).

Modules import their heavy dependencies inside ``run_from_args``, so ``benchctl --help``
and a bad option stay fast.
"""

from __future__ import annotations

from benchctl.commands import (
    analyze,
    compare,
    gate,
    history,
    report,
    run,
    runs,
    scenarios,
    targets,
    telemetry,
    worker,
)

# in the order ``benchctl --help`` lists them
COMMANDS = (
    run,
    worker,
    scenarios,
    targets,
    runs,
    analyze,
    telemetry,
    report,
    gate,
    compare,
    history,
)

__all__ = ["COMMANDS"]
