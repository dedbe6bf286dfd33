"""What the two listing commands share: ``benchctl scenarios`` and ``benchctl targets`` list
the files of one kind there are (built-in, overridden by ``--config-dir``'s), a row each."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

from benchctl.commands.options import add_config_dir, each_file, source_label

if TYPE_CHECKING:
    from pathlib import Path

    from rich.console import Console


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--config-dir DIR`` to ``parser``: a folder that exists (argparse exits 2
    naming the flag otherwise) whose scenarios/ and targets/ override the built-ins.
    Returns None."""
    add_config_dir(parser)


def print_listing(
    console: Console,
    kind: Literal["scenarios", "targets"],
    config_dir: Path | None,
    describe: Callable[[Any], tuple[str, ...]],
    table: Callable[[list[tuple[Any, ...]]], Any],
    *,
    cells: int,
) -> int:
    """Print ``table(rows)`` (a rich table from reports/terminal/listings) on ``console``,
    one row per file of ``kind`` by name: the built-ins, overridden by those in
    ``config_dir``'s ``kind`` folder (None: built-ins only). A row is (name, the ``cells``
    strings ``describe(loaded spec)`` returns, the first being the spec's kind, source:
    ``built-in`` or the file's path).

    A file that does not load (or that ``describe`` raises BenchctlError for) is a row
    (name, None, "" ..., its error's text in the last described cell, the file's path):
    kind None is what the tables mark invalid. Returns 0, the exit code. Raises nothing of
    its own (``each_file`` turns BenchctlError into rows; anything else propagates)."""
    rows: list[tuple[Any, ...]] = []
    for name, path, described, error in each_file(kind, config_dir, describe):
        if described is None:
            rows.append((name, None, *[""] * (cells - 2), error, str(path)))
        else:
            rows.append((name, *described, source_label(path)))
    console.print(table(rows))
    return 0
