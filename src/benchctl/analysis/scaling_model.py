"""What the autoscaler simulators take and give: the traffic, one replica (SLO latency, mean
latency, pod start), the simulated result, and small numeric helpers shared by the
simulators (``hpa.py``, ``kpa.py``, ``spikes.py``). The HPA and KPA policies they replay
are in ``scaling_policies``.

Modeling choices common to both simulators: a pod added at time t serves from
t + cold_start_s (+ node_start_s when it does not fit on the nodes that exist:
``pool_pods``; nodes once added stay for the trace); it counts in the replica count at once
(it is billed, and the HPA sees it in currentReplicas) but serves nothing until ready, and
scale-down removes the least ready pods first. Ready pods share the offered rate evenly,
each up to its saturation throughput; the excess is counted as late or dropped requests
(SLO accounting carries nothing over). A step with traffic violates the SLO when any
request is late or dropped, the per-replica rate exceeds capacity_rps, or latency_ms(rate)
exceeds slo_ms. A controller acts on samples up to the previous step; the trace starts in
steady state (the replicas the policy settles at for the first rate) unless
initial_replicas is given.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from benchctl.analysis.scaling_policies import KNATIVE_TIMEOUT_S, Policy, check_positive
from benchctl.errors import InputError

FloatArray = npt.NDArray[np.float64]

EPS = 1e-9


# ----------------------------------------------------------------------------- inputs


@dataclass(frozen=True, eq=False)
class Traffic:
    """Offered load: ``rps[i]`` holds from ``t[i]`` (seconds) to the next sample."""

    t: FloatArray
    rps: FloatArray

    def __post_init__(self) -> None:
        t = np.asarray(self.t, dtype=float)
        rps = np.asarray(self.rps, dtype=float)
        if t.ndim != 1 or t.shape != rps.shape or t.size == 0:
            raise InputError("traffic: t and rps must be non-empty 1-D arrays of equal length")
        if not (np.all(np.isfinite(t)) and np.all(np.isfinite(rps))) or np.any(rps < 0):
            raise InputError("traffic: times and rates must be finite, rates >= 0")
        if np.any(np.diff(t) <= 0):
            raise InputError("traffic: times must be strictly increasing")
        object.__setattr__(self, "t", t)
        object.__setattr__(self, "rps", rps)

    @classmethod
    def from_arrays(
        cls,
        times: Sequence[float] | FloatArray,
        rates: Sequence[float] | FloatArray,
        *,
        dt: float = 1.0,
        interpolate: bool = False,
    ) -> Traffic:
        """Resample (times, rates) onto a grid of ``dt`` from the first to the last time.

        Each rate holds until the next time (a step trace) unless ``interpolate``.
        """
        raw = cls(np.asarray(times, dtype=float), np.asarray(rates, dtype=float))
        check_positive("dt", dt)
        n = math.floor((raw.t[-1] - raw.t[0]) / dt + EPS) + 1
        grid = raw.t[0] + dt * np.arange(n)
        if interpolate:
            return cls(grid, np.interp(grid, raw.t, raw.rps))
        index = np.searchsorted(raw.t, grid + EPS, side="right") - 1
        return cls(grid, raw.rps[index])

    @property
    def peak(self) -> float:
        """The highest rate of the trace, in requests/s (raises ValueError on an empty trace)."""
        return float(self.rps.max())


@dataclass(frozen=True)
class MeanLatency:
    """Mean response time (ms) of one replica at per-replica throughput x:
    ``base_ms + scale / (x_max - x)``, infinite from x_max on (scale in ms x rps).

    For M/M/1 with service rate mu: base 0, scale 1000, x_max mu. The queueing part's
    requests in flight at x are s*x/(x_max - x) with s = scale / 1000 (Little's law).
    """

    base_ms: float
    scale: float
    x_max: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.base_ms) and self.base_ms >= 0):
            raise InputError("mean latency: base_ms must be a finite number >= 0")
        if not (math.isfinite(self.scale) and self.scale >= 0):
            raise InputError("mean latency: scale must be a finite number >= 0")
        check_positive("mean latency x_max", self.x_max)

    @property
    def queue_scale(self) -> float:
        """s: the queueing part's in-flight count is s*x/(x_max - x)."""
        return self.scale / 1000.0

    def ms(self, x: float | FloatArray) -> Any:
        """Mean latency (ms) at per-replica throughput ``x``; inf at and beyond x_max."""
        xs = np.asarray(x, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            gap = self.x_max - xs
            queue = np.where(gap > 0, self.scale / np.where(gap > 0, gap, 1.0), np.inf)
            out = np.where(queue == np.inf, np.inf, self.base_ms + queue)
        return float(out) if out.ndim == 0 else out

    def in_flight(self, x: float) -> float:
        """Stationary requests in flight per replica at throughput ``x`` (Little's law)."""
        if x <= 0:
            return 0.0
        if x > self.x_max or (x == self.x_max and self.scale > 0):
            return math.inf
        queue = self.queue_scale * x / (self.x_max - x) if self.scale > 0 else 0.0
        return x * self.base_ms / 1000.0 + queue


@dataclass(frozen=True, eq=False)
class MeasuredMeans:
    """The mean latencies the run measured: one per analysis window, at its throughput.

    ``rps``: each window's throughput (successes/s); ``ms``: its mean latency over its
    successes; ``requests``: its successes (the weight of its mean in a pooled mean).
    """

    rps: FloatArray
    ms: FloatArray
    requests: FloatArray

    def near(self, rate: float, tolerance: float = 0.1) -> tuple[float, float, float, int] | None:
        """(pooled mean ms, lowest and highest throughput req/s, windows) over the windows
        measured within ``tolerance`` x ``rate`` of ``rate`` (req/s): the mean over their
        requests, sum(requests x ms) / sum(requests). None when no window is that near."""
        keep = np.abs(self.rps - rate) <= tolerance * rate + EPS
        if not keep.any() or self.requests[keep].sum() <= 0:
            return None
        weights = self.requests[keep]
        mean = float((weights * self.ms[keep]).sum() / weights.sum())
        return mean, float(self.rps[keep].min()), float(self.rps[keep].max()), int(keep.sum())

    def nearest(self, rate: float) -> tuple[float, float, float, int] | None:
        """``near`` around the measured throughput closest to ``rate`` (req/s): the windows
        within 10% of it. None without windows."""
        if self.rps.size == 0:
            return None
        closest = float(self.rps[np.argmin(np.abs(self.rps - rate))])
        return self.near(closest)


def rate_span(low: float, high: float) -> str:
    """ "6.8 rps", or "60.2-66.1 rps" when the two differ to 0.1 rps."""
    a, b = f"{low:,.1f}", f"{high:,.1f}"
    return f"{a} rps" if a == b else f"{a}-{b} rps"


@dataclass(frozen=True)
class ReplicaModel:
    """What one replica can do, however the curve behind it was fitted.

    ``latency_ms`` is the SLO percentile at a per-replica rate (it should accept a numpy
    array; a scalar-only function is vectorized once per simulation). ``mean`` is the mean
    latency curve for Little's law; without it, a constant ``latency_ms(0)`` up to max_rps.
    """

    capacity_rps: float  # highest per-replica throughput meeting the SLO
    max_rps: float  # per-replica saturation throughput (>= capacity)
    latency_ms: Callable[[Any], Any]  # SLO quantile at a per-replica rate; inf if saturated
    cold_start_s: float  # a new pod serves this long after it is created
    slo_ms: float
    mean: MeanLatency | None = None
    node_start_s: float = 0.0  # added to a pod's start when it needs a new node
    pool_pods: int | None = None  # pods the existing nodes hold; None: room for any number
    request_timeout_s: float = KNATIVE_TIMEOUT_S  # longest a queued request waits
    measured: MeasuredMeans | None = None  # the run's mean latencies (the KPA target's W)

    def __post_init__(self) -> None:
        check_positive("capacity_rps", self.capacity_rps)
        check_positive("slo_ms", self.slo_ms)
        if self.max_rps < self.capacity_rps:
            raise InputError("replica model: max_rps must be >= capacity_rps")
        if self.cold_start_s < 0 or self.node_start_s < 0:
            raise InputError("replica model: cold_start_s and node_start_s must be >= 0")
        if self.pool_pods is not None and self.pool_pods < 0:
            raise InputError("replica model: pool_pods must be >= 0")
        check_positive("request_timeout_s", self.request_timeout_s)

    def replicas_for(self, rps: float) -> int:
        """Replicas that serve ``rps`` with each at or under capacity."""
        return max(1, ceil_up(rps / self.capacity_rps))

    @cached_property
    def mean_latency(self) -> MeanLatency:
        """The mean latency curve (given, or constant at zero-load latency up to max_rps)."""
        if self.mean is not None:
            return self.mean
        zero = float(self.latency_ms(0.0))
        return MeanLatency(zero if math.isfinite(zero) else self.slo_ms, 0.0, self.max_rps)

    def concurrency_at(self, rate: float) -> float:
        """Stationary in-flight requests per pod at a per-pod ``rate`` (inf when saturated)."""
        return self.mean_latency.in_flight(rate)

    def latency_array(self, rates: FloatArray) -> FloatArray:
        """``latency_ms`` over an array of rates, in one call when the function allows it."""
        rates = np.asarray(rates, dtype=float)
        try:
            out = np.asarray(self.latency_ms(rates), dtype=float)
            if out.shape == rates.shape:
                return out
        except (TypeError, ValueError):
            pass
        return np.array([float(self.latency_ms(float(r))) for r in rates])


# ----------------------------------------------------------------------------- results


@dataclass(frozen=True, eq=False)
class SimResult:
    """Per-step arrays of one simulation and their totals.

    ``phase_s`` is the controller's first-sync offset simulated; ``phase_violations_s`` the
    SLO-violation seconds of every phase tried (this result is the worst of them).
    ``activator_seconds`` (KPA) is the time the activator stayed in the request path.
    """

    kind: Literal["hpa", "kpa"]
    control_period_s: float  # HPA sync period or KPA tick
    dt: float
    t: FloatArray
    offered: FloatArray
    desired: FloatArray  # the controller's latest recommendation (before limits)
    replicas: FloatArray  # pods that exist (ready + starting): what is billed
    ready: FloatArray
    served: FloatArray
    dropped: FloatArray  # late or dropped requests/s (offered beyond what ready pods serve)
    latency_ms: FloatArray  # at the served per-replica rate; nan without ready pods
    violated: npt.NDArray[np.bool_]
    panic: npt.NDArray[np.bool_]
    slo_violation_seconds: float
    late_or_dropped_requests: float
    replica_seconds: float
    cost: float
    max_replicas: int
    metric: FloatArray | None = None  # what the controller read at each of its syncs/ticks
    phase_s: float = 0.0
    phase_violations_s: tuple[float, ...] = ()
    activator_seconds: float = 0.0

    def summary(self) -> dict[str, Any]:
        """The totals as a JSON-ready dict."""
        out: dict[str, Any] = {
            "kind": self.kind,
            "slo_violation_seconds": self.slo_violation_seconds,
            "late_or_dropped_requests": self.late_or_dropped_requests,
            "replica_seconds": self.replica_seconds,
            "replica_hours": self.replica_seconds / 3600.0,
            "cost": self.cost,
            "max_replicas": self.max_replicas,
            "panic_seconds": float(self.panic.sum() * self.dt),
        }
        if self.phase_violations_s:
            out["sync_phases"] = len(self.phase_violations_s)
            out["worst_phase_s"] = self.phase_s
            out["slo_violation_seconds_best_phase"] = min(self.phase_violations_s)
        if self.kind == "kpa":
            out["activator_in_path_seconds"] = self.activator_seconds
        return out


@dataclass(frozen=True)
class Recommendation:
    """One simulated candidate, ranked; ``chosen`` marks the recommended one."""

    policy: Policy
    result: SimResult
    chosen: bool
    reason: str


@dataclass(frozen=True)
class CronWindow:
    """A KEDA cron trigger: ``desired_replicas`` from ``start`` until ``end`` (cron, 5 fields)."""

    start: str
    end: str
    desired_replicas: int
    timezone: str = "Etc/UTC"

    def __post_init__(self) -> None:
        if self.start == self.end:
            raise InputError("cron window: start and end must differ")
        if self.desired_replicas < 1:
            raise InputError("cron window: desired_replicas must be >= 1")


@dataclass(frozen=True)
class SpikePattern:
    """Periodic bursts found in a trace (``period_s`` None for a single burst)."""

    onsets: tuple[float, ...]
    period_s: float | None
    burst_s: float
    rise_s: float
    base_rps: float
    peak_rps: float


# ----------------------------------------------------------------------------- helpers


def on_grid(traffic: Traffic, dt: float) -> Traffic:
    """``traffic`` resampled to steps of ``dt`` seconds (itself when already on that grid);
    InputError unless ``dt`` > 0."""
    check_positive("dt", dt)
    if traffic.t.size == 1 or np.allclose(np.diff(traffic.t), dt):
        return traffic
    return Traffic.from_arrays(traffic.t, traffic.rps, dt=dt)


def steps_of(seconds: float, dt: float) -> int:
    """How many steps of ``dt`` seconds ``seconds`` span (rounded to the nearest step), at least
    one. Raises ZeroDivisionError for dt = 0 (callers check dt > 0).
    """
    return max(1, round(seconds / dt))


def ceil_up(x: float) -> int:
    """Pods for a fractional demand ``x`` (pods): ceil(x) ignoring float noise below EPS;
    0 for x <= 0 or NaN. Raises OverflowError for x = inf (math.ceil)."""
    return math.ceil(x - EPS) if x > 0 else 0


def ceil_up_array(x: FloatArray) -> FloatArray:
    """``ceil_up`` elementwise over an array of demands (pods, any shape): ceil(x - EPS)
    where x > 0, else 0 (NaN gives 0). Same shape, float. Raises nothing (inf stays inf)."""
    return np.where(x > 0, np.ceil(x - EPS), 0.0)


def clamp(x: int, low: float, high: float) -> int:
    """``x`` limited to [``low``, ``high``] (replica bounds), as an int. Raises nothing; with low >
    high the result is ``high``.
    """
    return int(min(max(x, low), high))
