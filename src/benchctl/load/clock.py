"""Each worker's wall-clock offset to the master, so that every worker plays its share of the
schedule on the master's clock.

Measured like NTP's offset (RFC 5905, section 8) from probes the master sends: the master
stamps ``t_master`` when it sends, the worker stamps ``t_worker`` when it answers, the master
stamps ``t_back`` on arrival. Then

    round trip  d = t_back - t_master
    offset      θ = t_worker - (t_master + t_back) / 2      (worker clock minus master clock)

and the true offset lies within ±d/2 of θ (the answer may have spent any part of the round
trip on either leg). The probe with the smallest round trip gives the tightest bound. The
master sends the run's start ``t0`` on its own clock; the worker starts at ``t0 + θ`` on its
clock. Tolerances (seconds):

* ``TOLERANCE_S`` (10 ms): an uncertainty (d/2) above it, or an offset that moved by more
  than it between the probes at join and those during the run (a clock step, NTP slewing
  hard), is recorded as a warning in run.json;
* ``REFUSE_S`` (250 ms): a worker whose offset cannot be measured more tightly than that is
  refused (the run fails with one line): its arrivals could land a quarter second off.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

COUNT_EVERY_S = 0.02  # a worker's sent counter reaches the master this often (when it moved):
# a SIGKILLed worker leaves at most rate x 0.02 s of its sends unreported (1 at 50 req/s,
# within the self-check's 2-request tolerance; at 0.1 s it was 5 and the check cried wolf)

TOLERANCE_S = 0.010
REFUSE_S = 0.250
LARGE_OFFSET_S = 1.0  # corrected, but named: the host's clock is clearly not synchronised


@dataclass
class ClockEstimate:
    """Probes of one worker: the best (smallest round trip) at join, the latest during the run."""

    join: tuple[float, float] | None = None  # (offset s, round trip s)
    latest: tuple[float, float] | None = None
    drift_max: float = 0.0
    probes: int = 0
    extra: list[str] = field(default_factory=list)

    def add(self, t_master: float, t_worker: float, t_back: float, *, joined: bool) -> None:
        """One answered probe; ``joined`` once the schedule was anchored (a re-check)."""
        rtt = max(0.0, t_back - t_master)
        offset = t_worker - (t_master + t_back) / 2.0
        self.probes += 1
        if not joined:
            if self.join is None or rtt < self.join[1]:
                self.join = (offset, rtt)
            return
        self.latest = (offset, rtt)
        if self.join is not None:
            # Only a change larger than both measurements' uncertainty is evidence of drift.
            slack = (rtt + self.join[1]) / 2.0
            self.drift_max = max(self.drift_max, abs(offset - self.join[0]) - slack)

    @property
    def offset(self) -> float:
        """Worker minus master, seconds (0 when never measured)."""
        return self.join[0] if self.join else 0.0

    @property
    def uncertainty(self) -> float | None:
        """Half the best probe round trip at join, seconds: the offset is known to ± this
        (None when never measured)."""
        return self.join[1] / 2.0 if self.join else None

    def refusal(self, name: str) -> str:
        """A one-line reason to refuse this worker, or ''."""
        if self.uncertainty is not None and self.uncertainty > REFUSE_S:
            return (
                f"{name}: its clock offset to the master cannot be measured to within "
                f"{REFUSE_S * 1000:.0f} ms (best probe round trip {self.join[1] * 1000:.0f} ms); "
                "run it on a network closer to the master"
            )
        return ""

    def warnings(self, name: str) -> list[str]:
        """One-line warnings for worker ``name``: offset unmeasured, large, uncertain beyond
        TOLERANCE_S, or drifting during the run; [] when none."""
        found = []
        if self.join is None:
            found.append(f"{name}: clock offset to the master not measured (no probe answered); "
                         "its schedule assumes synchronised clocks")  # fmt: skip
        else:
            if abs(self.offset) > LARGE_OFFSET_S:
                side = "ahead of" if self.offset > 0 else "behind"
                found.append(
                    f"{name}: wall clock {abs(self.offset):.3f} s {side} the master's "
                    "(corrected: its schedule was anchored to the master's clock)"
                )
            if self.uncertainty is not None and self.uncertainty > TOLERANCE_S:
                found.append(
                    f"{name}: clock offset known only to ±{self.uncertainty * 1000:.0f} ms "
                    f"(tolerance {TOLERANCE_S * 1000:.0f} ms)"
                )
        if self.drift_max > TOLERANCE_S:
            found.append(
                f"{name}: clock moved {self.drift_max * 1000:.0f} ms against the master's "
                f"during the run (tolerance {TOLERANCE_S * 1000:.0f} ms)"
            )
        return found + self.extra

    def to_json(self, name: str) -> dict[str, Any]:
        """The estimate for run.json: offset, uncertainty and drift in seconds (None when not
        measured), probe count, tolerance, and ``warnings(name)``."""
        return {
            "offset_s": self.offset if self.join else None,
            "uncertainty_s": self.uncertainty,
            "drift_s": self.drift_max if self.latest else None,
            "probes": self.probes,
            "tolerance_s": TOLERANCE_S,
            "warnings": self.warnings(name),
        }
