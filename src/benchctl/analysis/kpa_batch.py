"""The Knative Pod Autoscaler of ``kpa.simulate_kpa`` replayed for many policies at once:
one lane per candidate, all lanes stepped together with numpy.

``kpa.simulate_kpa`` is the reference: it steps one policy through the trace in Python
(the requests in flight follow a recursion from step to step, so the steps cannot be
arrays), and ranking 9 candidates over a 4-hour trace was 9 x 14,760 Python steps. Here
each step (and each tick of the decider) is a handful of numpy operations over all lanes,
whatever their number, with the same float operations in the same order as ``kpa.py``, so
each lane's result is the one ``simulate_kpa`` gives for its policy
(tests/unit/test_scaling_batch.py compares them element by element).

Lanes run together when their policies share ``metric`` and ``tick_s``; every other field
(target, utilization, windows, scales, rates, delays, container concurrency, burst
capacity) is per lane.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any, Unpack

import numpy as np
import numpy.typing as npt

from benchctl.analysis.fleet_lanes import FleetLanes
from benchctl.analysis.kpa import _kpa_settled, _pod_limit, simulate_kpa
from benchctl.analysis.kpa_quiet import RETRY_TICKS, quiet_ticks, steady_until
from benchctl.analysis.scaling_model import (
    EPS,
    FloatArray,
    ReplicaModel,
    SimResult,
    Traffic,
    ceil_up_array,
    steps_of,
)
from benchctl.analysis.scaling_policies import KpaPolicy
from benchctl.analysis.scaling_steps import SimArgs, SimSettings, StepArrays, begin


def simulate_kpa_many(
    traffic: Traffic,
    model: ReplicaModel,
    policies: Sequence[KpaPolicy],
    **options: Unpack[SimArgs],
) -> list[SimResult]:
    """``[simulate_kpa(traffic, model, p, **options) for p in policies]``, the policies with
    the same ``metric`` and ``tick_s`` stepped together. ``options``: ``dt``,
    ``price_per_hour``, ``initial_replicas`` (`SimSettings`); raises what ``simulate_kpa``
    raises."""
    groups: dict[tuple[Any, ...], list[int]] = {}
    for i, policy in enumerate(policies):
        groups.setdefault((policy.metric, policy.tick_s), []).append(i)
    results: list[SimResult | None] = [None] * len(policies)
    for indices in groups.values():
        if len(indices) == 1:
            results[indices[0]] = simulate_kpa(traffic, model, policies[indices[0]], **options)
            continue
        lanes = [policies[i] for i in indices]
        for i, result in zip(indices, _simulate_lanes(traffic, model, lanes, options), strict=True):
            results[i] = result
    return [r for r in results if r is not None]


def _column(policies: Sequence[KpaPolicy], name: str) -> FloatArray:
    return np.array([float(getattr(p, name)) for p in policies])


class _Lanes:
    """Every lane's decider (``kpa._Decider``), fleet and in-flight queue, one row each."""

    def __init__(
        self,
        model: ReplicaModel,
        policies: Sequence[KpaPolicy],
        settings: SimSettings,
        rate0: float,
        start: list[int],
        ticks: int,
    ) -> None:
        dt = self.dt = settings.dt
        self.model = model
        lanes = len(policies)
        self._policy_columns(policies, model, dt)
        self.panic_since = np.full(lanes, np.nan)  # nan: not panicking
        self.max_panic = np.zeros(lanes)
        self.zero_since = np.full(lanes, np.nan)
        self.count = np.array(start, dtype=float)
        self.desired = self.count.copy()
        self.activator = np.zeros(lanes, dtype=np.int64)
        self.seen = np.full((ticks, lanes), np.nan)
        self.want_t = np.full((ticks, lanes), -np.inf)  # the scale-down delay's wants
        self.want_v = np.zeros((ticks, lanes))
        tick_s = steps_of(policies[0].tick_s, dt) * dt
        self.delay_back = int(np.ceil(self.delay_s.max() / tick_s)) + 2  # ticks a delay spans
        self.fleets = FleetLanes(self.count, model)
        self.lanes = np.arange(lanes)
        # constant per-lane masks of the decider (the same values tick computed each time)
        self.no_burst, self.any_burst = self.tbc == 0, self.tbc < 0
        self.delayed = self.delay_s > 0
        self.any_delayed = bool(self.delayed.any())
        # from this step on every window fits: max(0, i - w) is i - w and min(i, w) is w
        self.windows_fit = int(max(self.stable_w.max(), self.panic_w.max()))
        self.windows = np.stack([self.stable_w, self.panic_w])  # the two averages, together
        self.burst_lanes = ~self.no_burst
        # every lane has a positive burst capacity: in_path is the comparison alone
        self.plain_burst = bool(self.burst_lanes.all() and not self.any_burst.any())
        self.any_panic = False  # some lane in panic mode (``panic_now``)
        self.panic_now = ~np.isnan(self.panic_since)
        self._all_nan = np.full(lanes, np.nan)
        # what tick and in_flight derive from the ready pods alone, for the last ready array
        self._of_ready: FloatArray | None = None
        # ready pods at the last time asked, valid while no pending group becomes ready
        self._ready: FloatArray | None = None
        self._next_ready = -np.inf  # the earliest ready time of a group still pending then
        self._in_flight_constants(model, dt, rate0, start)

    def _policy_columns(
        self, policies: Sequence[KpaPolicy], model: ReplicaModel, dt: float
    ) -> None:
        """Each policy's settings as one value per lane (windows in steps of ``dt`` s)."""
        self.stable_s = _column(policies, "stable_window_s")
        self.stable_w = np.array([steps_of(p.stable_window_s, dt) for p in policies])
        self.panic_w = np.array([steps_of(p.panic_window_s, dt) for p in policies])
        self.effective = np.array([p.effective_target for p in policies])
        self.up_rate = _column(policies, "max_scale_up_rate")
        self.down_rate = _column(policies, "max_scale_down_rate")
        self.threshold = _column(policies, "panic_threshold_percentage") / 100.0
        self.tbc = _column(policies, "target_burst_capacity")
        cap = _column(policies, "container_concurrency")
        target = _column(policies, "target")
        self.burst_total = np.where(cap > 0, np.minimum(target, cap), target)
        self.delay_s = _column(policies, "scale_down_delay_s")
        self.grace = _column(policies, "scale_to_zero_grace_s")
        self.min_scale = _column(policies, "min_scale")
        top = _column(policies, "max_scale")
        self.top = np.where(top > 0, top, np.inf)
        self.pod_max = np.array([_pod_limit(model, p.container_concurrency) for p in policies])

    def _in_flight_constants(
        self, model: ReplicaModel, dt: float, rate0: float, start: list[int]
    ) -> None:
        """``in_flight``'s constants (each the value it computed every step) and every
        lane's queue at the start (``rate0`` req/s over its ``start`` pods)."""
        mean = model.mean_latency
        self.base_s, self.s, self.mu = mean.base_ms / 1000.0, mean.queue_scale, mean.x_max
        self.drain = self.mu * dt
        self.two_sqrt_s, self.two_s = 2.0 * np.sqrt(self.s), 2.0 * self.s
        self.timeout = model.request_timeout_s
        self.queue = np.array([self._initial_queue(rate0, pods) for pods in start])
        self._flight_ready: FloatArray | None = None
        self._all_ready = False

    def _initial_queue(self, rate: float, pods: int) -> float:
        per_pod = rate / pods if pods else 0.0
        queue = self.s * per_pod / (self.mu - per_pod) if 0 < per_pod < self.mu else 0.0
        return queue * pods

    def ready(self, now: float) -> FloatArray:
        """Ready pods of every lane at ``now`` (s), shape (lanes,); ``now`` never decreases
        between calls. The fleets' count (``FleetLanes.count_at``) changes only at a resize
        or when ``now + EPS`` reaches a pending group's ready time, so between those the
        array of the last call is returned (the same values; callers do not modify it)."""
        if self._ready is not None and self._next_ready > now + EPS:
            return self._ready
        self._ready = self.fleets.count_at(self.lanes, np.full(self.lanes.size, now))
        when = self.fleets.when
        later = when[when > now + EPS]  # the groups count_at left pending
        self._next_ready = float(later.min()) if later.size else np.inf
        return self._ready

    def _derive(self, ready: FloatArray) -> None:
        """What the decider derives from ``ready`` alone (the same operations, made once
        per ready array): pods (at least 1), the scale-up and scale-down limits, no pod
        ready, and ready x the burst target."""
        self._of_ready = ready
        self._pods = np.maximum(1.0, ready)
        self._up = np.ceil(self.up_rate * self._pods)
        self._down = np.floor(self._pods / self.down_rate)
        self._none_ready = ready == 0
        self._burst_room = ready * self.burst_total

    def tick(self, k: int, i: int, now: float, metric_sum: FloatArray) -> None:
        """``kpa._Decider.tick`` for every lane: tick ``k`` at step ``i``."""
        lanes = self.lanes
        ready = self.ready(now)
        if ready is not self._of_ready:
            self._derive(ready)
        total = metric_sum[i]
        # the stable and the panic window's averages as the rows of one array (elementwise:
        # the same values as each computed alone)
        windows = self.windows
        if i >= self.windows_fit:  # the same values as the general case below
            averages = (total - metric_sum[i - windows, lanes]) / windows
        else:
            since = metric_sum[np.maximum(0, i - windows), lanes]
            averages = (total - since) / np.minimum(i, windows)
        stable, burst = averages
        self.seen[k] = stable
        want_stable, want_panic, over = self._counts(averages)
        outside = np.floor(self._burst_room - burst - self.tbc) < 0
        # (plain_burst: ~no_burst all True and any_burst all False, so the mask is outside)
        in_path = outside if self.plain_burst else self.burst_lanes & (self.any_burst | outside)
        self.activator += self._none_ready | in_path
        if self.any_panic or over.any():
            panicking = self.panic_now
            calm = panicking & (self.panic_since + self.stable_s < now - EPS)
            self.panic_since = np.where(over, now, np.where(calm, np.nan, self.panic_since))
            self.max_panic = np.where(~over & calm, 0.0, self.max_panic)
            panicking = self.panic_now = ~np.isnan(self.panic_since)
            self.any_panic = bool(panicking.any())
            peak = np.maximum(np.maximum(self.max_panic, want_stable), want_panic)
            self.max_panic = np.where(panicking, peak, self.max_panic)
            want = np.where(panicking, self.max_panic, want_stable)
        else:  # no lane panics or starts to: every np.where above keeps what it had
            want = want_stable
        delayed = self.delayed
        if self.any_delayed:
            self.want_t[k], self.want_v[k] = now, want
            low = max(0, k - self.delay_back)
            held = self.want_t[low : k + 1] > (now - self.delay_s + EPS)[None, :]
            latest = np.where(held, self.want_v[low : k + 1], -np.inf).max(axis=0)
            want = np.where(delayed, np.maximum(latest, want), want)
        self.desired = want
        new = self._bounds(want, now)
        self._resize(now, new)

    def _counts(self, averages: FloatArray) -> tuple[FloatArray, FloatArray, Any]:
        """``kpa.kpa_counts`` elementwise for the stable and panic ``averages`` (rows 0 and
        1; pods and limits from ``_derive``): (stable want, panic want, over threshold)."""
        pods, up, down = self._pods, self._up, self._down
        wanted = ceil_up_array(averages / self.effective)  # stable pods, panic pods
        over = wanted[1] / pods >= self.threshold
        bounded = np.minimum(np.maximum(wanted, down), up)
        return bounded[0], bounded[1], over

    def _bounds(self, want: FloatArray, now: float) -> FloatArray:
        """``kpa._kpa_bounds`` elementwise (updates the scale-to-zero timers)."""
        new = np.minimum(np.maximum(want, self.min_scale), self.top)
        current = self.count
        keep = (new > 0) | (current == 0)
        if keep.all():  # no timer runs on: every np.where below takes its first choice
            self.zero_since = self._all_nan
            return new
        since = np.where(np.isnan(self.zero_since), now, self.zero_since)
        expired = now - since + EPS >= self.grace
        self.zero_since = np.where(keep, np.nan, since)
        return np.where(keep, new, np.where(expired, 0.0, current))

    def _resize(self, now: float, new: FloatArray) -> None:
        """``scaling_steps.Fleet.resize`` for every lane."""
        if (self.count == new).all():  # np.array_equal of two arrays of one shape
            return
        self.fleets.resize(self.lanes, np.full(self.lanes.size, now), self.count, new)
        self.count = new
        self._ready = None  # the fleets changed: count them again

    def in_flight(self, offered: float, served: FloatArray, ready: FloatArray) -> FloatArray:
        """``kpa._InFlight.step`` for every lane: the in-flight count each reports. Call it
        under ``np.errstate(divide="ignore", invalid="ignore")`` (a lane without a ready pod
        divides by zero; ``np.where`` then takes the other branch), entered once for all
        steps by ``_simulate_lanes``."""
        arriving = offered * self.dt
        if ready is not self._flight_ready:
            self._flight_ready, self._all_ready = ready, bool((ready > 0).all())
        waiting = self.queue + arriving
        c = waiting / ready
        b = self.s - c + self.drain
        root = np.hypot(b, self.two_sqrt_s * np.sqrt(c))
        above = b > 0
        if above.all():  # np.where(b > 0, x, y) is x: y is not made
            per_pod = self.two_s / (b + root) * c
        else:
            per_pod = np.where(above, self.two_s / (b + root) * c, (root - b) / 2.0)
        if self._all_ready:  # np.where(ready <= 0, waiting, x) is x
            queue = ready * per_pod
        else:
            queue = np.where(ready <= 0, waiting, ready * per_pod)
        if offered > 0:
            queue = np.minimum(queue, offered * self.timeout)
        self.queue = queue
        return served * self.base_s + queue


def _simulate_lanes(
    traffic: Traffic,
    model: ReplicaModel,
    policies: Sequence[KpaPolicy],
    options: SimArgs,
) -> list[SimResult]:
    """Every policy of one group (same metric and tick) replayed together."""
    p0 = policies[0]
    settings, grid, _, _ = begin(traffic, model, options, lambda rate: 0)
    dt = settings.dt
    initial = settings.initial_replicas
    rate0 = float(grid.rps[0])
    start = [_kpa_settled(p, model, grid.rps[0]) if initial is None else initial for p in policies]
    n = grid.t.size
    every = steps_of(p0.tick_s, dt)
    lanes = _Lanes(model, policies, settings, rate0, start, max(0, (n - 1) // every))
    width = len(policies)
    metric_sum = np.zeros((n + 1, width))
    columns = [np.zeros((n, width)) for _ in range(4)]  # replicas, ready, served, desired
    panicking = np.zeros((n, width), dtype=bool)
    with np.errstate(divide="ignore", invalid="ignore"):  # in_flight's, once for all steps
        _steps(lanes, grid, every, p0.metric == "concurrency", (metric_sum, columns, panicking))
    return _lane_results(policies, lanes, columns, panicking, settings, grid)


def _steps(
    lanes: _Lanes,
    grid: Traffic,
    every: int,
    concurrency: bool,
    out: tuple[FloatArray, list[FloatArray], npt.NDArray[np.bool_]],
) -> None:
    """Every step and tick of the lanes, written to ``out``: the metric's running total
    per step boundary, the per-step columns (replicas, ready, served, desired) and the
    panic flags. What only a tick or a newly ready group changes is computed again only
    then, and written for the steps it held. A step repeats the last one while its rate
    and ready pods are the last step's and ``in_flight`` left the queues bit for bit as
    they were (their fixed point); such steps' ticks are taken together (``kpa_quiet``)."""
    metric_sum, (replicas, ready_out, served_out, desired), panicking = out
    times, rates, n = grid.t.tolist(), grid.rps.tolist(), grid.t.size
    bits = grid.rps.view(np.int64)
    same_rate = [False, *(bits[1:] == bits[:-1]).tolist()]  # rate bit for bit the last one's
    changes, t_eps = np.flatnonzero(~np.array(same_rate)), grid.t + EPS
    held = ready_from = served_from = i = 0
    retry = lanes.windows_fit  # the first step a block of ticks is tried at
    last_ready, capacity, total = None, np.zeros(lanes.lanes.size), metric_sum[0]
    served, step, repeat = np.zeros(lanes.lanes.size), np.zeros(lanes.lanes.size), False
    while i < n:
        if i > 0 and i % every == 0:
            replicas[held:i], desired[held:i] = lanes.count, lanes.desired
            panicking[held:i], held = lanes.panic_now, i
            if repeat and same_rate[i] and i >= retry and lanes._ready is last_ready:
                end = steady_until(changes, t_eps, i, lanes._next_ready)
                stop = quiet_ticks(lanes, metric_sum, desired, (i, end, every), step)
                if stop < 0:  # a lane is not quiet: try again some ticks later
                    retry = i + RETRY_TICKS * every
                else:
                    replicas[i:stop], panicking[i:stop], held = lanes.count, lanes.panic_now, stop
                    i, total = stop + 1, metric_sum[stop + 1]
                    continue
            lanes.tick(i // every - 1, i, times[i], metric_sum)
        ready = lanes.ready(times[i])
        if ready is not last_ready:
            if last_ready is not None:
                ready_out[ready_from:i] = last_ready
            ready_from, last_ready, capacity = i, ready, ready * lanes.pod_max
            repeat = False
        elif repeat and same_rate[i]:
            total = np.add(total, step, out=metric_sum[i + 1])
            i += 1
            continue
        served_out[served_from:i] = served
        served, served_from = np.minimum(rates[i], capacity), i
        if concurrency:
            queue = lanes.queue
            step = lanes.in_flight(rates[i], served, ready)
            repeat = lanes.queue.tobytes() == queue.tobytes()
        else:
            step, repeat = rates[i], True
        total = np.add(total, step, out=metric_sum[i + 1])
        i += 1
    served_out[served_from:] = served
    replicas[held:], desired[held:], panicking[held:] = lanes.count, lanes.desired, lanes.panic_now
    if last_ready is not None:
        ready_out[ready_from:] = last_ready


def _lane_results(
    policies: Sequence[KpaPolicy],
    lanes: _Lanes,
    columns: list[FloatArray],
    panicking: npt.NDArray[np.bool_],
    settings: SimSettings,
    grid: Traffic,
) -> list[SimResult]:
    """Each lane's SimResult from the per-step ``columns`` (replicas, ready, served, desired;
    shape (steps, lanes)), its panic flags and what ``lanes`` counted at the ticks."""
    dt, model = settings.dt, lanes.model
    every = steps_of(policies[0].tick_s, dt)
    results = []
    for j, policy in enumerate(policies):
        out = StepArrays.of(*(np.ascontiguousarray(c[:, j]) for c in columns))
        panic = np.ascontiguousarray(panicking[:, j])
        result = out.finish("kpa", policy.tick_s, dt, grid, model, settings.price_per_hour, panic)
        results.append(
            replace(
                result,
                metric=np.ascontiguousarray(lanes.seen[:, j]),
                activator_seconds=float(int(lanes.activator[j]) * every * dt),
            )
        )
    return results
