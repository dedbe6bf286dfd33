"""Process lifetime: nothing that ``benchctl run`` starts outlives it, even after ``kill -9``.

The choice, in two layers (each covers what the other cannot):

1. ``PR_SET_PDEATHSIG`` (``prctl`` through ctypes, set in a ``preexec_fn``; see
   ``die_with_parent``) on the engine and worker processes: the kernel sends them SIGTERM the
   moment the CLI dies, however it dies. SIGTERM, not SIGKILL, so the engine stops sending,
   writes the rows it holds and exits. The setting is not inherited across ``fork`` and
   fires when the *thread* that spawned the child exits, so children are spawned from the
   main thread only.
2. A watchdog process per run (``python -m benchctl.watchdog``, its own session, so a
   terminal's or a CI runner's signal to the CLI's process group does not reach it). The
   CLI tells it, over a pipe, the process group of everything it starts: launched servers
   are started with ``start_new_session``, so their whole trees (TorchServe's Java and its
   Python workers, Triton's backend stubs, KServe's uvicorn workers) share one group. When
   the pipe closes without a final ``done`` (the CLI died), the watchdog waits for the
   engine groups to finish flushing (SIGKILL after ``ENGINE_GRACE_S``), then stops the
   server groups (SIGTERM, SIGKILL after ``SERVER_GRACE_S``), then recovers the run
   directory (``benchctl.recovery``). Servers get no death signal of their own: the engine
   must be able to finish the requests in flight before the server goes away.

``owner_record``/``owner_alive`` identify a process by PID *and* start time, so a recycled
PID never passes for a live owner.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import psutil

from benchctl.rundir.names import WATCHDOG_LOG

PR_SET_PDEATHSIG = 1
ENGINE_GRACE_S = 15.0  # the engine's own stop grace (6 s) plus writing its last part
SERVER_GRACE_S = 8.0
_START_TOLERANCE_S = 0.5

try:
    _prctl = ctypes.CDLL(None, use_errno=True).prctl  # resolved here, not in the child
except (OSError, AttributeError):  # not Linux
    _prctl = None


STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}


def die_with_parent(signum: int = signal.SIGTERM) -> Any:
    """A ``preexec_fn`` that makes the child receive ``signum`` when its parent dies (and
    unblocks the stop signals, see ``spawning``).

    Without prctl (not Linux) it only unblocks the signals.
    """
    parent = os.getpid()

    def preexec() -> None:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
        if _prctl is None:
            return
        _prctl(PR_SET_PDEATHSIG, int(signum), 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os.kill(os.getpid(), signum)

    return preexec


def unblock_stop_signals() -> None:
    """A ``preexec_fn`` for processes spawned inside ``spawning``: their signals as usual."""
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)


@contextlib.contextmanager
def spawning() -> Iterator[None]:
    """Hold SIGINT/SIGTERM/SIGHUP while a child is started and registered with the watchdog,
    so a stop signal can never land between the two and leave an unregistered process; the
    signal is delivered when the block ends. Children inherit the mask: spawn them with
    ``die_with_parent`` or ``unblock_stop_signals`` as ``preexec_fn``."""
    held = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)


def owner_record(pid: int | None = None) -> dict[str, Any]:
    """``{"pid", "started", "host"}`` of a process (default: this one), for run.json."""
    pid = os.getpid() if pid is None else pid
    return {"pid": pid, "started": psutil.Process(pid).create_time(), "host": socket.gethostname()}


def owner_alive(record: dict[str, Any] | None) -> bool | None:
    """True if the recorded process still runs, False if it is gone, None if unknowable
    (no record, or a process on another host)."""
    if not record or "pid" not in record:
        return None
    if record.get("host") not in (None, socket.gethostname()):
        return None
    try:
        process = psutil.Process(int(record["pid"]))
        started = process.create_time()
        if process.status() == psutil.STATUS_ZOMBIE:
            return False
    except (psutil.Error, ValueError, TypeError):
        return False
    return abs(started - float(record.get("started") or started)) < _START_TOLERANCE_S


def kill_group(pgid: int, signum: int) -> bool:
    """Signal a whole process group; False if it no longer exists."""
    try:
        os.killpg(pgid, signum)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def signal_if_running(process: subprocess.Popen, signum: int) -> None:
    """Send ``signum`` to ``process`` unless it has already exited (no error if it exits
    between the check and the signal). Used by ``benchctl run`` and the capacity search for
    their engine and worker processes."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, signum)


def group_alive(pgid: int) -> bool:
    """True while any process of group ``pgid`` runs (zombies excluded)."""
    for process in psutil.process_iter(["pid", "status"]):
        try:
            if os.getpgid(process.info["pid"]) == pgid and process.info["status"] != "zombie":
                return True
        except (ProcessLookupError, PermissionError, psutil.Error):
            continue
    return False


def same_server(pid: int, log: Path | None, started_after: float) -> bool | None:
    """Whether process ``pid`` is still the server a run launched: it leads its own process
    group (launched servers start a session), started after ``started_after`` (the run's CLI,
    epoch s) and writes its stdout to the run's server ``log``. False when it is gone or is
    another process (a recycled pid); None when that cannot be told (no log recorded, no
    permission to look)."""
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE or os.getpgid(pid) != pid:
            return False
        if process.create_time() < started_after - _START_TOLERANCE_S:
            return False
        if log is None:
            return None
        out = os.stat(f"/proc/{pid}/fd/1")
    except (psutil.NoSuchProcess, ProcessLookupError, FileNotFoundError):
        return False
    except (psutil.Error, OSError):  # AccessDenied, another user's /proc
        return None
    with contextlib.suppress(OSError):
        recorded = os.stat(log)
        return (recorded.st_dev, recorded.st_ino) == (out.st_dev, out.st_ino)
    return False  # the run's log is gone: not a server writing to it


def writers_of(log: Path) -> list[int]:
    """The process-group leaders whose stdout is the file ``log`` (a launched server writes
    its output there: ``targets.launch.spawn_logged``); [] when ``log`` is gone. Processes
    this user may not look into are skipped."""
    try:
        wanted = os.stat(log)
    except OSError:
        return []
    found = []
    for pid in psutil.pids():
        with contextlib.suppress(OSError):
            out = os.stat(f"/proc/{pid}/fd/1")
            if (out.st_dev, out.st_ino) == (wanted.st_dev, wanted.st_ino) and os.getpgid(
                pid
            ) == pid:
                found.append(pid)
    return found


def stop_group(pgid: int, grace: float = SERVER_GRACE_S) -> bool:
    """SIGTERM process group ``pgid``, SIGKILL what is left after ``grace`` s; True once no
    process of it runs (within 5 s more), False if some still does (e.g. not ours to kill)."""
    if not kill_group(pgid, signal.SIGTERM):
        return True
    deadline = time.monotonic() + grace
    while group_alive(pgid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if group_alive(pgid):
        kill_group(pgid, signal.SIGKILL)
        deadline = time.monotonic() + 5.0
        while group_alive(pgid) and time.monotonic() < deadline:
            time.sleep(0.1)
    return not group_alive(pgid)


class Guard:
    """The CLI's side of the watchdog: register process groups, say ``done`` at the end.

    ``Guard.start(run_dir)`` spawns the watchdog; ``register(pgid, role)`` (role ``engine``
    or ``server``) and ``forget(pgid)`` keep it current; ``close()`` ends it. Without a
    started guard (library use, tests that launch servers themselves) ``register`` is a
    no-op: the caller stops what it started.
    """

    current: Guard | None = None

    def __init__(self, process: subprocess.Popen | None, pipe: IO[str] | None) -> None:
        self.process = process
        self._pipe = pipe
        self._lock = threading.Lock()
        self.groups: dict[int, str] = {}

    @classmethod
    def start(cls, run_dir: Path) -> Guard:
        """Spawn the watchdog for ``run_dir``; a guard that does nothing if that fails."""
        command = [
            sys.executable, "-m", "benchctl.watchdog",
            "--run-dir", str(run_dir), "--parent", str(os.getpid()),
        ]  # fmt: skip
        try:
            with _log_file(run_dir / WATCHDOG_LOG) as log:
                process = subprocess.Popen(
                    command,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.DEVNULL,
                    stderr=log,
                    start_new_session=True,
                    text=True,
                )
        except OSError:
            guard = cls(None, None)
        else:
            guard = cls(process, process.stdin)
        cls.current = guard
        return guard

    @property
    def watchdog(self) -> dict[str, Any] | None:
        """The watchdog's owner record (for run.json), None without one."""
        if self.process is None:
            return None
        with contextlib.suppress(psutil.Error):
            return owner_record(self.process.pid)
        return None

    def register(self, pgid: int, role: str) -> None:
        """Tell the watchdog about a new process group: ``pgid`` (a process-group id) with its
        ``role`` (``"engine"`` or ``"server"``, which decides how the watchdog stops it). Returns
        None; never raises (a watchdog that is gone or was never started is ignored).
        """
        self.groups[pgid] = role
        self._send(f"{role} {pgid}")

    def forget(self, pgid: int) -> None:
        """Tell the watchdog that process group ``pgid`` has been stopped, so it is not killed
        later. Returns None; never raises (a missing pipe is ignored).
        """
        self.groups.pop(pgid, None)
        self._send(f"forget {pgid}")

    def reap(self, timeout: float = 5.0) -> None:
        """Stop every registered group still running (SIGTERM, then SIGKILL)."""
        groups = list(self.groups)
        alive = [g for g in groups if kill_group(g, signal.SIGTERM)]
        deadline = time.monotonic() + timeout
        while alive and time.monotonic() < deadline:
            alive = [g for g in alive if group_alive(g)]
            if alive:
                time.sleep(0.1)
        for pgid in alive:
            kill_group(pgid, signal.SIGKILL)
        for pgid in groups:
            self.forget(pgid)

    def close(self) -> None:
        """Everything was stopped by the CLI itself: dismiss the watchdog."""
        self._send("done")
        if self._pipe is not None:
            with contextlib.suppress(OSError):
                self._pipe.close()
        if self.process is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=5)
        if Guard.current is self:
            Guard.current = None

    def _send(self, line: str) -> None:
        if self._pipe is None:
            return
        with self._lock, contextlib.suppress(OSError, ValueError):
            self._pipe.write(line + "\n")
            self._pipe.flush()


def register(pgid: int, role: str) -> None:
    """Tell the current run's watchdog about a new process group (no-op without one)."""
    if Guard.current is not None:
        Guard.current.register(pgid, role)


def forget(pgid: int) -> None:
    """The process group was stopped by its owner: the watchdog need not."""
    if Guard.current is not None:
        Guard.current.forget(pgid)


@contextlib.contextmanager
def _log_file(path: Path) -> Any:
    try:
        handle: Any = path.open("ab")
    except OSError:
        handle = subprocess.DEVNULL
    try:
        yield handle
    finally:
        if handle is not subprocess.DEVNULL:
            handle.close()
