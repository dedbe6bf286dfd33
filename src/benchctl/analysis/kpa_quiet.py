"""Quiet KPA ticks taken together: while the traffic and every lane's ready pods hold and
the in-flight queues are at their fixed point (``kpa_batch._simulate_lanes``), each step
adds the same metric, so the running totals of the next ticks are known in advance and
those ticks are evaluated as one array (ticks x lanes) instead of one numpy pass each.

A tick is quiet when no lane panics or starts to, no lane has a scale-down delay, no
scale-to-zero timer runs and no lane resizes: ``kpa_batch._Lanes.tick`` then only records
the stable average, counts the activator and sets the desired count. The leading quiet
ticks of a block are kept (the same float operations, elementwise, as ``tick``); the first
other one is left to ``tick``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from benchctl.analysis.scaling_model import FloatArray, ceil_up_array

if TYPE_CHECKING:
    from benchctl.analysis.kpa_batch import _Lanes

BLOCK_TICKS = 32  # ticks tried at once: the work lost when one of them is not quiet
RETRY_TICKS = 8  # after a block whose first tick was not quiet, ticks until the next try


def quiet_ticks(
    lanes: _Lanes,
    metric_sum: FloatArray,
    desired: FloatArray,
    ticks: tuple[int, int, int],
    step: Any,
) -> int:
    """Take the ticks at steps ``first``, ``first + every``, ... before ``end``
    (``ticks`` = (first, end, every)), every step from ``first`` to ``end`` adding ``step``
    (the metric of each lane, or one rate) to ``metric_sum`` and no pending pod becoming
    ready. Writes the running totals through the last quiet tick's step, that tick's
    ``seen`` rows, the activator counts and ``desired`` (per step, shape (steps, lanes))
    from ``first`` to the last quiet tick. Returns the last quiet tick's step, or -1 when
    the first tick is not quiet (then nothing is written that ``tick`` would not)."""
    first, end, every = ticks
    js = np.arange(first, end, every)[:BLOCK_TICKS]
    if js.size < 2 or lanes.any_panic or lanes.any_delayed:
        return -1
    ready = lanes._ready  # what tick derives from the ready pods, for these
    if ready is not None and ready is not lanes._of_ready:
        lanes._derive(ready)
    last = int(js[-1])
    rows = np.empty((last + 2 - first, metric_sum.shape[1]))
    rows[0], rows[1:] = metric_sum[first], step
    metric_sum[first + 1 : last + 2] = np.add.accumulate(rows, axis=0)[1:]
    windows = lanes.windows
    since = metric_sum[js[:, None, None] - windows[None], lanes.lanes]
    averages = (metric_sum[js][:, None, :] - since) / windows  # (ticks, 2, lanes)
    want, in_path, quiet = _decide(lanes, averages)
    count = int(np.argmin(quiet)) if not quiet.all() else js.size
    if count == 0:
        return -1
    lanes.seen[js[:count] // every - 1] = averages[:count, 0]
    lanes.activator += (lanes._none_ready | in_path[:count]).sum(axis=0)
    stop = int(js[count - 1])
    desired[first:stop] = np.repeat(want[: count - 1], every, axis=0)
    lanes.desired = want[count - 1]
    lanes.zero_since = lanes._all_nan
    return stop


def steady_until(changes: Any, t_eps: FloatArray, first: int, next_ready: float) -> int:
    """The first step after ``first`` whose rate is not the last step's (``changes``: those
    steps, ascending) or at which a pending pod becomes ready (``next_ready``, s; ``t_eps``:
    each step's time + EPS, as ``_Lanes.ready`` compares); the step count when none."""
    later = changes[np.searchsorted(changes, first, side="right") :]
    rate_end = int(later[0]) if later.size else t_eps.size
    return min(rate_end, int(np.searchsorted(t_eps, next_ready)))


def _decide(lanes: _Lanes, averages: FloatArray) -> tuple[FloatArray, Any, Any]:
    """``_Lanes._counts``, the activator's in-path mask and ``_Lanes._bounds`` for every
    tick (row) of ``averages``: (stable want, in path, quiet) per tick."""
    pods, up, down = lanes._pods, lanes._up, lanes._down
    wanted = ceil_up_array(averages / lanes.effective)
    over = wanted[:, 1] / pods >= lanes.threshold
    want = np.minimum(np.maximum(wanted[:, 0], down), up)
    outside = np.floor(lanes._burst_room - averages[:, 1] - lanes.tbc) < 0
    in_path = outside if lanes.plain_burst else lanes.burst_lanes & (lanes.any_burst | outside)
    new = np.minimum(np.maximum(want, lanes.min_scale), lanes.top)
    keep = (new > 0) | (lanes.count == 0)
    quiet = ~over.any(axis=1) & keep.all(axis=1) & (new == lanes.count).all(axis=1)
    return want, in_path, quiet
