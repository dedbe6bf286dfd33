"""SIGINT (Ctrl-C), SIGTERM (``timeout``, ``docker stop``, CI cancellation, Kubernetes) and
SIGHUP (terminal closed) all stop a run the same way.

``StopSignals`` installs one handler for the three for the length of a run (main thread
only; elsewhere it does nothing and the caller's own handling applies). Two modes:

* raising (the default, while a server launches or the run is set up): the first signal
  raises ``Stopped`` (a KeyboardInterrupt) where the main thread is, so blocking waits end
  and the code's cleanup (``finally``, ``until_ready``) runs; later signals only count.
* deferred (``defer(on_signal)``, while the engine runs and while the run is finalized):
  signals never raise; ``on_signal(signum, count)`` is called (to stop the engine at once)
  and the run loop reads ``received``.

A closed stdout (``benchctl run ... | head``: Python ignores SIGPIPE and raises
BrokenPipeError at the next print) stops a run the same way, with its own reason
(``CLOSED_STDOUT``): the terminal console calls ``closed_stdout_stops_run``, goes quiet and
the run finishes its directory, marked ``interrupted``.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
REASONS = {
    signal.SIGINT: "interrupted by user (Ctrl-C)",
    signal.SIGTERM: "stopped by SIGTERM",
    signal.SIGHUP: "stopped by SIGHUP (terminal closed)",
    # not a handled signal: a closed stdout (``| head``) noted by ``note_closed_stdout``
    signal.SIGPIPE: "stopped: stdout closed (its reader left, e.g. `| head`)",
}
CLOSED_STDOUT = REASONS[signal.SIGPIPE]


class Stopped(KeyboardInterrupt):
    """A stop signal arrived while the run was being set up."""

    def __init__(self, signum: int) -> None:
        super().__init__(REASONS.get(signum, f"stopped by signal {signum}"))
        self.signum = signum


_ACTIVE: list[StopSignals] = []  # the run in progress on the main thread (innermost last)


def closed_stdout_stops_run() -> bool:
    """stdout was closed early (BrokenPipeError: ``benchctl run ... | head``): when a run or
    search is in progress, stop it as a stop signal would (``note_closed_stdout``) and return
    True, so the caller goes on quietly and the run directory ends ``interrupted`` with the
    reason ``CLOSED_STDOUT``; False when none is (the caller raises BrokenPipeError, and
    ``benchctl.cli.main`` exits 0). May raise ``Stopped`` (a run in raising mode)."""
    if not _ACTIVE:
        return False
    _ACTIVE[-1].note_closed_stdout()
    return True


class StopSignals:
    """Context manager: the three stop signals handled alike (see module docstring)."""

    def __init__(self, *, raising: bool = True) -> None:
        self.received: list[int] = []
        self._raising = raising
        self._on_signal: Callable[[int, int], None] | None = None
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():
            for signum in SIGNALS:
                self._previous[signum] = signal.signal(signum, self._handle)
            _ACTIVE.append(self)
        return self

    def __exit__(self, *_: object) -> None:
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)
        self._previous.clear()
        if self in _ACTIVE:
            _ACTIVE.remove(self)

    @property
    def reason(self) -> str:
        """Why the run stops, after the first signal ('' before any)."""
        if not self.received:
            return ""
        return REASONS.get(self.received[0], f"stopped by signal {self.received[0]}")

    def arm(self) -> None:
        """Raising mode from now on; raises ``Stopped`` at once for a signal already noted."""
        if self.received:
            self._raising = False
            raise Stopped(self.received[0])
        self._raising = True

    def defer(self, on_signal: Callable[[int, int], None] | None = None) -> None:
        """From now on signals never raise; ``on_signal(signum, count)`` is called instead."""
        self._raising = False
        self._on_signal = on_signal

    def note_closed_stdout(self) -> None:
        """stdout was closed (BrokenPipeError, e.g. ``| head``): stop the run as a stop
        signal would (``Stopped`` while raising, ``on_signal`` when deferred), with
        SIGPIPE's reason. Nothing is sent: Python ignores SIGPIPE and raises instead."""
        self._handle(signal.SIGPIPE, None)

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        self.received.append(signum)
        if self._on_signal is not None:
            self._on_signal(signum, len(self.received))
        if self._raising:
            self._raising = False
            raise Stopped(signum)
