"""Autoscaler simulation and recommendation: Kubernetes HPA v2 (alone or driven by KEDA) and
the Knative KPA.

Both simulators step a per-replica model (``ReplicaModel``) through an offered-load trace on
a uniform grid of ``dt`` seconds and replay the controller's own arithmetic
(kubernetes pkg/controller/podautoscaler ``horizontal.go`` and ``replica_calculator.go``;
knative/serving ``pkg/autoscaler/scaling/autoscaler.go``). Modeling choices:

* Pod start: a pod added at time t serves from t + cold_start_s (+ node_start_s when it does
  not fit on the nodes that exist: ``pool_pods``; nodes once added stay for the trace). It
  counts in the replica count at once (it is billed, and the HPA sees it in currentReplicas)
  but serves nothing until ready. Scale-down removes the least ready pods first.
* Serving: ready pods share the offered rate evenly, each up to its saturation throughput;
  the excess is counted as late or dropped requests (SLO accounting carries nothing over).
* SLO violation: a step with traffic violates the SLO when any request is late or dropped,
  the per-replica rate exceeds capacity_rps, or latency_ms(rate) exceeds slo_ms.
* HPA metric, as the manifest measures it: a counter (``counter``: "offered" arrivals, or
  "completions", which saturate at what the ready pods serve) scraped every
  ``scrape_interval_s`` and read as Prometheus ``rate(counter[rate_window_s])`` at each sync:
  the counter's increase between the first and the last scrape inside the window over their
  time span (what ``rate()`` returns for a window it fully covers). ``source`` "external" is
  KEDA's AverageValue metric (the total over currentReplicas, ready or not:
  GetExternalPerPodMetricReplicas); "pods" a per-pod metric averaged over ready pods, with
  not-ready pods counted as 0 on a scale-up (calcPlainMetricReplicas). A zero window and
  scrape interval is the ideal metric: the previous step. The first sync comes
  ``sync_phase_s`` after the trace starts, then every ``sync_period_s``.
* KPA metric: requests in flight (Little's law from the *mean* latency, queueing included):
  a fixed part served x base and a queue whose per-pod length follows the pointwise
  stationary fluid approximation x' = r - mu*x/(s + x) (Wang, Tipper & Cui 1996), whose
  fixed point is the M/M/1-shaped mean s*r/(mu - r) and which grows by r - mu per second
  beyond saturation mu: overload is seen, not capped. Requests that find no ready pod wait
  at the activator and count too; a request waits at most request_timeout_s.
* A controller acts on samples up to the previous step. The trace starts in steady state
  (the replicas the policy settles at for the first rate) unless initial_replicas is given.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from itertools import pairwise
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from benchctl.errors import InputError

FloatArray = npt.NDArray[np.float64]
HpaMetric = Literal["rps_per_replica", "cpu_utilization"]
HpaCounter = Literal["offered", "completions"]
HpaSource = Literal["pods", "external"]
KpaMetric = Literal["concurrency", "rps"]
Select = Literal["Max", "Min", "Disabled"]

_EPS = 1e-9
_HPA_METRICS = ("rps_per_replica", "cpu_utilization")
_HPA_COUNTERS = ("offered", "completions")
_HPA_SOURCES = ("pods", "external")
_KPA_METRICS = ("concurrency", "rps")
_SELECTS = ("Max", "Min", "Disabled")
KNATIVE_TARGET_BURST_CAPACITY = 211.0  # config-autoscaler target-burst-capacity default
KNATIVE_TIMEOUT_S = 300.0  # revision timeoutSeconds default


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
        _check_positive("dt", dt)
        n = math.floor((raw.t[-1] - raw.t[0]) / dt + _EPS) + 1
        grid = raw.t[0] + dt * np.arange(n)
        if interpolate:
            return cls(grid, np.interp(grid, raw.t, raw.rps))
        index = np.searchsorted(raw.t, grid + _EPS, side="right") - 1
        return cls(grid, raw.rps[index])

    @property
    def peak(self) -> float:
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
        _check_positive("mean latency x_max", self.x_max)

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

    def __post_init__(self) -> None:
        _check_positive("capacity_rps", self.capacity_rps)
        _check_positive("slo_ms", self.slo_ms)
        if self.max_rps < self.capacity_rps:
            raise InputError("replica model: max_rps must be >= capacity_rps")
        if self.cold_start_s < 0 or self.node_start_s < 0:
            raise InputError("replica model: cold_start_s and node_start_s must be >= 0")
        if self.pool_pods is not None and self.pool_pods < 0:
            raise InputError("replica model: pool_pods must be >= 0")
        _check_positive("request_timeout_s", self.request_timeout_s)

    def replicas_for(self, rps: float) -> int:
        """Replicas that serve ``rps`` with each at or under capacity."""
        return max(1, _ceil(rps / self.capacity_rps))

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


@dataclass(frozen=True)
class ScalingPolicy:
    """One HPA behavior policy: at most ``value`` Pods or Percent per ``period_s``."""

    type: Literal["Pods", "Percent"]
    value: int
    period_s: int

    def __post_init__(self) -> None:
        if self.type not in ("Pods", "Percent"):
            raise InputError(f"scaling policy: type must be Pods or Percent, not {self.type!r}")
        if self.value <= 0 or not 0 < self.period_s <= 1800:
            raise InputError("scaling policy: value must be > 0 and period_s in 1..1800")


DEFAULT_SCALE_UP = (ScalingPolicy("Percent", 100, 15), ScalingPolicy("Pods", 4, 15))
DEFAULT_SCALE_DOWN = (ScalingPolicy("Percent", 100, 15),)


@dataclass(frozen=True)
class HpaPolicy:
    """An autoscaling/v2 HorizontalPodAutoscaler, the metric pipeline that feeds it and the
    controller flags it runs under.

    ``target`` is requests/s per pod for "rps_per_replica", percent of max_rps for
    "cpu_utilization". ``counter``, ``source``, ``rate_window_s`` and ``scrape_interval_s``
    say what the rps metric measures (see the module docstring); ``sync_period_s``,
    ``tolerance`` and ``sync_phase_s`` are kube-controller-manager's. Defaults are the ideal
    metric (the previous step's offered rate per ready pod).
    """

    min_replicas: int
    max_replicas: int
    metric: HpaMetric
    target: float
    sync_period_s: float = 15.0
    tolerance: float = 0.1
    scale_up_stabilization_s: int = 0
    scale_down_stabilization_s: int = 300
    scale_up: tuple[ScalingPolicy, ...] = DEFAULT_SCALE_UP
    scale_up_select: Select = "Max"
    scale_down: tuple[ScalingPolicy, ...] = DEFAULT_SCALE_DOWN
    scale_down_select: Select = "Max"
    rate_window_s: float = 0.0
    scrape_interval_s: float = 0.0
    counter: HpaCounter = "offered"
    source: HpaSource = "pods"
    sync_phase_s: float = 0.0

    def __post_init__(self) -> None:
        if not 1 <= self.min_replicas <= self.max_replicas:
            raise InputError("HPA policy: need 1 <= min_replicas <= max_replicas")
        if self.metric not in _HPA_METRICS:
            raise InputError(f"HPA policy: metric must be one of {', '.join(_HPA_METRICS)}")
        if self.counter not in _HPA_COUNTERS:
            raise InputError(f"HPA policy: counter must be one of {', '.join(_HPA_COUNTERS)}")
        if self.source not in _HPA_SOURCES:
            raise InputError(f"HPA policy: source must be one of {', '.join(_HPA_SOURCES)}")
        _check_positive("HPA target", self.target)
        _check_positive("sync_period_s", self.sync_period_s)
        if self.tolerance < 0 or self.rate_window_s < 0 or self.scrape_interval_s < 0:
            raise InputError(
                "HPA policy: tolerance, rate_window_s and scrape_interval_s must be >= 0"
            )
        if 0 < self.rate_window_s < 2 * self.scrape_interval_s:
            raise InputError(
                "HPA policy: rate_window_s must hold two scrapes (>= 2 x scrape_interval_s)"
            )
        if not 0 <= self.sync_phase_s < self.sync_period_s:
            raise InputError("HPA policy: sync_phase_s must be in [0, sync_period_s)")
        for window in (self.scale_up_stabilization_s, self.scale_down_stabilization_s):
            if not 0 <= window <= 3600:
                raise InputError("HPA policy: stabilization windows must be 0..3600 s")
        if self.scale_up_select not in _SELECTS or self.scale_down_select not in _SELECTS:
            raise InputError(f"HPA policy: selectPolicy must be one of {', '.join(_SELECTS)}")
        if not self.scale_up or not self.scale_down:
            raise InputError("HPA policy: scale_up and scale_down need at least one policy")

    @property
    def keda(self) -> bool:
        """True when this is KEDA's external AverageValue metric."""
        return self.source == "external"

    def describe(self) -> str:
        if self.metric == "rps_per_replica":
            unit = f" rps/replica ({self.counter}"
            if self.rate_window_s:
                unit += (
                    f", rate[{self.rate_window_s:g}s] scraped every {self.scrape_interval_s:g} s"
                )
            unit += ")"
        else:
            unit = "% CPU"
        who = "KEDA/HPA" if self.keda else "HPA"
        return (
            f"{who} {self.min_replicas}-{self.max_replicas} replicas, target"
            f" {self.target:g}{unit}, scale-down window {self.scale_down_stabilization_s} s"
        )


@dataclass(frozen=True)
class KpaPolicy:
    """A Knative Pod Autoscaler configuration (per-revision annotations plus config-autoscaler).

    ``target`` is in-flight requests (or requests/s) per pod; the autoscaler aims at
    target x target_utilization_percentage / 100 (Knative's default 70%). ``max_scale`` 0
    means unbounded and ``container_concurrency`` 0 means no hard limit, as in Knative.
    ``target_burst_capacity`` (default 211, -1: always) decides when the activator stays in
    the request path: while ready pods x target - panic-window concurrency < it.
    """

    target: float
    metric: KpaMetric = "concurrency"
    container_concurrency: int = 0
    target_utilization_percentage: float = 70.0
    stable_window_s: float = 60.0
    panic_window_percentage: float = 10.0
    panic_threshold_percentage: float = 200.0
    min_scale: int = 1
    max_scale: int = 0
    scale_down_delay_s: float = 0.0
    max_scale_up_rate: float = 1000.0
    max_scale_down_rate: float = 2.0
    tick_s: float = 2.0
    scale_to_zero_grace_s: float = 30.0
    target_burst_capacity: float = KNATIVE_TARGET_BURST_CAPACITY

    def __post_init__(self) -> None:
        if self.metric not in _KPA_METRICS:
            raise InputError(f"KPA policy: metric must be one of {', '.join(_KPA_METRICS)}")
        if not (math.isfinite(self.target) and self.target >= 0.01):
            raise InputError("KPA policy: target must be a finite number >= 0.01")
        if not 6 <= self.stable_window_s <= 3600:
            raise InputError("KPA policy: stable_window_s must be 6..3600")
        if not 1 <= self.panic_window_percentage <= 100:
            raise InputError("KPA policy: panic_window_percentage must be 1..100")
        if not 110 <= self.panic_threshold_percentage <= 1000:
            raise InputError("KPA policy: panic_threshold_percentage must be 110..1000")
        if not 1 <= self.target_utilization_percentage <= 100:
            raise InputError("KPA policy: target_utilization_percentage must be 1..100")
        if self.min_scale < 0 or self.max_scale < 0 or self.container_concurrency < 0:
            raise InputError("KPA policy: min_scale, max_scale, container_concurrency >= 0")
        if 0 < self.max_scale < self.min_scale:
            raise InputError("KPA policy: max_scale must be 0 (unbounded) or >= min_scale")
        if self.max_scale_up_rate <= 1 or self.max_scale_down_rate <= 1:
            raise InputError("KPA policy: max scale up/down rates must be > 1")
        _check_positive("tick_s", self.tick_s)
        if self.scale_down_delay_s < 0 or self.scale_to_zero_grace_s < 0:
            raise InputError("KPA policy: delays must be >= 0")
        if self.target_burst_capacity < 0 and self.target_burst_capacity != -1:
            raise InputError("KPA policy: target_burst_capacity must be >= 0 or -1")

    @property
    def panic_window_s(self) -> float:
        return self.stable_window_s * self.panic_window_percentage / 100.0

    @property
    def effective_target(self) -> float:
        return self.target * self.target_utilization_percentage / 100.0

    def describe(self) -> str:
        top = str(self.max_scale) if self.max_scale else "unbounded"
        return (
            f"KPA {self.min_scale}-{top} pods, target {self.target:g} {self.metric}"
            f" at {self.target_utilization_percentage:g}%, stable window {self.stable_window_s:g} s"
        )


Policy = HpaPolicy | KpaPolicy


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


# ----------------------------------------------------------------------------- HPA


def simulate_hpa(
    traffic: Traffic,
    model: ReplicaModel,
    policy: HpaPolicy,
    *,
    dt: float = 1.0,
    price_per_hour: float = 0.0,
    initial_replicas: int | None = None,
    floor: FloatArray | None = None,
) -> SimResult:
    """Replay the HPA v2 controller (sync, tolerance, stabilization, policies) over ``traffic``.

    ``floor`` (replicas per step, optional) is a second metric such as KEDA's cron trigger:
    while it is above 0 the HPA also proposes it (an AverageValue 1 metric), and takes the
    larger proposal. Work in Python is per sync, not per step: between syncs the pods are
    fixed, so the steps are filled with array operations.
    """
    grid = _on_grid(traffic, dt)
    t, offered = grid.t, grid.rps
    n = t.size
    start = (
        _hpa_settled(policy, model, offered[0]) if initial_replicas is None else initial_replicas
    )
    fleet = _Fleet(model, start)
    recs: list[tuple[float, int]] = [(float(t[0]), start)]  # maybeInitScaleDownStabilizationWindow
    ups: list[tuple[float, int]] = []
    downs: list[tuple[float, int]] = []
    every = _steps(policy.sync_period_s, dt)
    phase = round(policy.sync_phase_s / dt) % every
    ticks = list(range(phase or every, n, every))
    reader = _MetricReader(policy, model, dt, n)
    desired = start
    out = _Arrays(n)
    metric_seen = np.full(len(ticks), np.nan)
    bounds = [0, *ticks, n]
    for k, (a, b) in enumerate(pairwise(bounds)):
        if a > 0:
            now = float(t[a])
            current, ready = len(fleet), fleet.ready_count(now)
            if not policy.min_replicas <= current <= policy.max_replicas:
                new = desired = _clamp(current, policy.min_replicas, policy.max_replicas)
            else:
                proposal, metric_seen[k - 1] = reader.proposal(a, current, ready)
                if floor is not None and floor[a] > 0:
                    cron = _external_proposal(current, float(floor[a]), 1.0, policy.tolerance)
                    proposal = cron if proposal is None else max(proposal, cron)
                if proposal is None:
                    new = current  # no metric: the controller does nothing
                else:
                    new, desired = _hpa_decide(policy, now, current, proposal, recs, ups, downs)
            _record_event(ups, downs, now, current, new)
            fleet.resize(new, now)
        ready = fleet.ready_at(t[a:b])
        served = out.fill(a, b, offered[a:b], len(fleet), ready, model.max_rps, desired)
        reader.record(a, b, offered[a:b], served, ready)
    result = out.finish("hpa", policy.sync_period_s, dt, grid, model, price_per_hour)
    return replace(result, metric=metric_seen, phase_s=phase * dt)


class _MetricReader:
    """What the HPA reads at a sync: a scraped counter's rate() or averaged CPU."""

    def __init__(self, policy: HpaPolicy, model: ReplicaModel, dt: float, n: int) -> None:
        self.policy, self.model, self.dt = policy, model, dt
        self.cum = np.zeros(n + 1)  # the counter (requests) at each step boundary
        self.util = np.zeros(n + 1)  # cumulative CPU percent of steps with a ready pod
        self.busy = np.zeros(n + 1)  # cumulative count of steps with a ready pod
        self.first = 0.0  # the counter's rate before the trace (steady state)
        self.scrape = _steps(policy.scrape_interval_s, dt) if policy.scrape_interval_s else 1
        self.window = round(policy.rate_window_s / dt)

    def record(
        self, a: int, b: int, offered: FloatArray, served: FloatArray, ready: FloatArray
    ) -> None:
        counted = offered if self.policy.counter == "offered" else served
        if a == 0:
            self.first = float(counted[0])
        self.cum[a + 1 : b + 1] = self.cum[a] + np.cumsum(counted) * self.dt
        if self.policy.metric != "cpu_utilization":
            return
        with np.errstate(divide="ignore", invalid="ignore"):
            cpu = np.where(ready > 0, served / np.maximum(ready, 1) / self.model.max_rps * 100, 0)
        self.util[a + 1 : b + 1] = self.util[a] + np.cumsum(cpu)
        self.busy[a + 1 : b + 1] = self.busy[a] + np.cumsum(ready > 0)

    def rate(self, i: int) -> float | None:
        """Prometheus rate(counter[window]) at step i: increase between the first and last
        scrape in (now - window, now] over their span; the previous interval if the window
        is 0; None with fewer than two scrapes."""
        last = (i // self.scrape) * self.scrape
        if self.window <= self.scrape:
            first = last - self.scrape
        else:
            first = (math.floor((i - self.window) / self.scrape) + 1) * self.scrape
            if last - first < self.scrape:
                return None
        return (self._counter(last) - self._counter(first)) / ((last - first) * self.dt)

    def _counter(self, j: int) -> float:
        return float(self.cum[j]) if j >= 0 else j * self.dt * self.first

    def proposal(self, i: int, current: int, ready: int) -> tuple[int | None, float]:
        """(replica proposal or None without a metric, the metric value read)."""
        policy = self.policy
        if policy.metric == "cpu_utilization":
            low = max(0, i - max(1, self.window))
            count = self.busy[i] - self.busy[low]
            if not count or ready == 0:
                return None, math.nan
            metric = float((self.util[i] - self.util[low]) / count)
            return hpa_proposal(current, ready, metric / policy.target, policy.tolerance), metric
        total = self.rate(i)
        if total is None:
            return None, math.nan
        if policy.keda:
            return _external_proposal(current, total, policy.target, policy.tolerance), total
        if ready == 0:
            return None, total
        ratio = total / ready / policy.target
        return hpa_proposal(current, ready, ratio, policy.tolerance), total


def _external_proposal(current: int, total: float, target: float, tolerance: float) -> int:
    """GetExternalPerPodMetricReplicas: usage over target x currentReplicas (ready or not);
    outside the tolerance, ceil(usage / target)."""
    ratio = total / (target * max(current, 1))
    if abs(1.0 - ratio) <= tolerance:
        return current
    return _ceil(total / target)


def _hpa_decide(
    policy: HpaPolicy,
    now: float,
    current: int,
    proposal: int,
    recs: list[tuple[float, int]],
    ups: list[tuple[float, int]],
    downs: list[tuple[float, int]],
) -> tuple[int, int]:
    """One controller pass: (replicas to set, raw proposal); ``recs`` gets the proposal."""
    stabilized = _stabilize(
        recs,
        now,
        proposal,
        current,
        policy.scale_up_stabilization_s,
        policy.scale_down_stabilization_s,
    )
    horizon = max(policy.scale_up_stabilization_s, policy.scale_down_stabilization_s)
    recs[:] = [r for r in recs if r[0] > now - horizon - _EPS]
    recs.append((now, proposal))
    if stabilized > current:
        limit = _scale_up_limit(current, ups, downs, now, policy.scale_up, policy.scale_up_select)
        return min(stabilized, policy.max_replicas, max(limit, current)), proposal
    if stabilized < current:
        limit = _scale_down_limit(
            current, ups, downs, now, policy.scale_down, policy.scale_down_select
        )
        return max(stabilized, policy.min_replicas, min(limit, current)), proposal
    return current, proposal


def hpa_proposal(current: int, ready: int, ratio: float, tolerance: float) -> int:
    """Kubernetes' replica calculator for an average metric over ``ready`` of ``current`` pods.

    ``ratio`` is the ready pods' average metric over the target. Within the tolerance the
    count stays; on a scale-up the not-ready pods are counted as using 0 of the target.
    """
    unready = current - ready
    if unready > 0 and ratio > 1.0:
        diluted = ratio * ready / current
        if abs(1.0 - diluted) <= tolerance or diluted < 1.0:
            return current
        return max(current, _ceil(diluted * current))
    if abs(1.0 - ratio) <= tolerance:
        return current
    return _ceil(ratio * ready)


def _stabilize(
    recommendations: list[tuple[float, int]],
    now: float,
    proposal: int,
    current: int,
    up_window: float,
    down_window: float,
) -> int:
    """Scale up to the lowest and down to the highest recommendation in their windows."""
    up = down = proposal
    for when, value in recommendations:
        if when > now - up_window + _EPS:
            up = min(up, value)
        if when > now - down_window + _EPS:
            down = max(down, value)
    return min(max(current, up), down)


def _changed(events: list[tuple[float, int]], now: float, period: float) -> int:
    return sum(change for when, change in events if when + period > now + _EPS)


def _scale_up_limit(
    current: int,
    ups: list[tuple[float, int]],
    downs: list[tuple[float, int]],
    now: float,
    rules: tuple[ScalingPolicy, ...],
    select: Select,
) -> int:
    if select == "Disabled":
        return current
    limits = []
    for rule in rules:
        base = current - _changed(ups, now, rule.period_s) + _changed(downs, now, rule.period_s)
        if rule.type == "Pods":
            limits.append(base + rule.value)
        else:
            limits.append(_ceil(base * (1 + rule.value / 100.0)))
    return max(limits) if select == "Max" else min(limits)


def _scale_down_limit(
    current: int,
    ups: list[tuple[float, int]],
    downs: list[tuple[float, int]],
    now: float,
    rules: tuple[ScalingPolicy, ...],
    select: Select,
) -> int:
    if select == "Disabled":
        return current
    limits = []
    for rule in rules:
        base = current - _changed(ups, now, rule.period_s) + _changed(downs, now, rule.period_s)
        if rule.type == "Pods":
            limits.append(max(0, base - rule.value))
        else:
            limits.append(max(0, int(base * (1 - rule.value / 100.0) + _EPS)))
    return min(limits) if select == "Max" else max(limits)


def _record_event(
    ups: list[tuple[float, int]], downs: list[tuple[float, int]], now: float, old: int, new: int
) -> None:
    if new > old:
        ups.append((now, new - old))
    elif new < old:
        downs.append((now, old - new))
    for events in (ups, downs):
        events[:] = [e for e in events if e[0] > now - 1800.0]


def _hpa_settled(policy: HpaPolicy, model: ReplicaModel, rps: float) -> int:
    if policy.metric == "rps_per_replica":
        need = _ceil(rps / policy.target)
    else:
        need = _ceil(rps * 100.0 / (model.max_rps * policy.target))
    return _clamp(need, policy.min_replicas, policy.max_replicas)


# ----------------------------------------------------------------------------- KPA


def simulate_kpa(
    traffic: Traffic,
    model: ReplicaModel,
    policy: KpaPolicy,
    *,
    dt: float = 1.0,
    price_per_hour: float = 0.0,
    initial_replicas: int | None = None,
) -> SimResult:
    """Replay the Knative Pod Autoscaler (stable/panic windows, delays, bounds) over ``traffic``.

    The concurrency it averages is Little's law with queueing (``_InFlight``); with the rps
    metric, the offered rate. The activator is in the request path while there is no ready
    pod or the excess burst capacity is negative (autoscaler.go).
    """
    grid = _on_grid(traffic, dt)
    t, offered = grid.t, grid.rps
    n = t.size
    pod_max = _pod_limit(model, policy.container_concurrency)
    start = (
        _kpa_settled(policy, model, offered[0]) if initial_replicas is None else initial_replicas
    )
    fleet = _Fleet(model, start)
    every = _steps(policy.tick_s, dt)
    stable_w, panic_w = _steps(policy.stable_window_s, dt), _steps(policy.panic_window_s, dt)
    metric_sum = [0.0] * (n + 1)
    flight = _InFlight(model, dt, offered[0], start)
    panic_since: float | None = None  # last tick over the panic threshold, while panicking
    max_panic_pods = 0
    delay: list[tuple[float, int]] = []
    zero_since: float | None = None
    desired = start
    panicking = [False] * n
    seen = np.full(max(0, (n - 1) // every), np.nan)
    activator = 0
    times, rates = t.tolist(), offered.tolist()
    columns: list[list[float]] = [[], [], [], []]  # replicas, ready, served, desired
    concurrency = policy.metric == "concurrency"
    total = 0.0
    for i in range(n):  # scalar steps: a KPA tick is 2 s, too short for array segments
        now = times[i]
        if i > 0 and i % every == 0:
            ready = fleet.ready_count(now)
            stable = (metric_sum[i] - metric_sum[max(0, i - stable_w)]) / min(i, stable_w)
            burst = (metric_sum[i] - metric_sum[max(0, i - panic_w)]) / min(i, panic_w)
            seen[i // every - 1] = stable
            want_stable, want_panic, over = kpa_counts(policy, ready, stable, burst)
            if ready == 0 or _activator_in_path(policy, ready, burst):
                activator += 1
            if over:
                panic_since = now
            elif panic_since is not None and panic_since + policy.stable_window_s < now - _EPS:
                panic_since, max_panic_pods = None, 0
            want = want_stable
            if panic_since is not None:
                max_panic_pods = max(max_panic_pods, want_stable, want_panic)
                want = max_panic_pods
            if policy.scale_down_delay_s > 0:
                delay = [d for d in delay if d[0] > now - policy.scale_down_delay_s + _EPS]
                delay.append((now, want))
                want = max(d[1] for d in delay)
            desired = want
            new, zero_since = _kpa_bounds(policy, want, len(fleet), now, zero_since)
            fleet.resize(new, now)
        ready = fleet.ready_count(now)
        served = min(rates[i], ready * pod_max)
        for column, value in zip(columns, (len(fleet), ready, served, desired), strict=True):
            column.append(value)
        total += flight.step(rates[i], served, ready) if concurrency else rates[i]
        metric_sum[i + 1] = total
        panicking[i] = panic_since is not None
    out = _Arrays(n)
    out.replicas, out.ready, out.served, out.desired = (np.array(c, dtype=float) for c in columns)
    panic = np.array(panicking, dtype=bool)
    result = out.finish("kpa", policy.tick_s, dt, grid, model, price_per_hour, panic)
    return replace(
        result,
        metric=seen,
        activator_seconds=float(activator * every * dt),
    )


class _InFlight:
    """Requests in flight over all pods (what queue-proxies and the activator report).

    Per step: served x base (the fixed part of the mean latency) plus a queue Q that the
    ready pods share. Per pod, x = Q / ready follows x' = r - mu*x/(s + x) (pointwise
    stationary fluid approximation), integrated by a backward Euler step, which is stable
    for any dt and whose fixed point is the stationary s*r/(mu - r); with s = 0 it is the
    fluid queue max(0, x + (r - mu)dt). Without ready pods arrivals wait at the activator.
    A queue never holds more than request_timeout_s of arrivals.
    """

    def __init__(self, model: ReplicaModel, dt: float, rate: float, pods: int) -> None:
        mean = model.mean_latency
        self.base_s, self.s, self.mu = mean.base_ms / 1000.0, mean.queue_scale, mean.x_max
        self.dt, self.timeout = dt, model.request_timeout_s
        per_pod = rate / pods if pods else 0.0
        queue = self.s * per_pod / (self.mu - per_pod) if 0 < per_pod < self.mu else 0.0
        self.queue = queue * pods

    def step(self, offered: float, served: float, ready: int) -> float:
        """Advance one step with ``offered`` arrivals/s; the in-flight count it reports."""
        arriving = offered * self.dt
        if ready <= 0:
            queue = self.queue + arriving
        else:
            c = (self.queue + arriving) / ready
            b = self.s - c + self.mu * self.dt
            queue = ready * (-b + math.sqrt(b * b + 4.0 * self.s * c)) / 2.0
        if offered > 0:
            queue = min(queue, offered * self.timeout)
        self.queue = queue
        return served * self.base_s + queue


def _activator_in_path(policy: KpaPolicy, ready: int, burst: float) -> bool:
    """Excess burst capacity floor(ready x target - panic concurrency - TBC) < 0."""
    if policy.target_burst_capacity == 0:
        return False
    if policy.target_burst_capacity < 0:
        return True
    # TotalValue: the per-pod target before utilization, at most containerConcurrency
    cap = policy.container_concurrency
    total = min(policy.target, cap) if cap else policy.target
    return math.floor(ready * total - burst - policy.target_burst_capacity) < 0


def kpa_counts(policy: KpaPolicy, ready: int, stable: float, burst: float) -> tuple[int, int, bool]:
    """Knative's decider: stable and panic pod counts (rate-limited) and the panic condition.

    ``stable`` and ``burst`` are the revision's total metric averaged over the stable and the
    panic window; with no ready pod the autoscaler counts one.
    """
    pods = max(1, ready)
    up = math.ceil(policy.max_scale_up_rate * pods)
    down = math.floor(pods / policy.max_scale_down_rate)
    stable_pods = _ceil(stable / policy.effective_target)
    panic_pods = _ceil(burst / policy.effective_target)
    over = panic_pods / pods >= policy.panic_threshold_percentage / 100.0
    return _clamp(stable_pods, down, up), _clamp(panic_pods, down, up), over


def _kpa_bounds(
    policy: KpaPolicy, want: int, current: int, now: float, zero_since: float | None
) -> tuple[int, float | None]:
    """Apply min/max scale; scale to zero only after the grace period."""
    top = policy.max_scale or math.inf
    new = int(min(max(want, policy.min_scale), top))
    if new > 0 or current == 0:
        return new, None
    since = now if zero_since is None else zero_since
    if now - since + _EPS >= policy.scale_to_zero_grace_s:
        return 0, since
    return current, since


def _kpa_settled(policy: KpaPolicy, model: ReplicaModel, rps: float) -> int:
    """The pod count the stable window settles at for a constant ``rps``."""
    if rps <= 0:
        return policy.min_scale
    pods, top = 1, policy.max_scale or math.inf
    for _ in range(60):
        if policy.metric == "rps":
            want = _ceil(rps / policy.effective_target)
        else:
            per_pod = model.concurrency_at(rps / pods)
            finite = math.isfinite(per_pod)
            want = _ceil(per_pod * pods / policy.effective_target) if finite else 2 * pods
        settled = _clamp(want, max(1, policy.min_scale), top)
        if settled == pods:
            break
        pods = settled
    return pods


def _pod_limit(model: ReplicaModel, container_concurrency: int) -> float:
    """Per-pod throughput under a hard in-flight limit: the largest r with in-flight <= cc."""
    if container_concurrency <= 0:
        return model.max_rps
    if model.concurrency_at(model.max_rps) <= container_concurrency:
        return model.max_rps
    low, high = 0.0, model.max_rps
    for _ in range(60):
        mid = (low + high) / 2
        fits = model.concurrency_at(mid) <= container_concurrency
        low, high = (mid, high) if fits else (low, mid)
    return low


# ----------------------------------------------------------------------------- shared stepping


class _Fleet:
    """The pods that exist, as the times they become ready (sorted; -inf: ready already)."""

    def __init__(self, model: ReplicaModel, count: int) -> None:
        self.model = model
        self.times: list[float] = [-math.inf] * count
        self.pool = math.inf if model.pool_pods is None else max(model.pool_pods, count)
        self.array = np.array(self.times)

    def __len__(self) -> int:
        return len(self.times)

    def resize(self, count: int, now: float) -> None:
        """Add pods that serve after their start (and a new node's, beyond the pool), or
        remove the least ready ones."""
        if count > len(self.times):
            for index in range(len(self.times), count):
                start = self.model.cold_start_s
                if index >= self.pool:
                    start += self.model.node_start_s
                bisect.insort(self.times, now + start)
            self.pool = max(self.pool, count)
        else:
            del self.times[count:]
        self.array = np.array(self.times)

    def ready_count(self, now: float) -> int:
        return bisect.bisect_right(self.times, now + _EPS)

    def ready_at(self, times: FloatArray) -> FloatArray:
        return np.searchsorted(self.array, times + _EPS, side="right").astype(float)


class _Arrays:
    """Per-step bookkeeping shared by both simulators."""

    def __init__(self, n: int) -> None:
        self.replicas = np.zeros(n)
        self.ready = np.zeros(n)
        self.served = np.zeros(n)
        self.desired = np.zeros(n)

    def fill(
        self,
        a: int,
        b: int,
        offered: FloatArray,
        replicas: int,
        ready: FloatArray,
        pod_max: float,
        desired: int,
    ) -> FloatArray:
        served = np.minimum(offered, ready * pod_max)
        self.replicas[a:b], self.ready[a:b], self.served[a:b] = replicas, ready, served
        self.desired[a:b] = desired
        return served

    def finish(
        self,
        kind: Literal["hpa", "kpa"],
        period: float,
        dt: float,
        grid: Traffic,
        model: ReplicaModel,
        price_per_hour: float,
        panic: npt.NDArray[np.bool_] | None = None,
    ) -> SimResult:
        offered = grid.rps
        dropped = np.maximum(offered - self.served, 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            rate = np.where(self.ready > 0, self.served / np.maximum(self.ready, 1), np.nan)
        serving = ~np.isnan(rate)
        latency = np.full(rate.size, np.nan)
        if serving.any():
            latency[serving] = model.latency_array(rate[serving])
        busy = offered > 0
        violated = busy & (
            (dropped > _EPS * np.maximum(offered, 1.0))
            | (np.nan_to_num(rate) > model.capacity_rps * (1 + _EPS))
            | (np.nan_to_num(latency, nan=0.0) > model.slo_ms)
        )
        replica_seconds = float(self.replicas.sum() * dt)
        return SimResult(
            kind=kind,
            control_period_s=period,
            dt=dt,
            t=grid.t,
            offered=offered,
            desired=self.desired,
            replicas=self.replicas,
            ready=self.ready,
            served=self.served,
            dropped=dropped,
            latency_ms=latency,
            violated=violated,
            panic=panic if panic is not None else np.zeros(offered.size, dtype=bool),
            slo_violation_seconds=float(violated.sum() * dt),
            late_or_dropped_requests=float(dropped.sum() * dt),
            replica_seconds=replica_seconds,
            cost=replica_seconds / 3600.0 * price_per_hour,
            max_replicas=int(self.replicas.max()),
        )


def _on_grid(traffic: Traffic, dt: float) -> Traffic:
    _check_positive("dt", dt)
    if traffic.t.size == 1 or np.allclose(np.diff(traffic.t), dt):
        return traffic
    return Traffic.from_arrays(traffic.t, traffic.rps, dt=dt)


def _steps(seconds: float, dt: float) -> int:
    return max(1, round(seconds / dt))


def _ceil(x: float) -> int:
    return math.ceil(x - _EPS) if x > 0 else 0


def _clamp(x: int, low: float, high: float) -> int:
    return int(min(max(x, low), high))


def _check_positive(name: str, value: float) -> None:
    if not (math.isfinite(value) and value > 0):
        raise InputError(f"{name} must be a positive number, not {value!r}")


# ----------------------------------------------------------------------------- search


def simulate(
    traffic: Traffic,
    model: ReplicaModel,
    policy: Policy,
    *,
    dt: float = 1.0,
    price_per_hour: float = 0.0,
    floor: FloatArray | None = None,
) -> SimResult:
    """Simulate either autoscaler (``floor``, a cron pre-scale, applies to the HPA only)."""
    if isinstance(policy, HpaPolicy):
        return simulate_hpa(
            traffic, model, policy, dt=dt, price_per_hour=price_per_hour, floor=floor
        )
    return simulate_kpa(traffic, model, policy, dt=dt, price_per_hour=price_per_hour)


def simulate_worst_phase(
    traffic: Traffic,
    model: ReplicaModel,
    policy: Policy,
    *,
    phases: int = 1,
    dt: float = 1.0,
    price_per_hour: float = 0.0,
    floor: FloatArray | None = None,
) -> SimResult:
    """The worst of ``phases`` evenly spaced first-sync offsets of an HPA (the trace does not
    know where the controller's 15-s loop stands): most SLO-violation seconds, then most
    late requests, then most replica-seconds. KPA policies are simulated once."""
    if not isinstance(policy, HpaPolicy) or phases <= 1:
        return simulate(traffic, model, policy, dt=dt, price_per_hour=price_per_hour, floor=floor)
    steps = _steps(policy.sync_period_s, dt)
    offsets = sorted({round(k * steps / phases) for k in range(phases)})
    results = [
        simulate_hpa(
            traffic,
            model,
            replace(policy, sync_phase_s=offset * dt),
            dt=dt,
            price_per_hour=price_per_hour,
            floor=floor,
        )
        for offset in offsets
    ]
    worst = max(
        results,
        key=lambda r: (r.slo_violation_seconds, r.late_or_dropped_requests, r.replica_seconds),
    )
    return replace(worst, phase_violations_s=tuple(r.slo_violation_seconds for r in results))


def recommend(
    traffic: Traffic,
    model: ReplicaModel,
    *,
    price_per_hour: float,
    candidates: Sequence[Policy],
    dt: float = 1.0,
    phases: int = 1,
    floor: FloatArray | None = None,
    currency: str = "USD",
) -> list[Recommendation]:
    """Simulate each candidate (HPA: its worst sync phase of ``phases``); best first: meets
    the SLO and cheapest, else fewest violations."""
    if not candidates:
        raise InputError("recommend: no candidate policies")
    results = [
        simulate_worst_phase(
            traffic, model, c, phases=phases, dt=dt, price_per_hour=price_per_hour, floor=floor
        )
        for c in candidates
    ]
    order = sorted(
        range(len(results)),
        key=lambda i: (
            results[i].slo_violation_seconds,
            results[i].replica_seconds,
            results[i].late_or_dropped_requests,
            i,
        ),
    )
    best = results[order[0]]
    return [
        Recommendation(
            policy=candidates[i],
            result=results[i],
            chosen=rank == 0,
            reason=f"{candidates[i].describe()}: {_reason(results[i], best, rank == 0, currency)}",
        )
        for rank, i in enumerate(order)
    ]


def _reason(result: SimResult, best: SimResult, chosen: bool, currency: str = "USD") -> str:
    hours = result.replica_seconds / 3600.0
    money = f" ({result.cost:,.2f} {currency})" if result.cost > 0 else ""
    cost = f"{hours:.2f} replica-hours{money}, peak {result.max_replicas} replicas"
    phases = result.phase_violations_s
    worst = (
        f" (worst of {len(phases)} sync phases; best {min(phases):g} s)"
        if len(phases) > 1 and max(phases) > min(phases)
        else ""
    )
    missed = (
        f"SLO violated for {result.slo_violation_seconds:g} s{worst}"
        f" ({result.late_or_dropped_requests:,.0f} late or dropped requests)"
    )
    if chosen:
        if result.slo_violation_seconds == 0:
            return f"chosen: cheapest candidate that meets the SLO; {cost}"
        return f"chosen: no candidate meets the SLO, this one misses least; {missed}; {cost}"
    if result.slo_violation_seconds > 0:
        return f"rejected: {missed}"
    extra = (result.replica_seconds / best.replica_seconds - 1) * 100 if best.replica_seconds else 0
    if extra < 0.5:
        return f"meets the SLO at the chosen one's cost (ranked after it); {cost}"
    return f"meets the SLO but costs {extra:.0f}% more than the chosen one; {cost}"


def default_hpa_candidates(
    model: ReplicaModel,
    peak: float,
    *,
    template: HpaPolicy | None = None,
    max_share: float = 0.9,
) -> list[HpaPolicy]:
    """A grid over min replicas, target (60-90% of capacity, at most ``max_share``) and
    scale-down window; metric pipeline and controller flags from ``template``."""
    need = model.replicas_for(peak)
    top = max(2, 2 * _ceil(peak / (0.6 * model.capacity_rps)))
    base = template or HpaPolicy(1, 1, "rps_per_replica", 1.0)
    shares = [s for s in (0.6, 0.7, 0.8, 0.9) if s <= max_share + _EPS] or [max_share]
    return [
        replace(
            base,
            min_replicas=low,
            max_replicas=max(top, low),
            metric="rps_per_replica",
            target=round(model.capacity_rps * share, 3),
            scale_down_stabilization_s=window,
        )
        for low in sorted({1, max(1, _ceil(need / 2)), need})
        for share in shares
        for window in (60, 300)
    ]


def default_kpa_candidates(
    model: ReplicaModel, peak: float, *, template: KpaPolicy | None = None
) -> list[KpaPolicy]:
    """A grid over min scale (0 included), target utilization (60-90%, Knative's 70% among
    them) and stable window; the target is the in-flight count per pod at capacity (Little's
    law from the mean latency), so the utilization is the headroom."""
    need = model.replicas_for(peak)
    # capacity at saturation (a lower-bound capacity without a curve): just below it
    rate = min(model.capacity_rps, 0.99 * model.mean_latency.x_max)
    at_capacity = model.concurrency_at(model.capacity_rps)
    if not math.isfinite(at_capacity):
        at_capacity = model.concurrency_at(rate)
    top = max(2, 2 * _ceil(peak / (0.6 * model.capacity_rps)))
    base = template or KpaPolicy(target=1.0)
    return [
        replace(
            base,
            target=max(0.01, round(at_capacity, 2)),
            target_utilization_percentage=share,
            min_scale=low,
            max_scale=max(top, low),
            stable_window_s=window,
        )
        for low in sorted({0, 1, max(1, _ceil(need / 2)), need})
        for share in (70.0, 60.0, 80.0, 90.0)
        for window in (30.0, 60.0, 120.0)
    ]


# ----------------------------------------------------------------------------- spikes


def detect_spikes(traffic: Traffic, *, min_ratio: float = 1.5) -> SpikePattern | None:
    """Bursts above halfway between the median rate and the peak; None without any."""
    rps, t = traffic.rps, traffic.t
    base, peak = float(np.median(rps)), float(rps.max())
    if peak <= 0 or peak < base * min_ratio:
        return None
    high = rps > base + 0.5 * (peak - base)
    edges = np.diff(np.concatenate(([0], high.astype(np.int8), [0])))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    step = float(t[1] - t[0]) if t.size > 1 else 1.0
    onsets = tuple(float(t[s]) for s in starts)
    period = float(np.median(np.diff(onsets))) if len(onsets) > 1 else None
    burst = float(np.median(ends - starts)) * step
    return SpikePattern(
        onsets=onsets,
        period_s=period,
        burst_s=burst,
        rise_s=_rise(rps, t, starts[0], base, step),
        base_rps=base,
        peak_rps=peak,
    )


def _rise(rps: FloatArray, t: FloatArray, start: int, base: float, step: float) -> float:
    """Seconds from the last sample near the base rate to 90% of the first burst's height."""
    end = start
    while end + 1 < rps.size and rps[end + 1] > rps[end]:
        end += 1
    top = rps[end]
    low = base + 0.1 * (top - base)
    begin = start
    while begin > 0 and rps[begin - 1] > low:
        begin -= 1
    reach = begin
    while rps[reach] < base + 0.9 * (top - base):
        reach += 1
    return float(t[reach] - t[begin]) + (step if begin > 0 else 0.0)


def prescale_windows(
    period_s: float,
    burst_s: float,
    *,
    lead_s: float,
    replicas: int,
    phase_s: float = 0.0,
    timezone: str = "Etc/UTC",
) -> list[CronWindow]:
    """KEDA cron windows that hold ``replicas`` from ``lead_s`` before each burst to its end.

    Bursts start ``phase_s`` after each period boundary (wall clock); the period must be a
    whole number of minutes dividing an hour. Empty when cron cannot express it or when the
    window would cover the whole period (then min replicas is the answer).
    """
    minutes = period_s / 60.0
    if abs(minutes - round(minutes)) > _EPS or round(minutes) < 1 or 60 % round(minutes):
        return []
    every = round(minutes)
    if lead_s + burst_s >= period_s:
        return []
    start = math.floor((phase_s - lead_s) / 60.0 + _EPS) % every
    end = math.ceil((phase_s + burst_s) / 60.0 - _EPS) % every
    if start == end:
        return []
    return [CronWindow(_minute_field(start, every), _minute_field(end, every), replicas, timezone)]


def _minute_field(minute: int, every: int) -> str:
    if every == 60:
        return f"{minute} * * * *"
    field = f"*/{every}" if minute == 0 else f"{minute}-59/{every}"
    return f"{field} * * * *"


def spike_advice(
    traffic: Traffic,
    model: ReplicaModel,
    result: SimResult,
    *,
    period_s: float | None = None,
    burst_s: float | None = None,
    phase_s: float = 0.0,
    timezone: str = "Etc/UTC",
    metric_window_s: float = 0.0,
) -> str:
    """Whether reactive scaling keeps up with the bursts, and the min replicas or cron it needs.

    Period and burst length come from the trace unless given; ``phase_s`` is where bursts
    start after each period boundary on the wall clock (for the cron expression);
    ``metric_window_s`` (the rate() window the HPA reads) is named in the reaction time,
    not in the cron lead (a cron trigger is read at the next sync, without that lag).
    """
    pattern = detect_spikes(traffic)
    if pattern is None:
        return "No bursts found in the traffic: reactive autoscaling needs no pre-scaling."
    period = period_s if period_s is not None else pattern.period_s
    burst = burst_s if burst_s is not None else pattern.burst_s
    need = model.replicas_for(pattern.peak_rps)
    reaction = model.cold_start_s + result.control_period_s
    first = pattern.onsets[0]
    until = first + period if period else float(result.t[-1]) + result.dt
    in_first = (result.t >= first) & (result.t < until)
    missed = float(result.violated[in_first].sum() * result.dt)
    kind = result.kind.upper()
    head = (
        f"bursts from {pattern.base_rps:.0f} to {pattern.peak_rps:.0f} rps"
        + (f" every {period:g} s" if period else "")
        + f", {burst:g} s long, rising in {pattern.rise_s:g} s;"
        f" new replicas serve up to {reaction + metric_window_s:g} s after the load arrives"
        f" ({result.control_period_s:g} s {'sync' if result.kind == 'hpa' else 'tick'}"
        + (
            f" + up to {metric_window_s:g} s for the rate() window to see it"
            if metric_window_s
            else ""
        )
        + f" + {model.cold_start_s:g} s cold start)."
    )
    if missed == 0:
        return f"Reactive {kind} scaling keeps up: the first burst met the SLO; {head}"
    sizing = (
        f"ceil(peak {pattern.peak_rps:.0f} rps / capacity {model.capacity_rps:g} rps per replica)"
    )
    text = (
        f"Reactive {kind} scaling cannot keep up: the first burst violated the SLO for"
        f" {missed:g} s; {head} Set min replicas to {need} ({sizing}),"
        f" or pre-scale to {need} replicas {reaction:g} s before each burst"
    )
    windows = (
        prescale_windows(
            period, burst, lead_s=reaction, replicas=need, phase_s=phase_s, timezone=timezone
        )
        if period
        else []
    )
    if windows:
        window = windows[0]
        return (
            f"{text}: KEDA cron start '{window.start}', end '{window.end}',"
            f" desiredReplicas {need} ({timezone}; bursts {phase_s:g} s after each boundary)."
        )
    return f"{text} (no cron schedule fits this period: keep the min replicas)."


def prescale_floor(
    t: FloatArray,
    period_s: float,
    burst_s: float,
    *,
    lead_s: float,
    replicas: int,
    phase_s: float = 0.0,
) -> FloatArray | None:
    """Per step, the replicas a KEDA cron trigger from ``prescale_windows`` asks for (0 when
    inactive), with the trace starting on a period boundary of the wall clock; None when
    cron cannot express the windows."""
    if not prescale_windows(period_s, burst_s, lead_s=lead_s, replicas=replicas, phase_s=phase_s):
        return None
    every = round(period_s / 60.0)
    start = math.floor((phase_s - lead_s) / 60.0 + _EPS) % every
    end = math.ceil((phase_s + burst_s) / 60.0 - _EPS) % every
    minute = np.floor(np.asarray(t, dtype=float) / 60.0 + _EPS).astype(int) % every
    active = (
        (minute >= start) & (minute < end) if start < end else (minute >= start) | (minute < end)
    )
    return np.where(active, float(replicas), 0.0)
