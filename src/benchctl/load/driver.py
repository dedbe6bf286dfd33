"""The arrival driver: one per load process, inside its gevent loop.

Open loop (arrival-rate scenarios): walks this process's share of the seeded schedule and
starts each request at its intended time; latency counts from that time, so a stalled
server cannot hide its stall (no coordinated omission). At most ``max_in_flight`` requests
are in flight; an arrival that cannot start within ``drop_after`` of its intended time is
recorded as dropped. Closed loop (sweep): N loopers, each sending back to back.

The driver sleeps until each intended time on a :mod:`benchctl.load.wake` waker (a Linux
timerfd: tens of microseconds late, where gevent's millisecond timer is ~0.6 ms late); the
one used is ``Driver.wake``. One driver per load process paces any rate: each wait is for
an absolute time, so a late wake-up never accumulates into a lower rate, and a due time
already past is sent at once.
"""

from __future__ import annotations

from time import perf_counter, process_time, time
from typing import Any

import gevent
from gevent import Greenlet, getcurrent
from gevent.event import Event
from gevent.pool import Pool

from benchctl.load.admission import SlotWaits
from benchctl.load.choice import RequestChooser
from benchctl.load.clients import Transport
from benchctl.load.lead import SpinLead
from benchctl.load.records import CANCELLED, RecordBuffer
from benchctl.load.wake import Waker, make_waker, request_short_slice
from benchctl.plan.shapes import Plan, iter_arrivals

# The waker is asked for a time a little before each send (load/lead.py: the tracked 80th
# percentile of how late the send was ready after the time asked for: the wake-up's lateness
# plus making the greenlet and choosing the input; 0.1-1 ms, at most a quarter of the gap
# since the previous arrival) and the send's greenlet spins the rest, so the loop's wake-up
# latency and the Python before the send are hidden before the due time. Cost: at most the
# lead in CPU per arrival (at most a quarter of the time at any rate). Quiet 2-core machine
# (benchmarks/send_lag.py, 2026-11-30): p50 send lag 0.1 ms fixed lead -> tracked lead,
# 0.109 -> 0.076 ms at 200 req/s; gevent's timer alone: ~0.6 ms. Tracking the readiness,
# not only the wake-up: p50 0.15 -> 0.0004 ms at 100 req/s on a launched Triton.


def _resume(driver: Any) -> None:
    """Loop callback: switch back into the driver's greenlet unless it was killed meanwhile."""
    if not driver.dead:
        driver.switch()


class Driver:
    """Plays one load process's share of a plan against ``transport``: open loop (arrivals
    at their intended times, each recorded from its intended time) or closed loop (N in
    flight), recording every request in ``buffer``; at most ``max_in_flight`` requests in
    flight, an arrival not sent within ``drop_after`` s is recorded as dropped."""

    def __init__(
        self,
        plan: Plan,
        transport: Transport,
        buffer: RecordBuffer,
        *,
        share: tuple[int, int] = (0, 1),
        max_in_flight: int = 256,
        drop_after: float = 1.0,
        drain_timeout: float = 30.0,
        stop_grace: float = 2.0,
        bytes_sent: int = 0,
        waker: Waker | None = None,
        chooser: RequestChooser | None = None,
    ) -> None:
        self.plan = plan
        self.chooser = chooser  # picks each request's model and input (load/choice.py)
        self._split = bool(getattr(chooser, "split", False))  # arms of a split run (arms.py)
        self.transport = transport
        self.buffer = buffer
        self.share = share
        self.drop_after = drop_after
        self.drain_timeout = drain_timeout
        self.stop_grace = stop_grace
        self._stopped_at = 0.0
        self.bytes_sent = bytes_sent
        self.pool = Pool(max_in_flight)
        self.finished = Event()
        self._stopping = Event()
        self._mono0 = perf_counter()
        self._wanted = 0
        self.started = 0  # requests whose send began (this process's own "sent" counter)
        self.waker = waker if waker is not None else make_waker()
        self._hub = gevent.get_hub()
        self._driving: tuple[float, float] | None = None  # (wall s, process CPU s) driving
        self.slice_us: int | None = None  # the scheduler slice asked for (wake.py)
        self.spin_lead = SpinLead()

    @property
    def wake(self) -> str:
        """The wake-up mechanism pacing the arrivals: ``"timerfd"`` or ``"sleep"``."""
        return self.waker.name

    def pacing(self) -> dict[str, Any]:
        """How this process paced its arrivals: ``wake`` (mechanism), ``slice_us`` (the
        scheduler slice asked for, or None), ``spin_lead_us`` (the tracked 80th percentile of the
        wake-up lateness, µs; the lead used is it clamped to 0.1-1 ms: load/lead.py),
        ``seconds`` from the first intended time to the last send started, ``cpu_seconds``
        this whole process used in that time (every thread: sending, reading, recording) and
        ``cpu_percent`` of one core (None before the plan has run)."""
        wall, cpu = self._driving or (0.0, 0.0)
        return {
            "wake": self.wake,
            "slice_us": self.slice_us,
            "spin_lead_us": round(self.spin_lead.estimate_s * 1e6, 1),
            "seconds": round(wall, 3),
            "cpu_seconds": round(cpu, 3),
            "cpu_percent": round(100.0 * cpu / wall, 1) if wall > 0 else None,
        }

    @property
    def in_flight(self) -> int:
        """Requests sent and not yet answered."""
        return len(self.pool)

    def stop(self) -> None:
        """Stop starting requests; those in flight get ``stop_grace`` s, then are cancelled."""
        if not self._stopping.is_set():
            self._stopped_at = perf_counter()
            self._stopping.set()
            self.waker.interrupt()

    def run(self, t0: float) -> None:
        """Drive the whole plan; ``t0`` is the run's start on the wall clock (epoch s)."""
        self._mono0 = perf_counter() + (t0 - time())
        if self.plan.open_loop:
            self.slice_us = request_short_slice()  # this thread: the one the waker wakes
        try:
            if self._stopping.wait(max(0.0, self._mono0 - perf_counter())):
                return
            wall, cpu = perf_counter(), process_time()
            if self.plan.open_loop:
                self._open_loop()
            else:
                self._closed_loop()
            self._driving = (perf_counter() - wall, process_time() - cpu)
            self._drain()
        finally:
            self.pool.kill(block=True, timeout=5)  # stragglers are recorded as cancelled
            self.waker.close()
            self.finished.set()

    def _drain(self) -> None:
        """Wait for requests in flight: up to ``drain_timeout`` after a normal end, at most
        ``stop_grace`` once stopped (Ctrl-C), so the caller gets every row before it quits."""
        deadline = perf_counter() + self.drain_timeout
        while len(self.pool) and perf_counter() < deadline:
            if self._stopping.is_set():
                deadline = min(deadline, self._stopped_at + self.stop_grace)
            self.pool.join(timeout=0.1)

    def _open_loop(self) -> None:
        mono0, pool, buffer, stopping = self._mono0, self.pool, self.buffer, self._stopping
        wait_until, previous = self.waker.wait_until, mono0
        spin_lead = self.spin_lead
        slot_waits = SlotWaits()
        for chunk in iter_arrivals(self.plan, share=self.share):
            for offset in chunk.tolist():
                due = mono0 + offset
                # Wake a little early (returns at once when that is past or the run is
                # stopping); _start_now spins the rest, so the send starts at ``due``. A
                # timer on a stale loop clock (gevent's) can fire early: wait again then.
                wake_at = due - spin_lead.lead(due - previous)
                asleep = perf_counter() < wake_at
                wait_until(wake_at)
                while perf_counter() < wake_at and not stopping.is_set():
                    wait_until(wake_at)
                previous = due
                if stopping.is_set():
                    return
                if pool.full():
                    waiting = perf_counter()
                    budget = due + self.drop_after - waiting
                    available = budget > 0 and pool.wait_available(timeout=budget)
                    slot_waits.add(waiting, perf_counter())
                    if not available:
                        buffer.add_dropped(offset)
                        continue
                elif perf_counter() - due > self.drop_after:
                    buffer.add_dropped(offset)
                    continue
                # admission delay: the driver waited for a slot (this arrival's or an
                # earlier one's) since ``due``; the rest of the send lag is the scheduler's
                waited = slot_waits.waited(due, perf_counter())
                # the lead is learnt from how late the send was ready, when it slept for it
                self._start_now(
                    offset, due, waited if waited > 0 else None, wake_at if asleep else None
                )

    def _start_now(
        self, offset: float, due: float, slot_wait: float | None, woke_for: float | None
    ) -> None:
        """Start one send due at ``due`` (the pool has room): make its greenlet, have the loop
        resume this driver at its next callback, and switch straight into the greenlet, which
        chooses its input, spins until ``due`` and runs up to its first wait (the request
        written). ``woke_for``: the time the driver asked to be woken for it, or None when it
        did not sleep. ``pool.spawn`` would start it only after every other event the loop
        has pending (responses being read): ~50 µs more lag at the median at 1,000 req/s."""
        greenlet = Greenlet(self._send, offset, slot_wait, due, woke_for)
        self.pool.add(greenlet)
        self._hub.loop.run_callback(_resume, getcurrent())
        greenlet.switch()

    def _spin_until(self, due: float, woke_for: float | None) -> None:
        """Busy-wait until ``due`` (never longer than the lead asked of the waker), first
        telling the lead tracker how late, after ``woke_for``, the send was ready: the
        wake-up's lateness plus making the greenlet and choosing the input, which on a
        just-woken idle CPU (cold caches) took ~0.1 ms at 100 req/s on a launched Triton
        (send lag p50 0.15 ms with the lateness of the wake-up alone tracked, 2026-11-30)."""
        if woke_for is not None:
            self.spin_lead.observe(perf_counter() - woke_for)
        while perf_counter() < due:
            pass

    def _closed_loop(self) -> None:
        index, count = self.share
        loopers: dict[int, gevent.Greenlet] = {}
        while not self._stopping.is_set():
            elapsed = perf_counter() - self._mono0
            if elapsed >= self.plan.duration:
                break
            if self.chooser is not None and self.chooser.exhausted:
                break  # a batch run's finite set is all sent (load/choice.py)
            total = self.plan.concurrency_at(elapsed)
            self._wanted = total // count + (1 if index < total % count else 0)
            for slot in range(self._wanted):
                if slot not in loopers or loopers[slot].dead:
                    loopers[slot] = self.pool.spawn(self._loop, slot)
            next_level = min(
                [start for start, _ in self.plan.levels if start > elapsed] + [self.plan.duration]
            )
            self._stopping.wait(min(0.25, max(0.0, next_level - elapsed)))
        self._wanted = 0

    def _loop(self, slot: int) -> None:
        while slot < self._wanted and not self._stopping.is_set():
            elapsed = perf_counter() - self._mono0
            if elapsed >= self.plan.duration:
                return
            if self.chooser is not None and self.chooser.exhausted:
                return
            self._send(elapsed)

    def _send(
        self,
        offset: float,
        slot_wait: float | None = None,
        due: float | None = None,
        woke_for: float | None = None,
    ) -> None:
        """One request: choose its input, wait for ``due`` (open loop; ``_spin_until``),
        send it and record it from ``offset`` s after the run's start (its intended time)."""
        self.started += 1
        waited = None if slot_wait is None else slot_wait * 1000.0
        choice = self.chooser.next() if self.chooser is not None else None
        sent, model, input_id = (
            (len(choice.body), choice.model, choice.input_id)
            if choice is not None
            else (self.bytes_sent, None, None)
        )
        arm, user = (choice.arm, choice.user) if self._split else (None, None)
        if due is not None:
            self._spin_until(due, woke_for)
        start = perf_counter()
        try:
            status, error, received, sent_at, end = self.transport.send(choice)
        except gevent.GreenletExit:
            now = perf_counter() - self._mono0
            self.buffer.add(
                offset, start - self._mono0, now, 0, CANCELLED, sent, 0, model, input_id,
                arm, user, waited,
            )  # fmt: skip
            raise
        except Exception:  # a transport bug must cost one request, not the run
            status, error, received, sent_at, end = 0, "client_error", 0, start, perf_counter()
        mono0 = self._mono0
        self.buffer.add(
            offset, start - mono0, end - mono0, status, error, sent, received, model, input_id,
            arm, user, waited, t_sent=sent_at - mono0,
        )  # fmt: skip
