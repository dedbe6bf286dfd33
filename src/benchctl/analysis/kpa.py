"""The Knative Pod Autoscaler replayed over a traffic trace (knative/serving
``pkg/autoscaler/scaling/autoscaler.go``: stable and panic windows, rate limits, scale-down
delay, scale to zero, excess burst capacity).

Its metric is requests in flight (Little's law from the *mean* latency, queueing included):
a fixed part served x base and a queue whose per-pod length follows the pointwise
stationary fluid approximation x' = r - mu*x/(s + x) (Wang, Tipper & Cui 1996), whose fixed
point is the M/M/1-shaped mean s*r/(mu - r) and which grows by r - mu per second beyond
saturation mu: overload is seen, not capped. Requests that find no ready pod wait at the
activator and count too; a request waits at most request_timeout_s.
"""

from __future__ import annotations

import functools
import math
from dataclasses import replace
from typing import Unpack

import numpy as np

from benchctl.analysis.scaling_model import (
    EPS,
    ReplicaModel,
    SimResult,
    Traffic,
    ceil_up,
    clamp,
    steps_of,
)
from benchctl.analysis.scaling_policies import KpaPolicy
from benchctl.analysis.scaling_steps import Fleet, SimArgs, StepArrays, begin


def simulate_kpa(
    traffic: Traffic,
    model: ReplicaModel,
    policy: KpaPolicy,
    **options: Unpack[SimArgs],
) -> SimResult:
    """Replay the Knative Pod Autoscaler (stable/panic windows, delays, bounds) over ``traffic``.

    ``options``: ``dt``, ``price_per_hour``, ``initial_replicas`` (`SimSettings`).
    The concurrency it averages is Little's law with queueing (``_InFlight``); with the rps
    metric, the offered rate. The activator is in the request path while there is no ready
    pod or the excess burst capacity is negative (autoscaler.go).

    ``traffic``: offered requests/s over time (s); ``model``: one replica (capacity in requests/s,
    latency in ms, cold start in s). Returns a SimResult (per-step arrays; panic flags; activator
    seconds; SLO-violation seconds, replica-seconds and cost). Raises InputError for dt <= 0
    (``on_grid``), TypeError for an unknown option.
    """
    settled = functools.partial(_kpa_settled, policy, model)
    settings, grid, start, fleet = begin(traffic, model, options, settled)
    dt = settings.dt
    t, offered = grid.t, grid.rps
    n = t.size
    pod_max = _pod_limit(model, policy.container_concurrency)
    every = steps_of(policy.tick_s, dt)
    decider = _Decider(policy, dt, max(0, (n - 1) // every), start)
    metric_sum = [0.0] * (n + 1)
    flight = _InFlight(model, dt, offered[0], start)
    panicking = [False] * n
    times, rates = t.tolist(), offered.tolist()
    columns: list[list[float]] = [[], [], [], []]  # replicas, ready, served, desired
    concurrency = policy.metric == "concurrency"
    total = 0.0
    for i in range(n):  # scalar steps: a KPA tick is 2 s, too short for array segments
        now = times[i]
        if i > 0 and i % every == 0:
            decider.tick(i // every - 1, i, now, fleet, metric_sum)
        ready = fleet.ready_count(now)
        served = min(rates[i], ready * pod_max)
        values = (len(fleet), ready, served, decider.desired)
        for column, value in zip(columns, values, strict=True):
            column.append(value)
        total += flight.step(rates[i], served, ready) if concurrency else rates[i]
        metric_sum[i + 1] = total
        panicking[i] = decider.panic_since is not None
    out = StepArrays.of(*(np.array(c, dtype=float) for c in columns))
    panic = np.array(panicking, dtype=bool)
    result = out.finish("kpa", policy.tick_s, dt, grid, model, settings.price_per_hour, panic)
    return replace(
        result,
        metric=decider.seen,
        activator_seconds=float(decider.activator * every * dt),
    )


class _Decider:
    """The KPA's decisions at each tick and its state between them (autoscaler.go): the
    stable/panic averages, panic mode (held a stable window after the last tick over the
    threshold, never scaling down meanwhile), the scale-down delay window, the
    scale-to-zero grace timer, the last desired count and how many ticks the activator was
    in the request path."""

    def __init__(self, policy: KpaPolicy, dt: float, ticks: int, start: int) -> None:
        self.policy = policy
        self.stable_w = steps_of(policy.stable_window_s, dt)
        self.panic_w = steps_of(policy.panic_window_s, dt)
        self.panic_since: float | None = None  # last tick over the panic threshold
        self.max_panic_pods = 0
        self.delay: list[tuple[float, int]] = []
        self.zero_since: float | None = None
        self.desired = start
        self.activator = 0
        self.seen = np.full(ticks, np.nan)  # the stable metric at each tick

    def tick(self, k: int, i: int, now: float, fleet: Fleet, metric_sum: list[float]) -> None:
        """Tick ``k`` at step ``i`` (time ``now``): average the metric (``metric_sum``: its
        running total per step), decide, and resize ``fleet``."""
        policy = self.policy
        ready = fleet.ready_count(now)
        stable = (metric_sum[i] - metric_sum[max(0, i - self.stable_w)]) / min(i, self.stable_w)
        burst = (metric_sum[i] - metric_sum[max(0, i - self.panic_w)]) / min(i, self.panic_w)
        self.seen[k] = stable
        want_stable, want_panic, over = kpa_counts(policy, ready, stable, burst)
        if ready == 0 or _activator_in_path(policy, ready, burst):
            self.activator += 1
        if over:
            self.panic_since = now
        elif self.panic_since is not None and self.panic_since + policy.stable_window_s < now - EPS:
            self.panic_since, self.max_panic_pods = None, 0
        want = want_stable
        if self.panic_since is not None:
            self.max_panic_pods = max(self.max_panic_pods, want_stable, want_panic)
            want = self.max_panic_pods
        if policy.scale_down_delay_s > 0:
            self.delay = [d for d in self.delay if d[0] > now - policy.scale_down_delay_s + EPS]
            self.delay.append((now, want))
            want = max(d[1] for d in self.delay)
        self.desired = want
        new, self.zero_since = _kpa_bounds(policy, want, len(fleet), now, self.zero_since)
        fleet.resize(new, now)


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
            queue = ready * _queue_root(self.s, (self.queue + arriving) / ready, self.mu * self.dt)
        if offered > 0:
            queue = min(queue, offered * self.timeout)
        self.queue = queue
        return served * self.base_s + queue


def _queue_root(s: float, c: float, drain: float) -> float:
    """The backward Euler step's per-pod queue: the root x >= 0 of x^2 + b x - s c = 0 with
    b = s - c + drain (drain = mu x dt), i.e. (-b + sqrt(b^2 + 4 s c)) / 2.

    Evaluated without cancellation or overflow for any finite inputs: sqrt(b^2 + 4sc) as
    hypot(b, 2 sqrt(sc)) (b^2 alone overflows for |b| > 1e154, e.g. a fitted saturation far
    beyond the traffic), and for b > 0 as 2sc / (b + sqrt(b^2 + 4sc)) (the same root; the
    difference form loses every digit when b^2 >> sc).
    """
    b = s - c + drain
    root = math.hypot(b, 2.0 * math.sqrt(s) * math.sqrt(c))
    return 2.0 * s / (b + root) * c if b > 0 else (root - b) / 2.0


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

    ``ready``: ready pods; ``stable``, ``burst``: in the unit of ``policy.metric`` (in-flight
    requests or requests/s, the revision's total). Returns (stable pods, panic pods, panic
    condition: panic pods / ready pods >= panic_threshold_percentage / 100), the counts bounded by
    max_scale_up_rate x pods and pods / max_scale_down_rate, as Knative Serving's autoscaler does.
    Raises OverflowError for an infinite metric.
    """
    pods = max(1, ready)
    up = math.ceil(policy.max_scale_up_rate * pods)
    down = math.floor(pods / policy.max_scale_down_rate)
    stable_pods = ceil_up(stable / policy.effective_target)
    panic_pods = ceil_up(burst / policy.effective_target)
    over = panic_pods / pods >= policy.panic_threshold_percentage / 100.0
    return clamp(stable_pods, down, up), clamp(panic_pods, down, up), over


def _kpa_bounds(
    policy: KpaPolicy, want: int, current: int, now: float, zero_since: float | None
) -> tuple[int, float | None]:
    """Apply min/max scale; scale to zero only after the grace period."""
    top = policy.max_scale or math.inf
    new = int(min(max(want, policy.min_scale), top))
    if new > 0 or current == 0:
        return new, None
    since = now if zero_since is None else zero_since
    if now - since + EPS >= policy.scale_to_zero_grace_s:
        return 0, since
    return current, since


def _kpa_settled(policy: KpaPolicy, model: ReplicaModel, rps: float) -> int:
    """The pod count the stable window settles at for a constant ``rps``."""
    if rps <= 0:
        return policy.min_scale
    pods, top = 1, policy.max_scale or math.inf
    for _ in range(60):
        if policy.metric == "rps":
            want = ceil_up(rps / policy.effective_target)
        else:
            per_pod = model.concurrency_at(rps / pods)
            finite = math.isfinite(per_pod)
            want = ceil_up(per_pod * pods / policy.effective_target) if finite else 2 * pods
        settled = clamp(want, max(1, policy.min_scale), top)
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
