"""Scenario specs: the pydantic model of each scenario kind (open-loop arrivals, closed-loop
sweep, capacity search, replay, batch) and the discriminated union over ``kind``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, TypeAdapter, model_validator

from benchctl.errors import InputError
from benchctl.specs.values import (
    MAX_CONCURRENCY,
    MAX_REPEATS,
    PositiveRate,
    PositiveSeconds,
    Rate,
    Seconds,
    Spec,
)


class _ScenarioBase(Spec):
    description: str = ""
    warmup: Seconds = 0.0
    max_in_flight: int = Field(
        256, ge=1, le=MAX_CONCURRENCY, description="cap on requests in flight per process"
    )


def _check_slo(text: str | None) -> None:
    """ValueError (for pydantic) when ``text`` is not a latency objective."""
    if text is None:
        return
    from benchctl.analysis.slo import parse_slo

    try:
        parse_slo(text)
    except InputError as exc:
        raise ValueError(str(exc).removeprefix("--slo ")) from None


class _ArrivalScenario(_ScenarioBase):
    """Open loop: requests are scheduled at intended times, latency counts from them."""

    arrivals: Literal["poisson", "constant"] = "poisson"
    seed: int = Field(1, ge=0, lt=2**63)
    drop_after: PositiveSeconds = Field(
        1.0, description="a request not sent this long after its intended time is dropped"
    )
    slo: str | None = Field(
        None,
        description="latency objective such as 'p99<=100ms': the run first finds one "
        "replica's capacity under it (capacity search), then plays this traffic",
    )
    users: int | None = Field(
        None,
        ge=1,
        le=10_000_000,
        description="with --split: simulated users, each pinned to one arm by a hash of its "
        "id (--users overrides); ignored without --split",
    )

    @model_validator(mode="after")
    def _slo_parses(self) -> _ArrivalScenario:
        _check_slo(self.slo)
        return self


class SteadyScenario(_ArrivalScenario):
    """Open-loop arrivals at a constant ``rate`` (requests/s) for ``duration`` seconds.
    Validation errors (pydantic) name the field and its allowed range.
    """

    kind: Literal["steady"]
    rate: PositiveRate
    duration: PositiveSeconds


class SoakScenario(_ArrivalScenario):
    """A long steady run: ``rate`` (requests/s) held for ``duration`` seconds (default 3600 s), to
    find leaks and drift. Validation errors name the field and its allowed range.
    """

    kind: Literal["soak"]
    rate: PositiveRate
    duration: PositiveSeconds = 3600.0


class RampScenario(_ArrivalScenario):
    """Open-loop arrivals whose rate goes linearly from ``start_rate`` to ``end_rate`` (requests/s)
    over ``ramp_time`` seconds, then holds ``end_rate`` for ``hold`` seconds. Validation errors name
    the field and its allowed range.
    """

    kind: Literal["ramp"]
    start_rate: Rate
    end_rate: Rate
    ramp_time: Seconds
    hold: Seconds = 0.0

    @model_validator(mode="after")
    def _sends_something(self) -> RampScenario:
        if self.start_rate == 0 and self.end_rate == 0:
            raise ValueError("start_rate and end_rate are both 0: give a rate > 0 req/s")
        if self.ramp_time + self.hold <= 0:
            raise ValueError("ramp_time + hold is 0: give a duration > 0 (e.g. 60s)")
        return self


class StepScenario(_ArrivalScenario):
    """Open-loop arrivals at each of ``rates`` (requests/s, 1..MAX_REPEATS steps) in turn, each for
    ``step_duration`` seconds. Validation errors name the field and its allowed range.
    """

    kind: Literal["step"]
    rates: list[Rate] = Field(min_length=1, max_length=MAX_REPEATS)
    step_duration: PositiveSeconds

    @model_validator(mode="after")
    def _sends_something(self) -> StepScenario:
        if not any(self.rates):
            raise ValueError("every one of rates is 0: give at least one rate > 0 req/s")
        return self


class SpikeScenario(_ArrivalScenario):
    """A baseline rate with a burst every ``period`` (everyone arrives at once)."""

    kind: Literal["spike"]
    base_rate: PositiveRate
    burst_multiplier: float = Field(gt=1, le=1000)
    period: PositiveSeconds = 600.0
    burst_at: Seconds | None = Field(None, description="burst start within each period")
    burst_length: PositiveSeconds = 60.0
    rise_time: Seconds = 10.0
    fall_time: Seconds | None = None
    periods: int = Field(3, ge=1, le=MAX_REPEATS)

    @model_validator(mode="after")
    def _burst_fits_in_period(self) -> SpikeScenario:
        """burst_at (default: half the period) + rise_time + burst_length + fall_time
        (default: rise_time) <= period; ValueError giving each value and the sum, e.g.
        ``20m + 10s + 1m + 10s = 21m20s > period 10m``."""
        start = self.period / 2 if self.burst_at is None else self.burst_at
        fall = self.rise_time if self.fall_time is None else self.fall_time
        parts = (start, self.rise_time, self.burst_length, fall)
        if sum(parts) > self.period:
            terms = " + ".join(_seconds(v) for v in parts)
            raise ValueError(
                "burst_at + rise_time + burst_length + fall_time must fit within period: "
                f"{terms} = {_seconds(sum(parts))} > period {_seconds(self.period)}"
                + (" (burst_at: half the period)" if self.burst_at is None else "")
            )
        return self


def _seconds(value: float) -> str:
    """``value`` seconds as the scenario files write them (``21m20s``), or ``12.5s`` where
    whole seconds would round it."""
    from benchctl.durations import format_duration

    return format_duration(value) if value < 1 or value == round(value) else f"{value:g}s"


class SweepScenario(_ScenarioBase):
    """Closed loop: ``N`` requests in flight, for each N in ``levels``."""

    kind: Literal["sweep"]
    levels: list[Annotated[int, Field(ge=1, le=MAX_CONCURRENCY)]] | None = Field(
        None, max_length=1000
    )
    max_concurrency: int | None = Field(
        None, ge=1, le=MAX_CONCURRENCY, description="levels 1, 2, 4, ... up to this"
    )
    hold: PositiveSeconds = 30.0

    @model_validator(mode="after")
    def _has_levels(self) -> SweepScenario:
        if not self.levels and not self.max_concurrency:
            raise ValueError("give levels: [1, 2, 4, ...] or max_concurrency: N")
        return self

    def concurrency_levels(self) -> list[int]:
        """Requests in flight per level: ``levels`` as given, else 1, 2, 4, ... below
        ``max_concurrency`` and then ``max_concurrency`` itself."""
        if self.levels:
            return list(self.levels)
        levels, n = [], 1
        while n < (self.max_concurrency or 1):
            levels.append(n)
            n *= 2
        return [*levels, self.max_concurrency or 1]


class CapacityScenario(_ArrivalScenario):
    """Capacity search: open-loop levels that climb (doubling from ``start_rate``) until the
    SLO percentile, the error rate or achieved-vs-offered breaks, then bisect between the
    last good and the first bad level to ``resolution``. Each level is held until
    ``stable_windows`` consecutive windows agree (throughput within ``tolerance``, the
    percentile within ``latency_tolerance``) with enough samples, at most ``max_hold``."""

    kind: Literal["capacity"]
    start_rate: Rate = Field(10.0, gt=0, description="first level (req/s)")
    max_rate: Rate = Field(5000.0, gt=0, description="never offer more than this (req/s)")
    resolution: float = Field(0.05, gt=0, lt=1, description="stop when bad/good - 1 <= this")
    window: PositiveSeconds = Field(2.0, description="stability window (longer at low rates)")
    window_samples: int = Field(40, ge=1, description="expected requests per window, at least")
    stable_windows: int = Field(3, ge=2, le=20, description="consecutive windows that agree")
    tolerance: float = Field(0.1, gt=0, lt=1, description="throughput agreement, relative")
    latency_tolerance: float = Field(0.25, gt=0, description="percentile agreement, relative")
    settle: Seconds = Field(1.0, description="discarded at the start of every level")
    max_hold: PositiveSeconds = Field(30.0, description="longest time one level is held")
    max_duration: PositiveSeconds = Field(300.0, description="the whole search, at most")
    cooldown: Seconds = Field(2.0, description="pause after a level that broke the SLO")
    max_error_rate: float = Field(0.01, ge=0, lt=1, description="errors + dropped, at most")

    @model_validator(mode="after")
    def _start_within_max(self) -> CapacityScenario:
        """start_rate <= max_rate (the search never offers more than max_rate, so a higher
        first level would be silently cut to it); ValueError naming both."""
        if self.start_rate > self.max_rate:
            raise ValueError(
                f"start_rate {self.start_rate:g} is above max_rate {self.max_rate:g}: the "
                "search starts at start_rate and never offers more than max_rate"
            )
        return self


class ReplayScenario(_ArrivalScenario):
    """Replay a CSV trace: a column ``time`` of arrival times (seconds), or ``second,rate``."""

    kind: Literal["replay"]
    trace: Path
    loop: int = Field(1, ge=1, le=MAX_REPEATS, description="replay the trace this many times")
    time_unit: Literal["auto", "s", "ms", "us", "ns"] = Field(
        "auto", description="unit of numeric 'time' cells; auto: chosen by size, and said"
    )


class BatchScenario(_ScenarioBase):
    """Offline (batch) scoring: a finite set of ``inputs`` rows sent as fast as the server
    allows, ``concurrency`` requests in flight, ``batch_size`` rows a request; every pair of
    ``batch_sizes`` x ``concurrency`` is one run, and the sweep names the best setting."""

    kind: Literal["batch"]
    inputs: int = Field(1000, ge=1, le=10_000_000, description="rows in the set")
    batch_sizes: list[Annotated[int, Field(ge=1, le=65536)]] = Field(
        [1], min_length=1, max_length=32
    )
    concurrency: list[Annotated[int, Field(ge=1, le=MAX_CONCURRENCY)]] = Field(
        [1], min_length=1, max_length=32
    )
    max_duration: PositiveSeconds = Field(300.0, description="one setting, at most")
    price_per_hour: float | None = Field(
        None, gt=0, description="server price per hour, for the cost per million inferences"
    )

    def settings(self) -> list[tuple[int, int]]:
        """(batch size, concurrency) pairs in sweep order."""
        return [(b, c) for b in self.batch_sizes for c in self.concurrency]

    def requests_for(self, batch_size: int) -> int:
        """Requests that carry the set: ceil(inputs / batch_size) (the last one full)."""
        return -(-self.inputs // batch_size)


Scenario = Annotated[
    SteadyScenario
    | SoakScenario
    | RampScenario
    | StepScenario
    | SpikeScenario
    | SweepScenario
    | ReplayScenario
    | CapacityScenario
    | BatchScenario,
    Field(discriminator="kind"),
]
ArrivalScenario = (
    SteadyScenario | SoakScenario | RampScenario | StepScenario | SpikeScenario | ReplayScenario
)
SCENARIO_KINDS = (
    "steady", "ramp", "step", "spike", "soak", "sweep", "replay", "capacity", "batch"
)  # fmt: skip
SCENARIO_ADAPTER: TypeAdapter[Any] = TypeAdapter(Scenario)
