"""The HPA v2 controller of ``hpa.simulate_hpa`` replayed for many policies at once: one
lane per (candidate, sync phase), all lanes stepped together sync by sync with numpy.

``hpa.simulate_hpa`` is the reference: it replays one policy, and its Python work is per
sync (a 4-hour trace at a 15-s sync period is 984 syncs), so ranking 12 candidates at
their worst of 15 sync phases was 180 x 984 Python passes of the controller. Here the
Python work is one numpy pass per sync index, whatever the number of lanes
(``hpa_lanes``): every lane's state (the fleet's ready times, the scraped counter, the
recommendations of the stabilization windows, the scale events of the rate-limit periods)
is an array with one row per lane, and the controller's decision (``hpa._hpa_decide``,
``hpa.hpa_proposal``, ``hpa._external_proposal``, ``hpa._stabilize``,
``hpa._scale_limit``) is evaluated for all lanes with the same float operations in the same
order, so each lane's result is the one
``simulate_hpa`` gives for its policy (tests/unit/test_scaling_batch.py compares them
element by element).

Lanes run together when their policies differ only in ``min_replicas``,
``max_replicas``, ``target``, ``tolerance``, the stabilization windows and
``sync_phase_s`` (the candidate grids of ``autoscaler_simulation`` differ only there);
other differences, and the "cpu_utilization" metric, are replayed by ``simulate_hpa``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Any, Unpack

from benchctl.analysis.hpa import simulate_hpa
from benchctl.analysis.hpa_lanes import simulate_lanes
from benchctl.analysis.scaling_model import (
    FloatArray,
    ReplicaModel,
    SimResult,
    Traffic,
    on_grid,
    steps_of,
)
from benchctl.analysis.scaling_policies import HpaPolicy
from benchctl.analysis.scaling_steps import SimArgs, SimSettings

LANE_STEPS = 3_000_000  # lanes x steps per batch: 5 arrays of this many floats (120 MB)


def simulate_hpa_many(
    traffic: Traffic,
    model: ReplicaModel,
    policies: Sequence[HpaPolicy],
    *,
    floor: FloatArray | None = None,
    **options: Unpack[SimArgs],
) -> list[SimResult]:
    """``[simulate_hpa(traffic, model, p, floor=floor, **options) for p in policies]``,
    with the policies that can share lanes stepped together (see the module docstring).

    ``options``: ``dt``, ``price_per_hour``, ``initial_replicas`` (`SimSettings`); raises
    what ``simulate_hpa`` raises (InputError for a bad trace or dt)."""
    results: dict[int, SimResult] = dict(_each(traffic, model, policies, floor, options))
    return [results[i] for i in range(len(policies))]


def _each(
    traffic: Traffic,
    model: ReplicaModel,
    policies: Sequence[HpaPolicy],
    floor: FloatArray | None,
    options: SimArgs,
) -> Iterator[tuple[int, SimResult]]:
    """(index, result) of every policy, group by group, in index order within a group; the
    lanes of a group in chunks of at most ``LANE_STEPS`` lanes x steps."""
    settings = SimSettings(**options)
    n = on_grid(traffic, settings.dt).t.size
    per_chunk = max(1, LANE_STEPS // max(n, 1))
    for indices in _groups(policies):
        if policies[indices[0]].metric != "rps_per_replica" or len(indices) == 1:
            for i in indices:
                yield i, simulate_hpa(traffic, model, policies[i], floor=floor, **options)
            continue
        for at in range(0, len(indices), per_chunk):
            chunk = indices[at : at + per_chunk]
            lanes = [policies[i] for i in chunk]
            results = simulate_lanes(traffic, model, lanes, floor, options)
            yield from zip(chunk, results, strict=True)


def worst_phases(
    traffic: Traffic,
    model: ReplicaModel,
    policies: Sequence[HpaPolicy],
    *,
    phases: int,
    floor: FloatArray | None = None,
    **options: Unpack[SimArgs],
) -> list[SimResult]:
    """For each policy, ``autoscaler_simulation.simulate_worst_phase`` with ``phases`` > 1:
    the worst of its evenly spaced sync phases (most SLO-violation seconds, then most late
    requests, then most replica-seconds; the first of equals), with every phase's
    violation seconds in ``phase_violations_s``. All phases of all policies are lanes of
    one batch; only each policy's worst result is kept."""
    dt = SimSettings(**options).dt
    expanded: list[HpaPolicy] = []
    owner: list[int] = []  # the policy of each expanded lane
    for j, policy in enumerate(policies):
        steps = steps_of(policy.sync_period_s, dt)
        offsets = sorted({round(k * steps / phases) for k in range(phases)})
        expanded.extend(replace(policy, sync_phase_s=o * dt) for o in offsets)
        owner.extend([j] * len(offsets))
    worst: dict[int, SimResult] = {}
    seen: dict[int, list[float]] = {j: [] for j in range(len(policies))}
    for i, result in _each(traffic, model, expanded, floor, options):
        j = owner[i]  # a policy's phases share a group and come in order
        seen[j].append(result.slo_violation_seconds)
        if j not in worst or _rank(result) > _rank(worst[j]):
            worst[j] = result
    return [replace(worst[j], phase_violations_s=tuple(seen[j])) for j in range(len(policies))]


def _rank(result: SimResult) -> tuple[float, float, float]:
    """What makes a sync phase worse: violation seconds, late requests, replica-seconds."""
    return (result.slo_violation_seconds, result.late_or_dropped_requests, result.replica_seconds)


_LANE_FIELDS = (
    "min_replicas",
    "max_replicas",
    "target",
    "tolerance",
    "scale_up_stabilization_s",
    "scale_down_stabilization_s",
    "sync_phase_s",
)


def _groups(policies: Sequence[HpaPolicy]) -> list[list[int]]:
    """Indices of the policies that differ only in the per-lane fields, in first-seen order."""
    groups: dict[tuple[Any, ...], list[int]] = {}
    for i, policy in enumerate(policies):
        groups.setdefault(_key(policy), []).append(i)
    return list(groups.values())


def _key(policy: HpaPolicy) -> tuple[Any, ...]:
    return tuple(
        getattr(policy, name) for name in HpaPolicy.__dataclass_fields__ if name not in _LANE_FIELDS
    )
