"""The state of many HPA v2 lanes (one per policy and sync phase) stepped together sync by
sync with numpy: the fleet's ready times, the scraped counter, the stabilization windows'
recommendations and the rate-limit periods' scale events, each an array with one row per
lane. ``hpa_batch`` groups the policies into lanes and picks worst phases; this module
evaluates ``hpa._hpa_decide`` (``hpa.hpa_proposal``, ``hpa._external_proposal``,
``hpa._stabilize``, ``hpa._scale_limit``) for all lanes with the same float operations in
the same order as ``hpa.simulate_hpa`` (tests/unit/test_scaling_batch.py compares them
element by element).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import numpy.typing as npt

from benchctl.analysis.fleet_lanes import FleetLanes
from benchctl.analysis.hpa import _hpa_settled
from benchctl.analysis.scaling_model import (
    EPS,
    FloatArray,
    ReplicaModel,
    SimResult,
    Traffic,
    ceil_up_array,
    on_grid,
    steps_of,
)
from benchctl.analysis.scaling_policies import HpaPolicy
from benchctl.analysis.scaling_steps import SimArgs, SimSettings, StepArrays

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


class HpaLanes:
    """The state of every lane between syncs, one row per lane."""

    def __init__(
        self,
        grid: Traffic,
        model: ReplicaModel,
        policies: Sequence[HpaPolicy],
        settings: SimSettings,
        floor: FloatArray | None,
    ) -> None:
        p0 = policies[0]
        self.floor = None if floor is None else np.asarray(floor, dtype=float)
        self.model, self.p0, self.dt = model, p0, settings.dt
        self.t, self.offered = grid.t, grid.rps
        n = self.n = grid.t.size
        self.every = steps_of(p0.sync_period_s, self.dt)
        lanes = len(policies)

        def column(name: str) -> FloatArray:
            return np.array([float(getattr(p, name)) for p in policies])

        self.mins, self.maxs = column("min_replicas"), column("max_replicas")
        self.target, self.tol = column("target"), column("tolerance")
        self.up_w = column("scale_up_stabilization_s")
        self.down_w = column("scale_down_stabilization_s")
        phase = np.array([round(p.sync_phase_s / self.dt) % self.every for p in policies])
        self.phase = phase
        self.first_tick = np.where(phase > 0, phase, self.every).astype(np.int64)
        self.ticks = np.maximum(0, (n - self.first_tick + self.every - 1) // self.every)
        initial = settings.initial_replicas
        start = [
            _hpa_settled(p, model, float(grid.rps[0])) if initial is None else initial
            for p in policies
        ]
        self.count = np.array(start, dtype=float)  # len(fleet): pods that exist
        self.desired = self.count.copy()
        self.fleets = FleetLanes(self.count, model)
        kmax = int(self.ticks.max()) if lanes else 0
        # Step s of lane r is column s + shift[r] of the per-step arrays below, so that sync k
        # of every lane fills the same columns k * every .. (k + 1) * every - 1: one block
        # written as a slice, not a scatter; the steps before the first sync are in block 0.
        self.shift = self.every - self.first_tick
        width = max((kmax + 1) * self.every, self.every + n)
        # the scraped counter (requests) at each step boundary (column j + shift: before step
        # j), and its rate before the trace
        self.cum = np.zeros((lanes, width + 1))
        self.first_rate = np.zeros(lanes)
        self.scrape = steps_of(p0.scrape_interval_s, self.dt) if p0.scrape_interval_s else 1
        self.window = round(p0.rate_window_s / self.dt)
        self.metric = np.full((lanes, kmax), np.nan)
        self._history(lanes, kmax, float(grid.t[0]))
        # replicas, ready, served, desired per step (column s + shift[r]: ``step_arrays``)
        self.out = [np.zeros((lanes, width)) for _ in range(4)]

    def _history(self, lanes: int, kmax: int, t0: float) -> None:
        """The stabilization windows' recommendations (column 0: the start at ``t0``
        seconds; column k: sync k) and the rate-limit periods' scale events, one row per
        lane, and how many syncs back each can reach."""
        self.rec_t = np.zeros((lanes, kmax + 1))
        self.rec_v = np.zeros((lanes, kmax + 1))
        self.rec_ok = np.zeros((lanes, kmax + 1), dtype=bool)
        self.rec_t[:, 0], self.rec_v[:, 0], self.rec_ok[:, 0] = t0, self.count, True
        self.ev_t = np.zeros((lanes, kmax + 1))
        self.ev_up = np.zeros((lanes, kmax + 1))
        self.ev_down = np.zeros((lanes, kmax + 1))
        period = self.every * self.dt
        longest = float(max(self.up_w.max(), self.down_w.max()))
        self.rec_back = math.ceil(longest / period) + 2  # syncs a window can reach back
        rules = (*self.p0.scale_up, *self.p0.scale_down)
        self.ev_back = math.ceil(max(r.period_s for r in rules) / period) + 2

    # ------------------------------------------------------------------ per sync

    def sync(self, k: int, rows: IntArray, a: IntArray) -> None:
        """Sync ``k`` (1-based) of the lanes ``rows``, at steps ``a``."""
        p0 = self.p0
        now = self.t[a]
        cur = self.count[rows]
        ready = self.fleets.count_at(rows, now)
        mins, maxs, tol = self.mins[rows], self.maxs[rows], self.tol[rows]
        inside = (mins <= cur) & (cur <= maxs)
        total, has = self._rate(rows, a)
        target = self.target[rows]
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            if p0.keda:
                proposal = _external(cur, total, target, tol)
                has_proposal = has
            else:
                ratio = total / ready / target
                proposal = _plain(cur, ready, ratio, tol)
                has_proposal = has & (ready > 0)
        self.metric[rows, k - 1] = np.where(inside & has, total, np.nan)
        if self.floor is not None:
            level = self.floor[a]
            use = level > 0
            cron = _external(cur, level, 1.0, tol)
            merged = np.where(has_proposal, np.maximum(proposal, cron), cron)
            proposal = np.where(use, merged, proposal)
            has_proposal = has_proposal | use
        decide = inside & has_proposal
        decided = self._decided(k, rows, now, proposal, cur)
        self.rec_t[rows, k], self.rec_v[rows, k], self.rec_ok[rows, k] = now, proposal, decide
        clamped = np.minimum(np.maximum(cur, mins), maxs)
        new = np.where(inside, np.where(decide, decided, cur), clamped)
        desired = np.where(inside, np.where(decide, proposal, self.desired[rows]), clamped)
        self.ev_t[rows, k] = now
        self.ev_up[rows, k] = np.maximum(new - cur, 0.0)
        self.ev_down[rows, k] = np.maximum(cur - new, 0.0)
        if not np.array_equal(cur, new):
            self.fleets.resize(rows, now, cur, new)
        self.count[rows], self.desired[rows] = new, desired

    def _decided(
        self, k: int, rows: IntArray, now: FloatArray, proposal: FloatArray, cur: FloatArray
    ) -> FloatArray:
        """The count ``hpa._hpa_decide`` scales to from ``proposal``: stabilized
        (``_stabilize``), then within the bounds and the scaling policies' limits
        (``_limit``). When every lane's proposal (then: stabilized count) is ``_held`` at its
        current count, that count is the decision and the later steps are skipped: a
        window's lowest recommendation up is at most the proposal and its highest down at
        least it (no recommendation is NaN), so a proposal at, below or above the current
        count stabilizes at, at most or at least it."""
        mins, maxs = self.mins[rows], self.maxs[rows]
        if _held(proposal, cur, mins, maxs).all():
            return cur
        stabilized = self._stabilize(k, rows, now, proposal, cur)
        if _held(stabilized, cur, mins, maxs).all():
            return cur
        self._changes: dict[float, tuple[FloatArray, FloatArray]] = {}  # this sync's
        up_limit = self._limit(True, k, rows, now, cur)
        down_limit = self._limit(False, k, rows, now, cur)
        new_up = np.minimum(np.minimum(stabilized, maxs), np.maximum(up_limit, cur))
        new_down = np.maximum(np.maximum(stabilized, mins), np.minimum(down_limit, cur))
        return np.where(stabilized > cur, new_up, np.where(stabilized < cur, new_down, cur))

    def _rate(self, rows: IntArray, i: IntArray) -> tuple[FloatArray, BoolArray]:
        """``hpa._MetricReader.rate`` at steps ``i``: (rate, whether there is one)."""
        scrape, window, dt = self.scrape, self.window, self.dt
        last = (i // scrape) * scrape
        if window <= scrape:
            first = last - scrape
            has = np.ones(i.size, dtype=bool)
        else:
            first = ((i - window) // scrape + 1) * scrape
            has = last - first >= scrape

        def counter(j: IntArray) -> FloatArray:
            stored = self.cum[rows, np.maximum(j, 0) + self.shift[rows]]
            return np.where(j >= 0, stored, (j * dt) * self.first_rate[rows])

        with np.errstate(divide="ignore", invalid="ignore"):
            rate = (counter(last) - counter(first)) / ((last - first) * dt)
        return rate, has

    def _stabilize(
        self, k: int, rows: IntArray, now: FloatArray, proposal: FloatArray, cur: FloatArray
    ) -> FloatArray:
        """``hpa._stabilize``: up to the lowest, down to the highest recommendation within
        each window (the recommendations of syncs before ``k`` and the start)."""
        low = max(0, k - self.rec_back)
        # the syncs a window can reach, and the start's (column 0, at t[0]) beyond them
        cols: Any = slice(0, k) if low == 0 else np.r_[0, low:k]
        lanes: Any = slice(None)  # every lane: no copy of the rows
        if rows.size < self.count.size:
            lanes, cols = rows[:, None], np.arange(k)[cols][None, :]
        when, value, ok = (r[lanes, cols] for r in (self.rec_t, self.rec_v, self.rec_ok))
        in_up = ok & (when > ((now - self.up_w[rows]) + EPS)[:, None])
        in_down = ok & (when > ((now - self.down_w[rows]) + EPS)[:, None])
        up = np.minimum(proposal, np.where(in_up, value, np.inf).min(axis=1))
        down = np.maximum(proposal, np.where(in_down, value, -np.inf).max(axis=1))
        return np.minimum(np.maximum(cur, up), down)

    def _changed(
        self, k: int, rows: IntArray, now: FloatArray, period: float
    ) -> tuple[FloatArray, FloatArray]:
        """``hpa._changed`` of the scale-ups and of the scale-downs: the scale changes of
        syncs before ``k`` within ``period``. Kept for the rest of sync ``k`` (the up and
        the down limits ask for the same periods; the events change only after them)."""
        found = self._changes.get(period)
        if found is not None:
            return found
        low = max(1, k - self.ev_back)
        if rows.size == self.count.size:  # every lane: a view, not a copy
            when, ups, downs = (e[:, low:k] for e in (self.ev_t, self.ev_up, self.ev_down))
        else:
            when, ups, downs = (e[rows, low:k] for e in (self.ev_t, self.ev_up, self.ev_down))
        inside = when + period > (now + EPS)[:, None]
        found = (
            np.where(inside, ups, 0.0).sum(axis=1),
            np.where(inside, downs, 0.0).sum(axis=1),
        )
        self._changes[period] = found
        return found

    def _limit(
        self, up: bool, k: int, rows: IntArray, now: FloatArray, cur: FloatArray
    ) -> FloatArray:
        """``hpa._scale_limit`` for every lane: the replica limit of the scaling policies."""
        p0 = self.p0
        rules, select = (
            (p0.scale_up, p0.scale_up_select) if up else (p0.scale_down, p0.scale_down_select)
        )
        if select == "Disabled":
            return cur
        limits = []
        for rule in rules:
            ups, downs = self._changed(k, rows, now, rule.period_s)
            base = cur - ups + downs
            if up and rule.type == "Pods":
                limits.append(base + rule.value)
            elif up:
                limits.append(ceil_up_array(base * (1 + rule.value / 100.0)))
            elif rule.type == "Pods":
                limits.append(np.maximum(0.0, base - rule.value))
            else:
                limits.append(np.maximum(0.0, np.trunc(base * (1 - rule.value / 100.0) + EPS)))
        stacked = np.stack(limits)
        largest = up == (select == "Max")
        return stacked.max(axis=0) if largest else stacked.min(axis=0)

    # ------------------------------------------------------------------ per segment

    def fill(self, rows: IntArray, a: IntArray, length: IntArray) -> None:
        """Steps ``a`` .. ``a + length`` of the lanes ``rows`` with their fleets fixed:
        ``StepArrays.fill`` and ``_MetricReader.record``."""
        span = np.arange(int(length.max()))
        steps = a[:, None] + span[None, :]
        valid = span[None, :] < length[:, None]
        at = np.minimum(steps, self.n - 1)
        times = self.t[at]
        ready = self.fleets.ready_at(rows, times)
        offered = self.offered[at]
        served = np.minimum(offered, ready * self.model.max_rps)
        full = int(length.min()) == span.size  # every lane fills the whole span
        column = a + self.shift[rows]  # the first column of each lane's steps
        counted = offered if self.p0.counter == "offered" else served
        if not full:
            counted = np.where(valid, counted, 0.0)
        at_zero = a == 0
        if at_zero.any():
            self.first_rate[rows[at_zero]] = counted[at_zero, 0]
        running = self.cum[rows, column][:, None] + np.cumsum(counted, axis=1) * self.dt
        replicas, ready_out, served_out, desired = self.out
        c0 = int(column[0])
        if full and rows.size == self.count.size and (column == c0).all():  # one block
            block = slice(c0, c0 + span.size)
            replicas[:, block] = self.count[:, None]
            ready_out[:, block] = ready
            served_out[:, block] = served
            desired[:, block] = self.desired[:, None]
            self.cum[:, c0 + 1 : c0 + 1 + span.size] = running
            return

        def kept(x: FloatArray) -> FloatArray:
            return x.ravel() if full else x[valid]

        # flat positions of (lane, column) in the (lanes, width) outputs and the cum
        lane = kept(np.broadcast_to(rows[:, None], steps.shape))
        where = kept(column[:, None] + span[None, :])
        width = replicas.shape[1]
        flat = lane * width + where
        replicas.put(flat, kept(np.broadcast_to(self.count[rows][:, None], steps.shape)))
        ready_out.put(flat, kept(ready))
        served_out.put(flat, kept(served))
        desired.put(flat, kept(np.broadcast_to(self.desired[rows][:, None], steps.shape)))
        self.cum.put(flat + lane + 1, kept(running))

    def step_arrays(self, lane: int) -> StepArrays:
        """Lane ``lane``'s per-step replicas, ready, served and desired (copies, shape (n,))."""
        first = int(self.shift[lane])
        return StepArrays.of(*(column[lane, first : first + self.n].copy() for column in self.out))


def _held(x: FloatArray, cur: FloatArray, mins: FloatArray, maxs: FloatArray) -> BoolArray:
    """Lanes whose decision from ``x`` (a proposal or a stabilized count) keeps ``cur``:
    ``x`` equals it, or is below it at the lower bound, or above it at the upper bound."""
    return (x == cur) | ((x < cur) & (mins == cur)) | ((x > cur) & (maxs == cur))


def _external(cur: FloatArray, total: Any, target: Any, tol: FloatArray) -> FloatArray:
    """``hpa._external_proposal`` elementwise."""
    ratio = total / (target * np.maximum(cur, 1.0))
    return np.where(np.abs(1.0 - ratio) <= tol, cur, ceil_up_array(total / target))


def _plain(cur: FloatArray, ready: FloatArray, ratio: FloatArray, tol: FloatArray) -> FloatArray:
    """``hpa.hpa_proposal`` elementwise."""
    diluted = ratio * ready / cur
    scale_up_unready = (cur - ready > 0) & (ratio > 1.0)
    held = (np.abs(1.0 - diluted) <= tol) | (diluted < 1.0)
    unready = np.where(held, cur, np.maximum(cur, ceil_up_array(diluted * cur)))
    plain = np.where(np.abs(1.0 - ratio) <= tol, cur, ceil_up_array(ratio * ready))
    return np.where(scale_up_unready, unready, plain)


def simulate_lanes(
    traffic: Traffic,
    model: ReplicaModel,
    policies: Sequence[HpaPolicy],
    floor: FloatArray | None,
    options: SimArgs,
) -> Iterator[SimResult]:
    """Every policy of one group (same fixed fields) replayed together; the results one by
    one (each with its own copy of its rows)."""
    settings = SimSettings(**options)
    grid = on_grid(traffic, settings.dt)
    lanes = HpaLanes(grid, model, policies, settings, floor)
    every, n = lanes.every, lanes.n
    everyone = np.arange(len(policies))
    zero = np.zeros(len(policies), dtype=np.int64)
    lanes.fill(everyone, zero, np.minimum(lanes.first_tick, n))
    all_lanes = int(lanes.ticks.min(initial=0))  # syncs every lane has
    for k in range(1, int(lanes.ticks.max(initial=0)) + 1):
        rows = everyone if k <= all_lanes else everyone[lanes.ticks >= k]
        a = lanes.first_tick[rows] + (k - 1) * every
        lanes.sync(k, rows, a)
        lanes.fill(rows, a, np.minimum(every, n - a))
    del lanes.cum
    for i, policy in enumerate(policies):
        steps = lanes.step_arrays(i)  # replicas, ready, served, desired
        result = steps.finish(
            "hpa", policy.sync_period_s, settings.dt, grid, model, settings.price_per_hour
        )
        metric = lanes.metric[i, : int(lanes.ticks[i])].copy()
        yield replace(result, metric=metric, phase_s=int(lanes.phase[i]) * settings.dt)
