"""``benchctl targets``: the target profiles there are (built-in and ``--config-dir``)."""

from __future__ import annotations

import argparse

from rich.console import Console

from benchctl import arguments
from benchctl.commands.options import source_label
from benchctl.config import available, load_target
from benchctl.errors import BenchctlError

NAME = "targets"
HELP = "list target profiles"
EPILOG = None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``--config-dir``: a folder whose targets/ override the built-ins."""
    parser.add_argument("--config-dir", type=arguments.existing_dir)


def run_from_args(args: argparse.Namespace, console: Console) -> int:
    """Print every target profile with the address it sends to (the gRPC address for gRPC
    targets); a profile that does not load is a row marked invalid with its error.
    Readable at 80 columns: long cells wrap, nothing is cut. Returns 0."""
    from benchctl.display import targets_table

    rows = []
    for name, path in sorted(available("targets", args.config_dir).items()):
        try:
            target, _ = load_target(str(path))
            address = target.grpc_address if "grpc" in target.protocol else target.url
            rows.append(
                (name, target.kind, target.protocol, address, target.model, source_label(path))
            )
        except BenchctlError as exc:
            rows.append((name, None, "", "", str(exc), str(path)))
    console.print(targets_table(rows))
    return 0
