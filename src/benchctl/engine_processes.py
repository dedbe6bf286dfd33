"""The load engine's processes, as ``benchctl run`` and the capacity search start them.

The engine (Locust, gevent) runs as ``python -m benchctl.load.engine`` in child processes;
this module never imports it. One engine is either one ``local`` process, or a ``master``
with N local ``worker`` processes (plus remote workers that join by themselves). The
process that reports progress (the local engine or the master) writes one JSON event per
line on its stdout (``read_events``); every process writes its log next to the records.
"""

from __future__ import annotations

import contextlib
import errno
import json
import queue
import signal
import socket
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchctl import lifetime
from benchctl.errors import InputError
from benchctl.lifetime import die_with_parent, signal_if_running
from benchctl.rundir import ENGINE_LOG, ENGINE_SPEC
from benchctl.targets.launch import free_port

WILDCARDS = ("0.0.0.0", "::", "")  # bind addresses a local worker cannot connect to


@dataclass
class EngineProcesses:
    """One engine's processes: ``main`` (local engine or master; its stdout is the events)
    and the local ``workers``; ``port``: the master's port (None without workers)."""

    main: subprocess.Popen
    workers: list[subprocess.Popen]
    port: int | None = None

    @property
    def processes(self) -> list[subprocess.Popen]:
        """``main`` first, then the local workers."""
        return [self.main, *self.workers]


def start_engine(
    folder: Path,
    *,
    workers: int = 0,
    remote_workers: int = 0,
    bind: str = "127.0.0.1",
    port: int | None = None,
    worker_wait: float = 60.0,
) -> EngineProcesses:
    """Start the engine on ``folder/engine-spec.json``, recording into ``folder``.

    ``workers`` local workers (and ``remote_workers`` expected from elsewhere) run under a
    master listening on ``bind:port`` (port: a free one when None; the run fails when they
    have not all joined within ``worker_wait`` s); with neither, one local
    engine process. Logs: ``folder/engine.log`` and ``folder/worker-<i>.log``. Raises
    OSError when a process cannot be started or a log cannot be opened."""
    spec, run_dir = str(folder / ENGINE_SPEC), str(folder)
    log = folder / ENGINE_LOG
    if not workers and not remote_workers:
        local = ("--role", "local", "--spec", spec, "--run-dir", run_dir)
        return EngineProcesses(spawn(engine_command(*local), log, stdout=subprocess.PIPE), [])
    port = port or free_port()
    expected = str(workers + remote_workers)
    master = ("--role", "master", "--spec", spec, "--run-dir", run_dir, "--bind-host", bind)
    master += ("--worker-timeout", f"{worker_wait:g}")  # then the run fails, said why
    main = spawn(
        engine_command(*master, "--port", str(port), "--expect-workers", expected),
        log,
        stdout=subprocess.PIPE,
    )
    connect = "127.0.0.1" if bind in WILDCARDS else bind
    worker = ("--role", "worker", "--master-host", connect, "--port", str(port))
    local_workers = [
        spawn(engine_command(*worker), folder / f"worker-{i}.log", stdout=subprocess.DEVNULL)
        for i in range(workers)
    ]
    return EngineProcesses(main, local_workers, port)


def check_master_port(bind: str, port: int | None, *, workers: int, remote_workers: int) -> None:
    """Before anything starts: ``--master-port`` free on the address the master will bind
    (``bind``; ``*`` is 0.0.0.0, as ZeroMQ takes it). The test bind sets SO_REUSEADDR as
    ZeroMQ does, so only a port another socket listens on (or is bound to) is refused, not
    one lingering in TIME_WAIT. Nothing to check without a port, without workers (no
    master), or for an interface name (ZeroMQ resolves it itself). Raises InputError
    (exit 2) naming the port and the address."""
    if port is None or not (workers or remote_workers):
        return
    host = "0.0.0.0" if bind in ("*", "") else bind
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, ValueError):
        return  # an interface name: --master-bind's own check accepted it
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            why = "address already in use" if exc.errno == errno.EADDRINUSE else exc.strerror
            raise InputError(
                f"--master-port {port}: {why} on {host}; pick another port (or omit it)"
            ) from None


def engine_command(*args: str) -> list[str]:
    """The command line of an engine process with ``args`` (``--role ...``)."""
    return [sys.executable, "-m", "benchctl.load.engine", *args]


def spawn(command: list[str], log_path: Path, *, stdout: Any) -> subprocess.Popen:
    """An engine process in its own session (a terminal's Ctrl-C reaches only the CLI, which
    stops it in order), SIGTERM when the CLI dies, and registered with the run's watchdog.

    ``stdout``: ``subprocess.PIPE`` for the events, or ``DEVNULL``; stderr appends to
    ``log_path``. Raises OSError when the process cannot be started."""
    with log_path.open("ab") as log, lifetime.spawning():
        process = subprocess.Popen(
            command,
            stdout=stdout,
            stderr=log,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=die_with_parent(signal.SIGTERM),
        )
        lifetime.register(process.pid, "engine")
    return process


def read_events(process: subprocess.Popen, events: queue.Queue) -> None:
    """Put each JSON line of ``process``'s stdout on ``events`` (other lines are skipped),
    then None when the stdout closes. Runs in its own thread (``watch_events``)."""
    assert process.stdout is not None
    for line in process.stdout:
        with contextlib.suppress(json.JSONDecodeError):
            events.put(json.loads(line))
    events.put(None)


def watch_events(process: subprocess.Popen) -> queue.Queue[dict[str, Any] | None]:
    """A queue fed with ``process``'s events by a daemon thread (``read_events``)."""
    events: queue.Queue[dict[str, Any] | None] = queue.Queue()
    threading.Thread(target=read_events, args=(process, events), daemon=True).start()
    return events


def kill_all(processes: list[subprocess.Popen]) -> None:
    """SIGKILL every process still running (none is waited for)."""
    for process in processes:
        signal_if_running(process, signal.SIGKILL)
