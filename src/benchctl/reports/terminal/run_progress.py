"""A run on the terminal while it starts: the plan's notes, its run directory, the server it
launches, the telemetry notes, where remote workers join and a worker joining. The run
orchestration (run.py, run_setup.py, run_drive.py, commands/worker.py) calls these; the
wording lives here."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console


def print_plan_note(console: Console, note: str) -> None:
    """``note: NOTE``: something the plan changed (a warm-up shortened so it eats no level)."""
    console.print(f"[yellow]note:[/] {note}", highlight=False)


def print_plan_warning(console: Console, warning: str) -> None:
    """``warning: WARNING``: a plan that will run but measure badly (a rate past what the
    load processes send; plan/checks.py)."""
    console.print(f"[yellow]warning:[/] {warning}", highlight=False)


def print_run_directory(console: Console, path: Path) -> None:
    """``run directory: PATH`` (the path in bold), once the run's folder exists."""
    console.print(f"run directory: [bold]{path}[/]")


def print_telemetry_note(console: Console, note: str) -> None:
    """A telemetry sampler's note (one that could not start, and why), dimmed."""
    console.print(f"[dim]{note}[/]")


def print_launching(console: Console, kind: str) -> None:
    """The line before a local ``kind`` server is launched."""
    console.print(f"launching a local {kind} server (127.0.0.1, free ports)…")


def print_launch_log(console: Console, message: str) -> None:
    """A launcher's progress line (creating its virtual environment, waiting), as it said it."""
    console.print(message)


def print_launched(console: Console, kind: str, server: Any) -> None:
    """``KIND ready at URL (gRPC ADDRESS), pid PID`` for a launched server (``http_url``,
    ``grpc_address``, ``pid`` of a ``LaunchedServer``)."""
    console.print(
        f"{kind} ready at {server.http_url} (gRPC {server.grpc_address}), pid {server.pid}"
    )


def print_joining_master(console: Console, host: str, port: str) -> None:
    """``benchctl worker``: the line before this process becomes a worker of the master at
    ``host``:``port``."""
    console.print(f"joining master {host}:{port} (Ctrl-C to leave)")


def print_master_listening(console: Console, bind: str, port: int) -> None:
    """Where remote workers join the run's master (``benchctl worker --master``)."""
    console.print(
        f"master listening on {bind}:{port}; join with "
        f"`benchctl worker --master <this host>:{port}`"
    )


def print_waiting_for_master(
    console: Console, host: str, port: int, problem: str, wait_s: float
) -> None:
    """The line ``benchctl worker`` shows while nothing listens at the master's address."""
    console.print(f"waiting for the master at {host}:{port} ({problem}; up to {wait_s:g} s)")
