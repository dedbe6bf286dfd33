"""The arrival driver: one per load process, inside its gevent loop.

Open loop (arrival-rate scenarios): walks this process's share of the seeded schedule and
starts each request at its intended time; latency counts from that time, so a stalled
server cannot hide its stall (no coordinated omission). At most ``max_in_flight`` requests
are in flight; an arrival that cannot start within ``drop_after`` of its intended time is
recorded as dropped. Closed loop (sweep): N loopers, each sending back to back.
"""

from __future__ import annotations

from time import perf_counter, time

import gevent
from gevent.event import Event
from gevent.pool import Pool

from benchctl.load.clients import Transport
from benchctl.load.records import CANCELLED, RecordBuffer
from benchctl.load.shapes import Plan, iter_arrivals


class Driver:
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
    ) -> None:
        self.plan = plan
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

    @property
    def in_flight(self) -> int:
        return len(self.pool)

    def stop(self) -> None:
        """Stop starting requests; those in flight get ``stop_grace`` s, then are cancelled."""
        if not self._stopping.is_set():
            self._stopped_at = perf_counter()
            self._stopping.set()

    def run(self, t0: float) -> None:
        """Drive the whole plan; ``t0`` is the run's start on the wall clock (epoch s)."""
        self._mono0 = perf_counter() + (t0 - time())
        try:
            if self._stopping.wait(max(0.0, self._mono0 - perf_counter())):
                return
            if self.plan.open_loop:
                self._open_loop()
            else:
                self._closed_loop()
            self._drain()
        finally:
            self.pool.kill(block=True, timeout=5)  # stragglers are recorded as cancelled
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
        for chunk in iter_arrivals(self.plan, share=self.share):
            for offset in chunk.tolist():
                due = mono0 + offset
                delay = due - perf_counter()
                if (delay > 0 and stopping.wait(delay)) or stopping.is_set():
                    return
                if pool.full():
                    budget = due + self.drop_after - perf_counter()
                    if budget <= 0 or not pool.wait_available(timeout=budget):
                        buffer.add_dropped(offset)
                        continue
                elif perf_counter() - due > self.drop_after:
                    buffer.add_dropped(offset)
                    continue
                pool.spawn(self._send, offset)

    def _closed_loop(self) -> None:
        index, count = self.share
        loopers: dict[int, gevent.Greenlet] = {}
        while not self._stopping.is_set():
            elapsed = perf_counter() - self._mono0
            if elapsed >= self.plan.duration:
                break
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
            self._send(elapsed)

    def _send(self, offset: float) -> None:
        self.started += 1
        start = perf_counter()
        try:
            status, error, received = self.transport.send()
        except gevent.GreenletExit:
            now = perf_counter() - self._mono0
            self.buffer.add(offset, start - self._mono0, now, 0, CANCELLED, self.bytes_sent, 0)
            raise
        except Exception:  # a transport bug must cost one request, not the run
            status, error, received = 0, "client_error", 0
        end = perf_counter()
        mono0 = self._mono0
        self.buffer.add(
            offset, start - mono0, end - mono0, status, error, self.bytes_sent, received
        )
