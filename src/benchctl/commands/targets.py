"""``benchctl targets``: the target profiles there are (built-in and ``--config-dir``)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from benchctl.commands.options import add_config_dir, each_file, source_label

if TYPE_CHECKING:
    from rich.console import Console

NAME = "targets"
HELP = "list target profiles"
EPILOG = None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``--config-dir``: a folder whose targets/ override the built-ins."""
    add_config_dir(parser)


def run_from_args(args: argparse.Namespace, console: Console) -> int:
    """Print every target profile with the address it sends to (the gRPC address for gRPC
    targets); a profile that does not load is a row marked invalid with its error.
    Readable at 80 columns: long cells wrap, nothing is cut. Returns 0."""
    from benchctl.reports.terminal.listings import targets_table

    def describe(target: Any) -> tuple[str, str, str, str]:
        """(kind, protocol, the address it sends to, model)."""
        address = target.grpc_address if "grpc" in target.protocol else target.url
        return target.kind, target.protocol, address, target.model

    rows = []
    for name, path, found, error in each_file("targets", args.config_dir, describe):
        if found is None:
            rows.append((name, None, "", "", error, str(path)))
        else:
            rows.append((name, *found, source_label(path)))
    console.print(targets_table(rows))
    return 0
