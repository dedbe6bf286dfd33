"""The pods of many simulated fleets at once (``scaling_steps.Fleet`` for one row per lane),
in memory that does not grow with the replica count.

``Fleet`` keeps every pod's ready time. Here a lane keeps the number of pods ready for
good (ready at or before the last resize, so at every later time too) and a few pending
groups (ready time, count): the pods one scale-up added with the same start. Every count
``Fleet`` gives (ready at a time, which pods a scale-down removes: the least ready) is the
same, and a fleet of 80,000 replicas costs what one of 8 does.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from benchctl.analysis.scaling_model import EPS, FloatArray, ReplicaModel

IntArray = npt.NDArray[np.int64]


class FleetLanes:
    """Pods per lane: ``ready`` (count, ready for good) plus pending groups (``when``: ready
    time, s, inf for an empty group; ``size``: pods). Inputs: the starting pod counts (all
    ready) and the replica model (cold start, node start, pool of pods the nodes hold)."""

    def __init__(self, count: FloatArray, model: ReplicaModel) -> None:
        lanes = count.size
        self.ready = np.asarray(count, dtype=float).copy()
        self.when = np.full((lanes, 4), np.inf)
        self.size = np.zeros((lanes, 4))
        pool = model.pool_pods
        self.pool = np.full(lanes, np.inf) if pool is None else np.maximum(pool, self.ready)
        self.cold, self.node = model.cold_start_s, model.node_start_s

    def ready_at(self, rows: IntArray, times: FloatArray) -> FloatArray:
        """Ready pods of lanes ``rows`` at ``times`` (one row of times per lane).

        Only the pending groups that hold pods in one of the lanes are summed: an empty
        group adds +0.0, which leaves every (non-negative) count as it is."""
        size = self.size[rows]
        groups = np.flatnonzero((size > 0).any(axis=0))
        ready = self.ready[rows][:, None]
        if not groups.size:
            return np.repeat(ready + 0.0, times.shape[1], axis=1)
        when, size = self.when[rows][:, groups], size[:, groups]
        pending = when[:, None, :] <= (times + EPS)[:, :, None]
        return ready + (pending * size[:, None, :]).sum(axis=2)

    def count_at(self, rows: IntArray, now: FloatArray) -> FloatArray:
        """Ready pods of lanes ``rows`` at one time each (``Fleet.ready_count``)."""
        return self.ready_at(rows, np.asarray(now, dtype=float).reshape(-1, 1))[:, 0]

    def resize(self, rows: IntArray, now: FloatArray, cur: FloatArray, new: FloatArray) -> None:
        """``Fleet.resize`` of lanes ``rows`` from ``cur`` to ``new`` pods at ``now``: new pods
        serve after their start (plus a node's beyond the pool); a scale-down removes the
        least ready."""
        when, size, ready = self.when[rows], self.size[rows], self.ready[rows]
        done = when <= (now + EPS)[:, None]  # ready now, so at every later step too
        ready = ready + np.where(done, size, 0.0).sum(axis=1)
        size = np.where(done, 0.0, size)
        cut = np.maximum(cur - new, 0.0)
        if cut.any():
            key = np.where(size > 0, when, -np.inf)
            order = np.argsort(-key, axis=1, kind="stable")  # latest ready time first
            ordered = np.take_along_axis(size, order, axis=1)
            before = np.cumsum(ordered, axis=1) - ordered
            taken = np.clip(cut[:, None] - before, 0.0, ordered)
            np.put_along_axis(size, order, ordered - taken, axis=1)
            ready = ready - np.maximum(cut - taken.sum(axis=1), 0.0)
        when = np.where(size > 0, when, np.inf)
        pool = self.pool[rows]
        cold = np.maximum(np.minimum(new, pool) - cur, 0.0)  # pod indices cur .. pool - 1
        node = np.maximum(new - np.maximum(cur, pool), 0.0)  # pod indices from the pool on
        for count, start in ((cold, self.cold), (node, self.cold + self.node)):
            if not count.any():
                continue
            free = size == 0
            if not free.any(axis=1).all():
                when, size = self._widen(when, size)
                free = size == 0
            slot = np.argmax(free, axis=1)
            lanes = np.arange(rows.size)
            adding = count > 0
            when[lanes, slot] = np.where(adding, now + start, when[lanes, slot])
            size[lanes, slot] = np.where(adding, count, size[lanes, slot])
        self.when[rows], self.size[rows], self.ready[rows] = when, size, ready
        self.pool[rows] = np.where(new > cur, np.maximum(pool, new), pool)

    def _widen(self, when: FloatArray, size: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Room for more pending groups in every lane (and in the local copies)."""
        extra = self.when.shape[1]
        self.when = np.hstack([self.when, np.full((self.when.shape[0], extra), np.inf)])
        self.size = np.hstack([self.size, np.zeros((self.size.shape[0], extra))])
        rows = when.shape[0]
        return (
            np.hstack([when, np.full((rows, extra), np.inf)]),
            np.hstack([size, np.zeros((rows, extra))]),
        )
