"""``benchctl targets``: the target profiles there are (built-in and ``--config-dir``)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from benchctl.commands.listing import add_arguments as add_arguments
from benchctl.commands.listing import print_listing

if TYPE_CHECKING:
    from rich.console import Console

NAME = "targets"
HELP = "list target profiles"
EPILOG = None


def run_from_args(args: argparse.Namespace, console: Console) -> int:
    """Print every target profile with the address it sends to (the gRPC address for gRPC
    targets); a profile that does not load is a row marked invalid with its error.
    Readable at 80 columns: long cells wrap, nothing is cut. Returns 0."""
    from benchctl.reports.terminal.listings import targets_table

    return print_listing(console, "targets", args.config_dir, _describe, targets_table, cells=4)


def _describe(target: Any) -> tuple[str, str, str, str]:
    """(kind, protocol, the address it sends to, model)."""
    address = target.grpc_address if "grpc" in target.protocol else target.url
    return target.kind, target.protocol, address, target.model
