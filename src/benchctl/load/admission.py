"""Admission delay of an open-loop driver: time spent waiting for an in-flight slot.

The driver sends arrivals one after another. While it waits for a slot (``max_in_flight``
requests outstanding), every later arrival is held up too, so an arrival's send lag is
partly *admission delay* (the driver was waiting for a slot, its own or an earlier
arrival's: queueing caused by a slow server) and partly *scheduler lag* (the driver woke up
late). ``SlotWaits`` records the waits as intervals on the driver's monotonic clock and
answers, for an arrival intended at ``due`` and sent now, how much of ``[due, now]`` was
spent waiting: ``W(now) - W(due)`` with ``W(t)`` the total wait up to ``t``. Due times
never decrease, so intervals ending before one are dropped: O(1) amortized per arrival.
"""

from __future__ import annotations

from collections import deque


class SlotWaits:
    """Slot-wait intervals (seconds, perf_counter clock) and the wait inside a span."""

    def __init__(self) -> None:
        self._intervals: deque[tuple[float, float, float]] = deque()  # start, end, W(start)
        self._total = 0.0  # W(end of the last interval)
        self._dropped_total = 0.0  # W(end of the last interval dropped)

    def add(self, start: float, end: float) -> None:
        """One wait, from ``start`` to ``end`` (after every earlier one)."""
        if end > start:
            self._intervals.append((start, end, self._total))
            self._total += end - start

    def waited(self, due: float, now: float) -> float:
        """Seconds spent waiting between ``due`` and ``now`` (``now`` after every wait
        added; ``due`` not before an earlier call's)."""
        intervals = self._intervals
        while intervals and intervals[0][1] <= due:
            start, end, before = intervals.popleft()
            self._dropped_total = before + (end - start)
        if intervals and intervals[0][0] < due:
            start, _, before = intervals[0]
            at_due = before + (due - start)
        else:
            at_due = self._dropped_total
        return max(0.0, self._total - at_due) if now >= due else 0.0
