"""The Kubernetes HPA v2 controller (alone, or fed by KEDA) replayed over a traffic trace
(kubernetes pkg/controller/podautoscaler ``horizontal.go`` and ``replica_calculator.go``).

The metric is what the manifest measures: a counter (``counter``: "offered" arrivals, or
"completions", which saturate at what the ready pods serve) scraped every
``scrape_interval_s`` and read as Prometheus ``rate(counter[rate_window_s])`` at each sync:
the counter's increase between the first and the last scrape inside the window over their
time span (what ``rate()`` returns for a window it fully covers). ``source`` "external" is
KEDA's AverageValue metric (the total over currentReplicas, ready or not:
GetExternalPerPodMetricReplicas); "pods" a per-pod metric averaged over ready pods, with
not-ready pods counted as 0 on a scale-up (calcPlainMetricReplicas). A zero window and
scrape interval is the ideal metric: the previous step. The first sync comes
``sync_phase_s`` after the trace starts, then every ``sync_period_s``. Work in Python is per
sync: between syncs the pods are fixed and the steps are filled with array operations.
"""

from __future__ import annotations

import functools
import math
from dataclasses import replace
from itertools import pairwise
from typing import Unpack

import numpy as np

from benchctl.analysis.scaling_model import (
    EPS,
    FloatArray,
    ReplicaModel,
    SimResult,
    Traffic,
    ceil_up,
    clamp,
    steps_of,
)
from benchctl.analysis.scaling_policies import HpaPolicy, ScalingPolicy, Select
from benchctl.analysis.scaling_steps import SimArgs, StepArrays, begin


def simulate_hpa(
    traffic: Traffic,
    model: ReplicaModel,
    policy: HpaPolicy,
    *,
    floor: FloatArray | None = None,
    **options: Unpack[SimArgs],
) -> SimResult:
    """Replay the HPA v2 controller (sync, tolerance, stabilization, policies) over ``traffic``.

    ``options``: ``dt``, ``price_per_hour``, ``initial_replicas`` (`SimSettings`).
    ``floor`` (replicas per step, optional) is a second metric such as KEDA's cron trigger:
    while it is above 0 the HPA also proposes it (an AverageValue 1 metric), and takes the
    larger proposal. Work in Python is per sync, not per step: between syncs the pods are
    fixed, so the steps are filled with array operations.

    ``traffic``: offered requests/s over time (s); ``model``: one replica (capacity in requests/s,
    latency in ms, cold start in s); ``floor``: shape (n,) on the ``dt`` grid. Returns a SimResult
    (per-step arrays of length n; SLO-violation seconds, replica-seconds, cost in the price's
    currency). The controller's rules are those of the Kubernetes HPA v2 (sync period, tolerance,
    stabilization windows, scaling policies). Raises InputError for dt <= 0 (``on_grid``), TypeError
    for an unknown option.
    """
    settled = functools.partial(_hpa_settled, policy, model)
    settings, grid, start, fleet = begin(traffic, model, options, settled)
    dt = settings.dt
    t, offered = grid.t, grid.rps
    n = t.size
    recs: list[tuple[float, int]] = [(float(t[0]), start)]  # maybeInitScaleDownStabilizationWindow
    ups: list[tuple[float, int]] = []
    downs: list[tuple[float, int]] = []
    every = steps_of(policy.sync_period_s, dt)
    phase = round(policy.sync_phase_s / dt) % every
    ticks = list(range(phase or every, n, every))
    reader = _MetricReader(policy, model, dt, n)
    desired = start
    out = StepArrays(n)
    metric_seen = np.full(len(ticks), np.nan)
    bounds = [0, *ticks, n]
    for k, (a, b) in enumerate(pairwise(bounds)):
        if a > 0:
            now = float(t[a])
            current, ready = len(fleet), fleet.ready_count(now)
            if not policy.min_replicas <= current <= policy.max_replicas:
                new = desired = clamp(current, policy.min_replicas, policy.max_replicas)
            else:
                proposal, metric_seen[k - 1] = _sync_proposal(reader, floor, a, current, ready)
                if proposal is None:
                    new = current  # no metric: the controller does nothing
                else:
                    new, desired = _hpa_decide(policy, now, current, proposal, recs, ups, downs)
            _record_event(ups, downs, now, current, new)
            fleet.resize(new, now)
        ready = fleet.ready_at(t[a:b])
        served = out.fill(a, b, offered[a:b], len(fleet), ready, model.max_rps, desired)
        reader.record(a, b, offered[a:b], served, ready)
    result = out.finish("hpa", policy.sync_period_s, dt, grid, model, settings.price_per_hour)
    return replace(result, metric=metric_seen, phase_s=phase * dt)


def _sync_proposal(
    reader: _MetricReader, floor: FloatArray | None, a: int, current: int, ready: int
) -> tuple[int | None, float]:
    """What the HPA proposes at the sync at step ``a`` (None without a metric) and the metric
    it read: the reader's proposal and, while ``floor`` (a KEDA cron trigger) is above 0,
    the larger of it and the floor's AverageValue 1 proposal (the HPA takes the largest)."""
    proposal, metric = reader.proposal(a, current, ready)
    if floor is not None and floor[a] > 0:
        cron = _external_proposal(current, float(floor[a]), 1.0, reader.policy.tolerance)
        proposal = cron if proposal is None else max(proposal, cron)
    return proposal, metric


class _MetricReader:
    """What the HPA reads at a sync: a scraped counter's rate() or averaged CPU."""

    def __init__(self, policy: HpaPolicy, model: ReplicaModel, dt: float, n: int) -> None:
        self.policy, self.model, self.dt = policy, model, dt
        self.cum = np.zeros(n + 1)  # the counter (requests) at each step boundary
        self.util = np.zeros(n + 1)  # cumulative CPU percent of steps with a ready pod
        self.busy = np.zeros(n + 1)  # cumulative count of steps with a ready pod
        self.first = 0.0  # the counter's rate before the trace (steady state)
        self.scrape = steps_of(policy.scrape_interval_s, dt) if policy.scrape_interval_s else 1
        self.window = round(policy.rate_window_s / dt)

    def record(
        self, a: int, b: int, offered: FloatArray, served: FloatArray, ready: FloatArray
    ) -> None:
        """Extend the cumulative sums over steps ``a .. b-1`` (indices into the simulation grid).

        ``offered``, ``served``: requests/s per step, shape (b - a,); ``ready``: ready pods per
        step, same shape. Adds the counter the policy reads (offered or served, requests) and,
        for a CPU policy, the CPU percent per ready pod (served / ready / max_rps x 100: the
        pod is taken as 100% busy at its capacity) and the count of steps with a ready pod.
        Returns None; raises nothing of its own.
        """
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
    return ceil_up(total / target)


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
    recs[:] = [r for r in recs if r[0] > now - horizon - EPS]
    recs.append((now, proposal))
    if stabilized > current:
        limit = _scale_limit(
            True, current, ups, downs, now, policy.scale_up, policy.scale_up_select
        )
        return min(stabilized, policy.max_replicas, max(limit, current)), proposal
    if stabilized < current:
        limit = _scale_limit(
            False, current, ups, downs, now, policy.scale_down, policy.scale_down_select
        )
        return max(stabilized, policy.min_replicas, min(limit, current)), proposal
    return current, proposal


def hpa_proposal(current: int, ready: int, ratio: float, tolerance: float) -> int:
    """Kubernetes' replica calculator for an average metric over ``ready`` of ``current`` pods.

    ``ratio`` is the ready pods' average metric over the target. Within the tolerance the
    count stays; on a scale-up the not-ready pods are counted as using 0 of the target.

    Returns the proposed replica count (pods, >= 0): ceil(ratio x ready) outside the tolerance, the
    HPA algorithm of the Kubernetes documentation ("Algorithm details": desired = ceil(current x
    metric / target)); ``tolerance`` is a fraction (the controller's default 0.1). Raises
    OverflowError for an infinite ratio with ready pods.
    """
    unready = current - ready
    if unready > 0 and ratio > 1.0:
        diluted = ratio * ready / current
        if abs(1.0 - diluted) <= tolerance or diluted < 1.0:
            return current
        return max(current, ceil_up(diluted * current))
    if abs(1.0 - ratio) <= tolerance:
        return current
    return ceil_up(ratio * ready)


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
        if when > now - up_window + EPS:
            up = min(up, value)
        if when > now - down_window + EPS:
            down = max(down, value)
    return min(max(current, up), down)


def _changed(events: list[tuple[float, int]], now: float, period: float) -> int:
    return sum(change for when, change in events if when + period > now + EPS)


def _scale_limit(
    up: bool,
    current: int,
    ups: list[tuple[float, int]],
    downs: list[tuple[float, int]],
    now: float,
    rules: tuple[ScalingPolicy, ...],
    select: Select,
) -> int:
    """The replica limit of the HPA's scaling policies for a scale-up (``up``) or a scale-down
    (Kubernetes horizontal.go, calculateScaleUpLimitWithScalingRules and its scale-down twin):
    per rule, the replicas at the start of its period (changes within it undone) plus (up) or
    minus (down) the rule's Pods or Percent, never below 0 pods; ``select`` "Max" keeps the
    rule allowing the largest change, "Min" the smallest, "Disabled" allows none."""
    if select == "Disabled":
        return current
    limits = []
    for rule in rules:
        base = current - _changed(ups, now, rule.period_s) + _changed(downs, now, rule.period_s)
        if up and rule.type == "Pods":
            limits.append(base + rule.value)
        elif up:
            limits.append(ceil_up(base * (1 + rule.value / 100.0)))
        elif rule.type == "Pods":
            limits.append(max(0, base - rule.value))
        else:
            limits.append(max(0, int(base * (1 - rule.value / 100.0) + EPS)))
    largest_change, smallest_change = (max, min) if up else (min, max)
    return largest_change(limits) if select == "Max" else smallest_change(limits)


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
        need = ceil_up(rps / policy.target)
    else:
        need = ceil_up(rps * 100.0 / (model.max_rps * policy.target))
    return clamp(need, policy.min_replicas, policy.max_replicas)
