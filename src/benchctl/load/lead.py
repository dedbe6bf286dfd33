"""How long before each intended send time the driver asks to be woken (the spin lead).

The driver sleeps on a waker until ``due - lead`` and spins the rest, so a wake-up that
comes up to ``lead`` late still sends on time. How late wake-ups come depends on the machine
and the rate: on this 2-core VM, at 1,000 req/s the loop is warm and most wake-ups are under
0.1 ms late, while at 200 req/s the process sleeps 5 ms between arrivals and the median
wake-up was ~0.2 ms late (a fixed 0.1 ms lead gave a p50 send lag of 0.11 ms at 200 req/s
against 0.02 ms at 1,000 req/s; benchmarks/send_lag.py, 2026-11-30). So the lead follows an
online estimate of a high quantile of how late, after the time asked for, each send was
ready to spin: the waker's own lateness plus the Python between the wake-up and the spin
(the send's greenlet made, its input chosen), within bounds that keep the spin cheap.

The estimate is the stochastic-approximation quantile tracker of Robbins and Monro (1951),
in the form given by Tierney (1983, "A space-efficient recursive procedure for estimating a
quantile", SIAM J. Sci. Stat. Comput. 4(4)): ``q <- q + step * (tau - 1[x <= q])``, whose
fixed point is the ``tau`` quantile of x. O(1) time and memory per observation.
"""

from __future__ import annotations

LEAD_FLOOR_S = 100e-6  # never less: the fixed lead used before, enough on a warm loop
LEAD_CAP_S = 1e-3  # never more: at most 1 ms of spinning per arrival
SPIN_SHARE = 0.25  # and never more than this share of the gap since the previous arrival
LATENESS_QUANTILE = 0.8  # the lead covers this share of wake-ups
STEP_S = 2e-6  # tracker step: moves 1.6 µs up per wake-up above q, 0.4 µs down per one below


class SpinLead:
    """The lead (s) before each due time at which the driver asks to be woken.

    ``observe(late_s)`` takes how late one send was ready (seconds after the time asked of
    the waker; negative if early); ``lead(gap_s)`` gives the lead for the next arrival,
    ``gap_s`` seconds after the previous one: the tracked ``LATENESS_QUANTILE`` of the
    lateness, at least ``LEAD_FLOOR_S``, at most ``LEAD_CAP_S`` and ``SPIN_SHARE * gap_s``
    (so spinning costs at most a quarter of a core at any rate). Raises nothing; non-finite
    input is ignored.
    """

    def __init__(self, quantile: float = LATENESS_QUANTILE, step_s: float = STEP_S) -> None:
        self.quantile = quantile
        self.step_s = step_s
        self.estimate_s = LEAD_FLOOR_S  # the tracked lateness quantile (s)
        self.observed = 0

    def observe(self, late_s: float) -> None:
        """Update the lateness quantile with one send's readiness lateness (s)."""
        if late_s != late_s or late_s in (float("inf"), float("-inf")):
            return
        below = 1.0 if late_s <= self.estimate_s else 0.0
        self.estimate_s = max(0.0, self.estimate_s + self.step_s * (self.quantile - below))
        self.observed += 1

    def lead(self, gap_s: float) -> float:
        """The lead (s) for an arrival ``gap_s`` seconds after the previous one."""
        wanted = min(max(self.estimate_s, LEAD_FLOOR_S), LEAD_CAP_S)
        return min(wanted, SPIN_SHARE * max(gap_s, 0.0))
