"""The per-step bookkeeping both simulators share: the pods that exist and when each becomes
ready (``Fleet``), and the per-step arrays that become a ``SimResult`` (``StepArrays``)."""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, TypedDict

import numpy as np
import numpy.typing as npt

from benchctl.analysis.scaling_model import (
    EPS,
    FloatArray,
    ReplicaModel,
    SimResult,
    Traffic,
    on_grid,
)


class Fleet:
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
        """How many pods are ready at ``now`` (seconds on the simulation clock); a pod whose ready
        time is within EPS of ``now`` counts as ready.
        """
        return bisect.bisect_right(self.times, now + EPS)

    def ready_at(self, times: FloatArray) -> FloatArray:
        """Ready pods at each of ``times`` (seconds, shape (k,)): a float array of shape (k,), as
        ``ready_count`` would give for each time, for the current set of pods.
        """
        return np.searchsorted(self.array, times + EPS, side="right").astype(float)


class StepArrays:
    """Per-step bookkeeping shared by both simulators."""

    def __init__(self, n: int) -> None:
        self.replicas = np.zeros(n)
        self.ready = np.zeros(n)
        self.served = np.zeros(n)
        self.desired = np.zeros(n)

    @classmethod
    def of(
        cls, replicas: FloatArray, ready: FloatArray, served: FloatArray, desired: FloatArray
    ) -> StepArrays:
        """StepArrays holding per-step columns already recorded (each shape (n,); kept as
        given, not copied): pods that exist, ready pods, served requests/s and the
        controller's desired count, ready for ``finish``. Raises nothing."""
        steps = cls(0)
        steps.replicas, steps.ready, steps.served, steps.desired = replicas, ready, served, desired
        return steps

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
        """Record steps ``a .. b-1`` and return what they served.

        ``offered``: requests/s per step, shape (b - a,); ``replicas``: pods that exist;
        ``ready``: ready pods per step, shape (b - a,); ``pod_max``: one pod's capacity
        (requests/s); ``desired``: the controller's recommendation. Served = min(offered,
        ready x pod_max) per step (requests/s, shape (b - a,)). Raises nothing of its own.
        """
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
        """The SimResult of the whole trace from the recorded steps.

        ``kind``: ``"hpa"`` or ``"kpa"``; ``period``: the controller's sync period or tick (s);
        ``dt``: the step (s); ``grid``: the offered traffic on the step grid; ``model``: one
        replica's capacity and latency curve; ``price_per_hour``: per replica (currency/h);
        ``panic``: KPA panic mode per step (bool, shape (n,)) or None. Dropped = offered - served
        (requests/s); latency (ms) from ``model.latency_array`` at the served rate per ready pod
        (NaN without one); a step violates the SLO when it drops requests, a pod runs past
        capacity or latency exceeds ``model.slo_ms``; cost = replica-seconds / 3600 x
        price_per_hour. Raises nothing of its own.
        """
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
            (dropped > EPS * np.maximum(offered, 1.0))
            | (np.nan_to_num(rate) > model.capacity_rps * (1 + EPS))
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


class SimArgs(TypedDict, total=False):
    """The keyword arguments both simulators (and ``simulate_worst_phase``) take; see
    `SimSettings` for their meaning and defaults."""

    dt: float
    price_per_hour: float
    initial_replicas: int | None


@dataclass(frozen=True)
class SimSettings:
    """How a simulation runs, whichever autoscaler: ``dt`` (s, the step), ``price_per_hour``
    (per replica; 0: no cost) and ``initial_replicas`` (None: the steady state the policy
    reaches at the first rate). Raises TypeError for an unknown field."""

    dt: float = 1.0
    price_per_hour: float = 0.0
    initial_replicas: int | None = None


def begin(
    traffic: Traffic,
    model: ReplicaModel,
    options: SimArgs,
    settled: Callable[[Any], int],
) -> tuple[SimSettings, Traffic, int, Fleet]:
    """Where a simulation starts: its `SimSettings` (from ``options``; TypeError for an
    unknown one), the trace on the ``dt`` grid (``on_grid``), the replicas
    (``initial_replicas``, else ``settled`` at the first rate: the steady state the policy
    reaches) and the fleet of that many ready pods."""
    settings = SimSettings(**options)
    grid = on_grid(traffic, settings.dt)
    initial = settings.initial_replicas
    start = settled(grid.rps[0]) if initial is None else initial
    return settings, grid, start, Fleet(model, start)
