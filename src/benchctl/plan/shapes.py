"""Scenario math: rate-vs-time profiles, arrival schedules and phases. Pure numpy, no Locust.

Every arrival-rate scenario becomes a piecewise-linear rate profile ``r(t)``. Arrival times
come from inverting the cumulative intensity ``Λ(t) = ∫ r``: constant gaps put arrival
``k`` at ``Λ⁻¹(k - ½)``; Poisson arrivals put it at ``Λ⁻¹(E₁ + … + E_k)`` with unit
exponentials (the time-change theorem), which is exact for any profile and seeded.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from benchctl.config import (
    BatchScenario,
    CapacityScenario,
    RampScenario,
    ReplayScenario,
    SoakScenario,
    SpikeScenario,
    SteadyScenario,
    StepScenario,
    SweepScenario,
)
from benchctl.errors import InputError
from benchctl.plan.traces import read_trace as read_trace_file
from benchctl.plan.traces import replay_duration
from benchctl.rundir.requests import WARMUP


@dataclass(frozen=True)
class Phase:
    """A named stretch of a run: ``[start, end)`` seconds since the run's start."""

    name: str
    start: float
    end: float


@dataclass(frozen=True)
class RateProfile:
    """Rate (req/s) linear between breakpoints; equal times in a row make a jump."""

    times: np.ndarray
    rates: np.ndarray

    @property
    def duration(self) -> float:
        """Seconds from the first point to the last."""
        return float(self.times[-1])

    def rate_at(self, t: np.ndarray | float) -> np.ndarray:
        """Rate at ``t`` (right-continuous at jumps)."""
        t = np.asarray(t, dtype=float)
        index = np.clip(np.searchsorted(self.times, t, side="right") - 1, 0, len(self.times) - 2)
        t0, t1 = self.times[index], self.times[index + 1]
        r0, r1 = self.rates[index], self.rates[index + 1]
        width = np.where(t1 > t0, t1 - t0, 1.0)
        rate = r0 + (r1 - r0) * np.clip((t - t0) / width, 0.0, 1.0)
        return np.where((t < 0) | (t >= self.duration), 0.0, rate)

    def cumulative(self, t: np.ndarray | float) -> np.ndarray:
        """Expected arrivals in ``[0, t)``: ``Λ(t)``."""
        t = np.clip(np.asarray(t, dtype=float), 0.0, self.duration)
        starts = self._segment_mass_before()
        index = np.clip(np.searchsorted(self.times, t, side="right") - 1, 0, len(self.times) - 2)
        t0, t1 = self.times[index], self.times[index + 1]
        r0, r1 = self.rates[index], self.rates[index + 1]
        dt = np.clip(t - t0, 0.0, None)
        slope = np.where(t1 > t0, (r1 - r0) / np.where(t1 > t0, t1 - t0, 1.0), 0.0)
        return starts[index] + r0 * dt + 0.5 * slope * dt * dt

    @property
    def expected_total(self) -> float:
        """Expected arrivals over the whole profile, ``Λ(end)`` (requests)."""
        return float(self._segment_mass_before()[-1])

    def inverse_cumulative(self, u: np.ndarray) -> np.ndarray:
        """Times ``t`` with ``Λ(t) = u``, for ``0 <= u <= Λ(end)``."""
        masses = self._segment_mass_before()
        index = np.searchsorted(masses, u, side="right") - 1
        index = np.clip(index, 0, len(self.times) - 2)
        # Zero-mass segments (rate 0 or jumps) never hold an arrival: move past them.
        t0, t1 = self.times[index], self.times[index + 1]
        r0, r1 = self.rates[index], self.rates[index + 1]
        remaining = np.clip(u - masses[index], 0.0, None)
        half_slope = np.where(t1 > t0, 0.5 * (r1 - r0) / np.where(t1 > t0, t1 - t0, 1.0), 0.0)
        # Solve half_slope*dt² + r0*dt = remaining in its cancellation-free form.
        root = np.sqrt(np.clip(r0 * r0 + 4.0 * half_slope * remaining, 0.0, None))
        denominator = r0 + root
        dt = np.where(
            denominator > 0, 2.0 * remaining / np.where(denominator > 0, denominator, 1.0), 0.0
        )
        return np.minimum(t0 + dt, t1)

    def _segment_mass_before(self) -> np.ndarray:
        widths = np.diff(self.times)
        masses = 0.5 * (self.rates[:-1] + self.rates[1:]) * widths
        return np.concatenate([[0.0], np.cumsum(masses)])


@dataclass(frozen=True)
class Plan:
    """What a scenario will do, at a given time scale: profile or levels, and phases."""

    kind: str
    duration: float
    phases: tuple[Phase, ...]
    profile: RateProfile | None = None
    levels: tuple[tuple[float, int], ...] = ()  # closed loop: (start second, concurrency)
    arrival_times: np.ndarray | None = None  # exact replay of a trace
    arrivals: str = "poisson"
    seed: int = 1
    notes: tuple[str, ...] = ()  # one-line remarks for the user (e.g. a shortened warm-up)

    @property
    def open_loop(self) -> bool:
        """True for arrival-rate plans (profile or replayed times), False for concurrency."""
        return self.profile is not None or self.arrival_times is not None

    def expected_requests(self) -> float | None:
        """Arrivals expected over the plan (requests); None for a closed-loop plan."""
        if self.arrival_times is not None:
            return float(len(self.arrival_times))
        return self.profile.expected_total if self.profile is not None else None

    def phase_index(self, t: np.ndarray) -> np.ndarray:
        """Index into ``phases`` for each time (seconds since start); last phase past the end."""
        starts = np.array([p.start for p in self.phases])
        return np.clip(np.searchsorted(starts, t, side="right") - 1, 0, len(self.phases) - 1)

    def concurrency_at(self, t: float) -> int:
        """Closed loop: requests to keep in flight ``t`` s after start (0 before any level)."""
        current = 0
        for start, level in self.levels:
            if t >= start:
                current = level
        return current


def plan_scenario(scenario: object, time_scale: float = 1.0) -> Plan:
    """Turn a validated scenario into a Plan; ``time_scale`` stretches durations, not rates."""
    if time_scale <= 0:
        raise InputError(f"--time-scale must be > 0, got {time_scale}")
    s = time_scale
    match scenario:
        case SteadyScenario() | SoakScenario():
            duration = scenario.duration * s
            profile = _profile([(0, scenario.rate), (duration, scenario.rate)])
            phases = [Phase(scenario.kind, 0, duration)]
        case RampScenario():
            ramp, hold = scenario.ramp_time * s, scenario.hold * s
            points = [(0, scenario.start_rate), (ramp, scenario.end_rate)]
            profile = _profile([*points, (ramp + hold, scenario.end_rate)] if hold else points)
            phases = [Phase("ramp", 0, ramp)] + ([Phase("hold", ramp, ramp + hold)] if hold else [])
        case StepScenario():
            width = scenario.step_duration * s
            points, phases = [], []
            for i, rate in enumerate(scenario.rates):
                points += [(i * width, rate), ((i + 1) * width, rate)]
                phases.append(Phase(f"step{i + 1}@{rate:g}rps", i * width, (i + 1) * width))
            profile = _profile(points)
        case SpikeScenario():
            profile, phases = _spike(scenario, s)
        case ReplayScenario():
            return _replay_plan(scenario, s)
        case CapacityScenario():
            # Levels are decided while the search runs (benchctl.search); this plan only
            # bounds it: the start rate over the longest the search may take.
            duration = scenario.max_duration
            profile = _profile([(0, scenario.start_rate), (duration, scenario.start_rate)])
            phases = [Phase("capacity search (levels decided as it runs)", 0, duration)]
        case BatchScenario():
            # one setting (the first pair): closed loop at its concurrency until the finite
            # set is sent (the driver stops when the set is exhausted), max_duration at most;
            # benchctl.batch runs one of these per pair of a sweep
            size, concurrency = scenario.settings()[0]
            bound = scenario.max_duration * s
            plan = Plan("batch", bound, (), levels=((0.0, concurrency),))
            return _with_warmup(plan, [Phase(f"b={size} c={concurrency}", 0.0, bound)], 0.0)
        case SweepScenario():
            hold = scenario.hold * s
            levels = tuple((i * hold, n) for i, n in enumerate(scenario.concurrency_levels()))
            phases = [Phase(f"c={n}", start, start + hold) for start, n in levels]
            plan = Plan("sweep", len(levels) * hold, (), levels=levels)
            return _with_warmup(plan, phases, scenario.warmup * s)
        case _:
            raise InputError(f"unknown scenario type {type(scenario).__name__}")
    plan = Plan(
        scenario.kind,
        profile.duration,
        (),
        profile=profile,
        arrivals=scenario.arrivals,
        seed=scenario.seed,
    )
    return _with_warmup(plan, phases, scenario.warmup * s)


def iter_arrivals(
    plan: Plan, *, share: tuple[int, int] = (0, 1), chunk: int = 65536
) -> Iterator[np.ndarray]:
    """Intended send times (seconds since start), in chunks, ascending.

    ``share=(i, n)`` keeps every n-th arrival starting at i, so n drivers together send
    exactly the one seeded schedule.
    """
    index, count = share
    if plan.arrival_times is not None:
        yield plan.arrival_times[index::count]
        return
    if plan.profile is None:
        return
    total = plan.profile.expected_total
    rng = np.random.default_rng(plan.seed)
    position, k = 0.0, 0  # cumulative intensity reached, arrivals generated
    while True:
        if plan.arrivals == "constant":
            u = np.arange(k, k + chunk) + 0.5
        else:
            u = position + np.cumsum(rng.exponential(1.0, chunk))
            position = float(u[-1])
        kept = u[u <= total]
        mine = np.arange(k, k + len(kept))
        times = plan.profile.inverse_cumulative(kept)
        times = times[(mine % count) == index]
        k += chunk
        if len(times):
            yield times
        if len(kept) < chunk:
            return


def rate_curve(plan: Plan, points: int = 60) -> list[tuple[float, float]]:
    """(bin start, mean rate or concurrency in the bin) pairs for display and dry runs."""
    grid = np.linspace(0, plan.duration, points, endpoint=False)
    if plan.profile is not None:
        edges = np.linspace(0, plan.duration, points + 1)
        means = np.diff(plan.profile.cumulative(edges)) / np.diff(edges)
        return list(zip(grid.tolist(), means.tolist(), strict=True))
    if plan.arrival_times is not None:
        edges = np.linspace(0, plan.duration, points + 1)
        counts, _ = np.histogram(plan.arrival_times, bins=edges)
        width = plan.duration / points if plan.duration else 1.0
        return list(zip(grid.tolist(), (counts / width).tolist(), strict=True))
    return [(float(t), float(plan.concurrency_at(float(t)))) for t in grid]


# --------------------------------------------------------------------------- helpers


def _profile(points: list[tuple[float, float]]) -> RateProfile:
    times = np.array([p[0] for p in points], dtype=float)
    rates = np.array([p[1] for p in points], dtype=float)
    if len(times) < 2 or times[-1] <= 0:
        raise InputError("scenario has zero duration: give a duration > 0")
    return RateProfile(times, rates)


def _spike(scenario: SpikeScenario, s: float) -> tuple[RateProfile, list[Phase]]:
    period = scenario.period * s
    start = (scenario.period / 2 if scenario.burst_at is None else scenario.burst_at) * s
    rise = scenario.rise_time * s
    fall = (scenario.rise_time if scenario.fall_time is None else scenario.fall_time) * s
    length = scenario.burst_length * s
    base, peak = scenario.base_rate, scenario.base_rate * scenario.burst_multiplier
    points: list[tuple[float, float]] = []
    phases: list[Phase] = []
    for p in range(scenario.periods):
        t = p * period
        marks = [t, t + start, t + start + rise, t + start + rise + length]
        marks.append(marks[-1] + fall)
        points += [(marks[0], base), (marks[1], base), (marks[2], peak), (marks[3], peak)]
        points += [(marks[4], base), (t + period, base)]
        phases += [
            Phase("base", marks[0], marks[1]),
            Phase("rise", marks[1], marks[2]),
            Phase("burst", marks[2], marks[3]),
            Phase("fall", marks[3], marks[4]),
            Phase("base", marks[4], t + period),
        ]
    merged: list[Phase] = []
    for phase in (p for p in phases if p.end > p.start):
        if merged and merged[-1].name == phase.name and merged[-1].end == phase.start:
            merged[-1] = Phase(phase.name, merged[-1].start, phase.end)
        else:
            merged.append(phase)
    return _profile(points), merged


def _with_warmup(plan: Plan, phases: list[Phase], warmup: float) -> Plan:
    """Label the first ``warmup`` seconds 'warmup' (excluded from results).

    The warm-up never swallows a level: it is capped at half of the first phase (a step's
    first rate, a sweep's c=1, a short steady run), and the plan then carries a note saying
    so, which the run prints."""
    notes: tuple[str, ...] = ()
    first = phases[0] if phases else None
    if first is not None and warmup > 0 and warmup > (first.end - first.start) / 2:
        cap = (first.end - first.start) / 2
        notes = (
            f"warm-up cut from {warmup:g}s to {cap:g}s: at most half of the first phase "
            f"'{first.name}' (change: --set warmup=...)",
        )
        warmup = cap
    trimmed = [Phase(WARMUP, 0.0, warmup)] if warmup > 0 else []
    for phase in phases:
        if phase.end > warmup:
            trimmed.append(Phase(phase.name, max(phase.start, warmup), phase.end))
    return Plan(
        plan.kind,
        plan.duration,
        tuple(trimmed),
        plan.profile,
        plan.levels,
        plan.arrival_times,
        plan.arrivals,
        plan.seed,
        notes,
    )


def _replay_plan(scenario: ReplayScenario, s: float) -> Plan:
    trace = read_trace_file(scenario.trace, getattr(scenario, "time_unit", "auto"))
    times, rates = trace.times, trace.rates
    if times is not None:
        times = times - times.min()
        duration = replay_duration(times)  # span + median gap; 1 s for a single instant
        if s == 1.0:
            looped = np.concatenate([times + i * duration for i in range(scenario.loop)])
            plan = Plan("replay", duration * scenario.loop, (), arrival_times=np.sort(looped))
            plan = _with_warmup(plan, [Phase("replay", 0, plan.duration)], scenario.warmup)
            return replace(plan, notes=(*plan.notes, *trace.notes))
        # Time-scaled: keep the trace's per-second rates, compress its clock.
        seconds = int(np.ceil(duration))
        rates = np.bincount(times.astype(int), minlength=seconds).astype(float)
    assert rates is not None
    rates = np.tile(rates, scenario.loop)
    width = s
    points = []
    for i, rate in enumerate(rates):
        points += [(i * width, float(rate)), ((i + 1) * width, float(rate))]
    profile = _profile(points)
    plan = Plan(
        "replay",
        profile.duration,
        (),
        profile=profile,
        arrivals=scenario.arrivals,
        seed=scenario.seed,
    )
    plan = _with_warmup(plan, [Phase("replay", 0, profile.duration)], scenario.warmup * s)
    return replace(plan, notes=(*plan.notes, *trace.notes))


def read_trace(path: Path) -> tuple[np.ndarray | None, np.ndarray | None]:
    """A CSV trace as (arrival times in seconds, None) or (None, per-second rates); see
    ``benchctl.plan.traces`` for the forms read and refused."""
    trace = read_trace_file(path)
    return trace.times, trace.rates


def plan_to_json(plan: Plan) -> dict:
    """Plain-JSON form of a Plan, shipped from the master to every worker."""
    return {
        "kind": plan.kind,
        "duration": plan.duration,
        "phases": [[p.name, p.start, p.end] for p in plan.phases],
        "profile": None
        if plan.profile is None
        else [plan.profile.times.tolist(), plan.profile.rates.tolist()],
        "levels": [list(level) for level in plan.levels],
        "arrival_times": None if plan.arrival_times is None else plan.arrival_times.tolist(),
        "arrivals": plan.arrivals,
        "seed": plan.seed,
    }


def plan_from_json(data: dict) -> Plan:
    """The Plan that ``plan_to_json`` wrote (the engine spec's ``plan``). Raises KeyError or
    ValueError for a dict it did not write."""
    profile = data["profile"]
    times = data["arrival_times"]
    return Plan(
        kind=data["kind"],
        duration=float(data["duration"]),
        phases=tuple(Phase(name, start, end) for name, start, end in data["phases"]),
        profile=None
        if profile is None
        else RateProfile(np.array(profile[0]), np.array(profile[1])),
        levels=tuple((float(start), int(level)) for start, level in data["levels"]),
        arrival_times=None if times is None else np.array(times, dtype=float),
        arrivals=data["arrivals"],
        seed=int(data["seed"]),
    )
