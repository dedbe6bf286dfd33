"""Autoscaler simulation and recommendation: Kubernetes HPA v2 and the Knative KPA.

Both simulators step a per-replica model (``ReplicaModel``) through an offered-load trace on
a uniform grid of ``dt`` seconds and replay the controller's own arithmetic. Modeling choices:

* Cold start: a pod added at time t serves from t + cold_start_s. It counts in the replica
  count at once (it is billed, and HPA's formula sees it in currentReplicas) but serves
  nothing until ready. As in Kubernetes' replica calculator, not-ready pods are left out of
  the metric average and, when the ready pods ask for a scale-up, counted as using 0 of the
  target, so a scale-up already under way is not asked for twice. Scale-down removes
  not-ready pods first (the ReplicaSet's deletion order).
* Serving: ready pods share the offered rate evenly, each up to its saturation throughput;
  the excess is counted as late or dropped requests (nothing carries to the next step).
* SLO violation: a step with traffic violates the SLO when any request is late or dropped,
  the per-replica rate exceeds capacity_rps, or latency_ms(rate) exceeds slo_ms.
* Metrics: HPA "rps_per_replica" is the offered rate per ready pod (rejected requests
  included, as an ingress or request counter sees them) averaged over metric_window_s (0: the
  last step); "cpu_utilization" is served rate / max_rps per ready pod, in percent. KPA
  concurrency is offered rate x latency (Little's law), the latency taken at
  min(per-pod rate, capacity_rps): an overload never looks worse than load at capacity, so
  simulated scale-up is never faster than the real one.
* A controller acts on samples up to the previous step: HPA every sync_period_s, KPA every
  tick_s, the first time one period after the trace starts. The trace starts in steady state
  (the replicas the policy settles at for the first rate) unless initial_replicas is given.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from benchctl.errors import InputError

FloatArray = npt.NDArray[np.float64]
HpaMetric = Literal["rps_per_replica", "cpu_utilization"]
KpaMetric = Literal["concurrency", "rps"]
Select = Literal["Max", "Min", "Disabled"]

_EPS = 1e-9
_HPA_METRICS = ("rps_per_replica", "cpu_utilization")
_KPA_METRICS = ("concurrency", "rps")
_SELECTS = ("Max", "Min", "Disabled")


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
class ReplicaModel:
    """What one replica can do, however the curve behind it was fitted."""

    capacity_rps: float  # highest per-replica throughput meeting the SLO
    max_rps: float  # per-replica saturation throughput (>= capacity)
    latency_ms: Callable[[float], float]  # quantile at a per-replica rate; inf if saturated
    cold_start_s: float  # a new pod serves this long after it is created
    slo_ms: float

    def __post_init__(self) -> None:
        _check_positive("capacity_rps", self.capacity_rps)
        _check_positive("slo_ms", self.slo_ms)
        if self.max_rps < self.capacity_rps:
            raise InputError("replica model: max_rps must be >= capacity_rps")
        if self.cold_start_s < 0:
            raise InputError("replica model: cold_start_s must be >= 0")

    def replicas_for(self, rps: float) -> int:
        """Replicas that serve ``rps`` with each at or under capacity."""
        return max(1, _ceil(rps / self.capacity_rps))

    def latency_s(self, rate: float) -> float:
        """Latency for Little's law at a per-pod ``rate``, taken at most at capacity."""
        latency = self.latency_ms(min(rate, self.capacity_rps))
        return (latency if math.isfinite(latency) else self.slo_ms) / 1000.0

    def concurrency_at(self, rate: float) -> float:
        """In-flight requests per pod at a per-pod ``rate``."""
        return rate * self.latency_s(rate)


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
    """An autoscaling/v2 HorizontalPodAutoscaler and the controller flags it runs under.

    ``target`` is requests/s per pod for "rps_per_replica", percent of max_rps for
    "cpu_utilization". ``sync_period_s`` and ``tolerance`` are kube-controller-manager flags.
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
    metric_window_s: float = 0.0

    def __post_init__(self) -> None:
        if not 1 <= self.min_replicas <= self.max_replicas:
            raise InputError("HPA policy: need 1 <= min_replicas <= max_replicas")
        if self.metric not in _HPA_METRICS:
            raise InputError(f"HPA policy: metric must be one of {', '.join(_HPA_METRICS)}")
        _check_positive("HPA target", self.target)
        _check_positive("sync_period_s", self.sync_period_s)
        if self.tolerance < 0 or self.metric_window_s < 0:
            raise InputError("HPA policy: tolerance and metric_window_s must be >= 0")
        for window in (self.scale_up_stabilization_s, self.scale_down_stabilization_s):
            if not 0 <= window <= 3600:
                raise InputError("HPA policy: stabilization windows must be 0..3600 s")
        if self.scale_up_select not in _SELECTS or self.scale_down_select not in _SELECTS:
            raise InputError(f"HPA policy: selectPolicy must be one of {', '.join(_SELECTS)}")
        if not self.scale_up or not self.scale_down:
            raise InputError("HPA policy: scale_up and scale_down need at least one policy")

    def describe(self) -> str:
        unit = " rps/replica" if self.metric == "rps_per_replica" else "% CPU"
        return (
            f"HPA {self.min_replicas}-{self.max_replicas} replicas, target {self.target:g}{unit},"
            f" scale-down window {self.scale_down_stabilization_s} s"
        )


@dataclass(frozen=True)
class KpaPolicy:
    """A Knative Pod Autoscaler configuration (per-revision annotations plus config-autoscaler).

    ``target`` is in-flight requests (or requests/s) per pod; the autoscaler aims at
    target x target_utilization_percentage / 100. ``max_scale`` 0 means unbounded and
    ``container_concurrency`` 0 means no hard limit, as in Knative.
    """

    target: float
    metric: KpaMetric = "concurrency"
    container_concurrency: int = 0
    target_utilization_percentage: float = 100.0
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

    def __post_init__(self) -> None:
        if self.metric not in _KPA_METRICS:
            raise InputError(f"KPA policy: metric must be one of {', '.join(_KPA_METRICS)}")
        if self.target < 0.01:
            raise InputError("KPA policy: target must be >= 0.01")
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
    """Per-step arrays of one simulation and their totals."""

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

    def summary(self) -> dict[str, Any]:
        """The totals as a JSON-ready dict."""
        return {
            "kind": self.kind,
            "slo_violation_seconds": self.slo_violation_seconds,
            "late_or_dropped_requests": self.late_or_dropped_requests,
            "replica_seconds": self.replica_seconds,
            "replica_hours": self.replica_seconds / 3600.0,
            "cost": self.cost,
            "max_replicas": self.max_replicas,
            "panic_seconds": float(self.panic.sum() * self.dt),
        }


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
) -> SimResult:
    """Replay the HPA v2 controller (sync, tolerance, stabilization, policies) over ``traffic``."""
    grid = _on_grid(traffic, dt)
    t, offered = grid.t, grid.rps
    n = t.size
    start = (
        _hpa_settled(policy, model, offered[0]) if initial_replicas is None else initial_replicas
    )
    pods = [-math.inf] * start
    recs: list[tuple[float, int]] = [(float(t[0]), start)]  # maybeInitScaleDownStabilizationWindow
    ups: list[tuple[float, int]] = []
    downs: list[tuple[float, int]] = []
    every, window = _steps(policy.sync_period_s, dt), _steps(policy.metric_window_s, dt)
    offered_sum = np.concatenate(([0.0], np.cumsum(offered)))
    util_sum = [0.0]
    util_count = [0]
    desired = start
    out = _Arrays(n)
    for i in range(n):
        now = float(t[i])
        if i > 0 and i % every == 0:
            ready, current, low = _ready_count(pods, now), len(pods), max(0, i - window)
            if policy.metric == "rps_per_replica":
                metric = (offered_sum[i] - offered_sum[low]) / (i - low) / max(ready, 1)
            else:
                count = util_count[i] - util_count[low]
                metric = (util_sum[i] - util_sum[low]) / count if count else math.nan
            if not policy.min_replicas <= current <= policy.max_replicas:
                new = desired = _clamp(current, policy.min_replicas, policy.max_replicas)
            elif ready > 0 and math.isfinite(metric):
                new, desired = _hpa_sync(policy, now, current, ready, metric, recs, ups, downs)
            else:
                new = current  # no metrics from any ready pod: the controller does nothing
            _record_event(ups, downs, now, current, new)
            _resize(pods, new, now, model.cold_start_s)
        ready = _ready_count(pods, now)
        served = out.step(i, offered[i], len(pods), ready, model.max_rps, desired)
        util_sum.append(util_sum[-1] + (served / ready / model.max_rps * 100.0 if ready else 0.0))
        util_count.append(util_count[-1] + (1 if ready else 0))
    return out.finish("hpa", policy.sync_period_s, dt, grid, model, price_per_hour)


def _hpa_sync(
    policy: HpaPolicy,
    now: float,
    current: int,
    ready: int,
    metric: float,
    recs: list[tuple[float, int]],
    ups: list[tuple[float, int]],
    downs: list[tuple[float, int]],
) -> tuple[int, int]:
    """One controller pass: (replicas to set, raw proposal); ``recs`` gets the proposal."""
    proposal = hpa_proposal(current, ready, metric / policy.target, policy.tolerance)
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
    """Replay the Knative Pod Autoscaler (stable/panic windows, delays, bounds) over ``traffic``."""
    grid = _on_grid(traffic, dt)
    t, offered = grid.t, grid.rps
    n = t.size
    pod_max = _pod_limit(model, policy.container_concurrency)
    start = (
        _kpa_settled(policy, model, offered[0]) if initial_replicas is None else initial_replicas
    )
    pods = [-math.inf] * start
    every = _steps(policy.tick_s, dt)
    stable_w, panic_w = _steps(policy.stable_window_s, dt), _steps(policy.panic_window_s, dt)
    metric_sum = [0.0]
    panic_since: float | None = None  # last tick over the panic threshold, while panicking
    max_panic_pods = 0
    delay: list[tuple[float, int]] = []
    zero_since: float | None = None
    desired = start
    panic = np.zeros(n, dtype=bool)
    out = _Arrays(n)
    for i in range(n):
        now = float(t[i])
        if i > 0 and i % every == 0:
            ready = _ready_count(pods, now)
            stable = (metric_sum[i] - metric_sum[max(0, i - stable_w)]) / min(i, stable_w)
            burst = (metric_sum[i] - metric_sum[max(0, i - panic_w)]) / min(i, panic_w)
            want_stable, want_panic, over = kpa_counts(policy, ready, stable, burst)
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
            new, zero_since = _kpa_bounds(policy, want, len(pods), now, zero_since)
            _resize(pods, new, now, model.cold_start_s)
        ready = _ready_count(pods, now)
        out.step(i, offered[i], len(pods), ready, pod_max, desired)
        value = offered[i]
        if policy.metric == "concurrency":
            value *= model.latency_s(offered[i] / max(ready, 1))
        metric_sum.append(metric_sum[-1] + value)
        panic[i] = panic_since is not None
    return out.finish("kpa", policy.tick_s, dt, grid, model, price_per_hour, panic)


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
    pods = 1
    for _ in range(20):
        total = rps if policy.metric == "rps" else rps * model.latency_s(rps / pods)
        settled = _clamp(
            _ceil(total / policy.effective_target),
            max(1, policy.min_scale),
            policy.max_scale or math.inf,
        )
        if settled == pods:
            break
        pods = settled
    return pods


def _pod_limit(model: ReplicaModel, container_concurrency: int) -> float:
    """Per-pod throughput under a hard in-flight limit: the largest r with r x latency <= cc."""
    if container_concurrency <= 0:
        return model.max_rps

    def in_flight(rate: float) -> float:
        latency = model.latency_ms(rate)
        return rate * latency / 1000.0 if math.isfinite(latency) else math.inf

    if in_flight(model.max_rps) <= container_concurrency:
        return model.max_rps
    low, high = 0.0, model.max_rps
    for _ in range(60):
        mid = (low + high) / 2
        low, high = (mid, high) if in_flight(mid) <= container_concurrency else (low, mid)
    return low


# ----------------------------------------------------------------------------- shared stepping


class _Arrays:
    """Per-step bookkeeping shared by both simulators."""

    def __init__(self, n: int) -> None:
        self.replicas = np.zeros(n)
        self.ready = np.zeros(n)
        self.served = np.zeros(n)
        self.desired = np.zeros(n)

    def step(
        self, i: int, offered: float, replicas: int, ready: int, pod_max: float, desired: int
    ) -> float:
        served = min(offered, ready * pod_max)
        self.replicas[i], self.ready[i], self.served[i], self.desired[i] = (
            replicas,
            ready,
            served,
            desired,
        )
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
        latency = np.array([math.nan if math.isnan(r) else model.latency_ms(r) for r in rate])
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


def _ready_count(pods: list[float], now: float) -> int:
    return bisect.bisect_right(pods, now + _EPS)


def _resize(pods: list[float], count: int, now: float, cold_start_s: float) -> None:
    """Add pods that serve after the cold start, or remove the least ready ones."""
    if count > len(pods):
        pods.extend([now + cold_start_s] * (count - len(pods)))
    else:
        del pods[count:]


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
) -> SimResult:
    """Simulate either autoscaler."""
    if isinstance(policy, HpaPolicy):
        return simulate_hpa(traffic, model, policy, dt=dt, price_per_hour=price_per_hour)
    return simulate_kpa(traffic, model, policy, dt=dt, price_per_hour=price_per_hour)


def recommend(
    traffic: Traffic,
    model: ReplicaModel,
    *,
    price_per_hour: float,
    candidates: Sequence[Policy],
    dt: float = 1.0,
) -> list[Recommendation]:
    """Simulate each candidate; best first: meets the SLO and cheapest, else fewest violations."""
    if not candidates:
        raise InputError("recommend: no candidate policies")
    results = [
        simulate(traffic, model, c, dt=dt, price_per_hour=price_per_hour) for c in candidates
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
            reason=f"{candidates[i].describe()}: {_reason(results[i], best, rank == 0)}",
        )
        for rank, i in enumerate(order)
    ]


def _reason(result: SimResult, best: SimResult, chosen: bool) -> str:
    hours = result.replica_seconds / 3600.0
    cost = f"{hours:.2f} replica-hours (${result.cost:,.2f}), peak {result.max_replicas} replicas"
    missed = (
        f"SLO violated for {result.slo_violation_seconds:g} s"
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


def default_hpa_candidates(model: ReplicaModel, peak: float) -> list[HpaPolicy]:
    """A grid over min replicas, target (60-90% of capacity) and scale-down window."""
    need = model.replicas_for(peak)
    top = max(2, 2 * _ceil(peak / (0.6 * model.capacity_rps)))
    return [
        HpaPolicy(
            min_replicas=low,
            max_replicas=max(top, low),
            metric="rps_per_replica",
            target=round(model.capacity_rps * share, 3),
            scale_down_stabilization_s=window,
        )
        for low in sorted({1, max(1, _ceil(need / 2)), need})
        for share in (0.6, 0.7, 0.8, 0.9)
        for window in (60, 300)
    ]


def default_kpa_candidates(model: ReplicaModel, peak: float) -> list[KpaPolicy]:
    """A grid over min scale (0 included), concurrency target (60-90% of capacity), window."""
    need = model.replicas_for(peak)
    at_capacity = model.concurrency_at(model.capacity_rps)
    top = max(2, 2 * _ceil(peak / (0.6 * model.capacity_rps)))
    return [
        KpaPolicy(
            target=max(0.01, round(at_capacity * share, 2)),
            min_scale=low,
            max_scale=max(top, low),
            stable_window_s=window,
        )
        for low in sorted({0, 1, max(1, _ceil(need / 2)), need})
        for share in (0.6, 0.7, 0.8, 0.9)
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
) -> str:
    """Whether reactive scaling keeps up with the bursts, and the min replicas or cron it needs.

    Period and burst length come from the trace unless given; ``phase_s`` is where bursts
    start after each period boundary on the wall clock (for the cron expression).
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
        f" new replicas serve up to {reaction:g} s after the load arrives"
        f" ({result.control_period_s:g} s {'sync' if result.kind == 'hpa' else 'tick'}"
        f" + {model.cold_start_s:g} s cold start)."
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
