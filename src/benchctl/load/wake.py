"""Waking the arrival driver at an intended send time, well inside a millisecond.

gevent's timers (libev) sleep in ``epoll_wait``, whose timeout is in whole milliseconds
(libev rounds it up), so ``gevent.sleep`` and ``Event.wait(timeout)`` wake about 0.5-1 ms
after the time asked for. Every open-loop latency counts from the intended send time, so
that lateness (the *send lag*) is added to every latency measured.

:class:`TimerfdWaker` arms a Linux ``timerfd`` (``CLOCK_MONOTONIC``, absolute, nanosecond
resolution; the kernel's hrtimer, without timer slack) at the intended time and waits for
the descriptor to become readable through a gevent io watcher: ``epoll_wait`` returns when
the timer fires, not at the next millisecond. Nothing spins; other greenlets (responses
being read) run while the driver waits. :class:`SleepWaker` is gevent's own timer, kept as
the fallback where ``timerfd`` is missing (not Linux) and for comparison
(``BENCHCTL_WAKE=sleep``).

Both wait on the ``time.perf_counter`` clock, which is ``CLOCK_MONOTONIC`` on Linux (the
clock the timer is armed on; checked by :func:`make_waker`).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import platform
import sys
import time
from typing import Protocol

import gevent
from gevent.event import Event

WAKE_ENV = "BENCHCTL_WAKE"  # "timerfd" (default where available) or "sleep"
TIMERFD, SLEEP = "timerfd", "sleep"

_CLOCK_MONOTONIC = 1
_TFD_TIMER_ABSTIME = 1
_TFD_NONBLOCK = os.O_NONBLOCK
_TFD_CLOEXEC = getattr(os, "O_CLOEXEC", 0o2000000)


class Waker(Protocol):
    """Something the driver's greenlet can sleep on until a time, and be woken from early."""

    name: str

    def wait_until(self, due: float) -> None:
        """Return at ``due`` (``time.perf_counter`` seconds) or soon after; at once if ``due``
        is past or :meth:`interrupt` was called (then and from then on)."""

    def interrupt(self) -> None:
        """Wake a greenlet waiting in :meth:`wait_until` now (from another greenlet); later
        waits return at once (the run is stopping)."""

    def close(self) -> None:
        """Release the waker's resources; it must not be used afterwards."""


class SleepWaker:
    """gevent's own timer (libev, millisecond-granular ``epoll_wait``): the fallback."""

    name = SLEEP

    def __init__(self) -> None:
        self._interrupted = Event()

    def wait_until(self, due: float) -> None:
        """Block this greenlet until ``due`` (``time.perf_counter`` seconds) or interrupt."""
        delay = due - time.perf_counter()
        if delay > 0:
            self._interrupted.wait(delay)

    def interrupt(self) -> None:
        """Wake the waiting greenlet now, and every later wait at once."""
        self._interrupted.set()

    def close(self) -> None:
        """Nothing to release; waits return at once afterwards."""
        self._interrupted.set()


class _Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


class _Itimerspec(ctypes.Structure):
    _fields_ = [("it_interval", _Timespec), ("it_value", _Timespec)]


class TimerfdWaker:
    """A ``timerfd`` armed at the due time, watched by a gevent io watcher (Linux only).

    Raises OSError when the kernel or libc has no ``timerfd`` (use :func:`make_waker`,
    which falls back to :class:`SleepWaker`).
    """

    name = TIMERFD

    def __init__(self) -> None:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        self._settime = libc.timerfd_settime
        self._settime.argtypes = [
            ctypes.c_int,
            ctypes.c_int,
            ctypes.POINTER(_Itimerspec),
            ctypes.POINTER(_Itimerspec),
        ]
        self._settime.restype = ctypes.c_int
        create = libc.timerfd_create
        create.argtypes, create.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
        fd = create(_CLOCK_MONOTONIC, _TFD_NONBLOCK | _TFD_CLOEXEC)
        if fd < 0:
            errno = ctypes.get_errno()
            raise OSError(errno, f"timerfd_create: {os.strerror(errno)}")
        self._fd = fd
        self._spec = _Itimerspec()  # it_interval stays zero: one shot per arming
        self._spec_ref = ctypes.byref(self._spec)
        self._hub = gevent.get_hub()
        self._watcher = self._hub.loop.io(fd, 1)  # 1: readable
        self._closed = False
        self._interrupted = False

    def _arm(self, seconds: float) -> None:
        """Fire at ``seconds`` on CLOCK_MONOTONIC (absolute; a past time fires at once)."""
        whole = int(seconds)
        self._spec.it_value.tv_sec = whole
        self._spec.it_value.tv_nsec = min(999_999_999, max(0, int((seconds - whole) * 1e9)))
        if self._settime(self._fd, _TFD_TIMER_ABSTIME, self._spec_ref, None) != 0:
            errno = ctypes.get_errno()
            raise OSError(errno, f"timerfd_settime: {os.strerror(errno)}")

    def wait_until(self, due: float) -> None:
        """Block this greenlet until ``due`` (``time.perf_counter`` seconds) or interrupt.
        Raises OSError if the timer cannot be armed."""
        if self._interrupted or self._closed or due <= time.perf_counter():
            return
        self._arm(due)
        self._hub.wait(self._watcher)
        try:  # noqa: SIM105  (hot path: no context manager per arrival)
            os.read(self._fd, 8)  # the expiry count: clears readiness
        except BlockingIOError:  # re-armed by interrupt() after firing: nothing to read
            pass

    def interrupt(self) -> None:
        """Wake the waiting greenlet now, and every later wait at once."""
        self._interrupted = True
        if not self._closed:
            self._arm(1e-9)  # long past: readable at once, wakes the waiting greenlet

    def close(self) -> None:
        """Close the timer's file descriptor (once); waits return at once afterwards."""
        if not self._closed:
            self._closed = True
            self._watcher.close()
            os.close(self._fd)


class _SchedAttr(ctypes.Structure):
    _fields_ = [
        ("size", ctypes.c_uint32),
        ("sched_policy", ctypes.c_uint32),
        ("sched_flags", ctypes.c_uint64),
        ("sched_nice", ctypes.c_int32),
        ("sched_priority", ctypes.c_uint32),
        ("sched_runtime", ctypes.c_uint64),
        ("sched_deadline", ctypes.c_uint64),
        ("sched_period", ctypes.c_uint64),
        ("sched_util_min", ctypes.c_uint32),
        ("sched_util_max", ctypes.c_uint32),
    ]


_SYS_SCHED_SETATTR = {"x86_64": 314, "aarch64": 274}
SLICE_ENV = "BENCHCTL_SLICE_US"  # the scheduler slice to ask for; 0 (default): the kernel's
# Off by default: on the shared 2-core machine a 0.1 ms slice lowered the wake-up p90 under
# contention in 4 of 5 in-process pairs, but whole runs at 95% CPU pressure were too noisy
# to show a gain (README, Benchmarks). Opt in with BENCHCTL_SLICE_US=100.
DEFAULT_SLICE_US = 0


def request_short_slice(micros: int | None = None) -> int | None:
    """Ask the kernel's EEVDF scheduler (Linux >= 6.12) for a short time slice for the
    calling thread: a woken task with a shorter slice gets an earlier deadline and preempts
    the running one, so on a busy machine the driver runs soon after its timer fires. It
    changes when the thread runs, not its share of the CPU (policy and nice unchanged), and
    needs no privilege. ``micros`` (default ``BENCHCTL_SLICE_US``, else 0; the kernel
    clamps to 100-100,000) of 0 asks nothing. Returns the slice asked for in microseconds,
    or None when not asked or refused (older kernels ignore it silently)."""
    if micros is None:
        try:
            micros = int(os.environ.get(SLICE_ENV) or DEFAULT_SLICE_US)
        except ValueError:  # not a number: ask nothing (the run records slice_us None)
            return None
    number = _SYS_SCHED_SETATTR.get(platform.machine())
    if micros <= 0 or number is None or not sys.platform.startswith("linux"):
        return None
    if os.sched_getscheduler(0) != os.SCHED_OTHER:  # a policy someone chose: left alone
        return None
    attr = _SchedAttr(size=ctypes.sizeof(_SchedAttr), sched_policy=0)  # SCHED_OTHER
    attr.sched_nice = os.getpriority(os.PRIO_PROCESS, 0)
    attr.sched_runtime = micros * 1000
    libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
    if libc.syscall(number, 0, ctypes.byref(attr), 0) != 0:
        return None
    return micros


def make_waker(requested: str | None = None) -> Waker:
    """The most accurate waker this host has: ``timerfd`` on Linux, else gevent's timer.

    ``requested`` (default: the ``BENCHCTL_WAKE`` environment variable) may force ``"sleep"``
    (for comparisons) or ``"timerfd"`` (which still falls back if unavailable). The chosen
    one says which it is in ``.name``; the run records it.
    """
    wanted = (requested or os.environ.get(WAKE_ENV) or TIMERFD).strip().lower()
    if wanted == SLEEP or not sys.platform.startswith("linux"):
        return SleepWaker()
    if time.get_clock_info("perf_counter").implementation != "clock_gettime(CLOCK_MONOTONIC)":
        return SleepWaker()  # the timer would be armed on another clock than the schedule's
    try:
        return TimerfdWaker()
    except (OSError, AttributeError):  # no timerfd in this kernel or libc
        return SleepWaker()
