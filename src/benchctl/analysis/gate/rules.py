"""The gate's rules file (YAML, see ``examples/gate.yaml``) as pydantic models, and the
result records a gate run produces (one RuleResult per rule, one GateResult per run)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from benchctl.analysis.changepoints import METRICS as HISTORY_METRICS
from benchctl.config import Seconds, load_yaml_model

OVERALL = "overall"
LATENCY = {"p50_ms": 50.0, "p90_ms": 90.0, "p95_ms": 95.0, "p99_ms": 99.0, "p99.9_ms": 99.9}
RATES = ("error_rate", "drop_rate")
# not a rule's metric: what a throughput rule is decided on when the sides were offered
# different rates by design (successes / requests scheduled to the side; see gate/offered.py)
SERVED = "served_fraction"
Metric = Literal[
    "p50_ms",
    "p90_ms",
    "p95_ms",
    "p99_ms",
    "p99.9_ms",
    "throughput_rps",
    "error_rate",
    "drop_rate",
    "generator_saturated",
    "status",
]
CHANGE_POINT = "no_change_point_in_last"
BOUNDS = ("max", "min", "max_increase", "max_decrease", "equals", CHANGE_POINT)
RUNS, WINDOWS = "runs", "windows"  # the interval's unit


def _fraction(value: Any) -> Any:
    """``10%`` -> 0.10; a plain number is a fraction (0.1) and must be below 1."""
    if isinstance(value, str) and value.strip().endswith("%"):
        try:
            return float(value.strip()[:-1]) / 100.0
        except ValueError:
            raise ValueError(f"{value!r} is not a percentage like 10%") from None
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= 1:
        raise ValueError(f"{value} is ambiguous: write a percentage (e.g. 10%) or a fraction (0.1)")
    return value


Fraction = Annotated[float, BeforeValidator(_fraction), Field(ge=0)]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


_ALLOWED = {
    **dict.fromkeys(LATENCY, ("max", "max_increase")),
    "throughput_rps": ("min", "max_decrease"),
    **dict.fromkeys(RATES, ("max", "max_increase")),
    "generator_saturated": ("equals",),
    "status": ("equals",),
}
for _metric in HISTORY_METRICS:  # metrics that summary.json and benchctl history carry
    _ALLOWED[_metric] = (*_ALLOWED[_metric], CHANGE_POINT)


class Rule(_Spec):
    """One check on the candidate: exactly one bound, absolute or relative to the baseline."""

    metric: Metric
    max: float | None = Field(None, ge=0, description="absolute upper bound")
    min: float | None = Field(None, ge=0, description="absolute lower bound")
    max_increase: Fraction | None = None
    max_decrease: Fraction | None = None
    equals: bool | str | None = None
    no_change_point_in_last: int | None = Field(
        None, ge=1, description="fail on a shift for the worse among the last K runs"
    )
    phase: str | None = Field(None, description="default: the file's phase")
    min_samples: int | None = Field(None, ge=1, description="default: the file's min_samples")
    name: str | None = None

    @model_validator(mode="after")
    def _one_bound(self) -> Rule:
        given = [b for b in BOUNDS if getattr(self, b) is not None]
        allowed = _ALLOWED[self.metric]
        if len(given) != 1 or given[0] not in allowed:
            got = f"got {', '.join(given)}" if given else "got none"
            raise ValueError(f"{self.metric} takes exactly one of: {', '.join(allowed)} ({got})")
        if self.metric == "generator_saturated" and not isinstance(self.equals, bool):
            raise ValueError("generator_saturated: equals must be true or false")
        if self.metric == "status" and self.equals not in ("completed", "interrupted", "failed"):
            raise ValueError("status: equals must be one of completed, interrupted, failed")
        if self.max_decrease is not None and self.max_decrease >= 1:
            raise ValueError("max_decrease must be below 100%")
        return self

    @model_validator(mode="after")
    def _change_point_overall(self) -> Rule:
        if self.no_change_point_in_last is not None and self.phase not in (None, OVERALL):
            raise ValueError(
                f"{CHANGE_POINT} uses each run's overall numbers (summary.json): "
                "phase must be overall or left out"
            )
        return self

    @property
    def bound(self) -> str:
        """The name of the one bound this rule sets (one of BOUNDS, e.g. ``"max_increase"``).

        The validator guarantees exactly one is set, so this never raises StopIteration on a
        validated Rule.
        """
        return next(b for b in BOUNDS if getattr(self, b) is not None)

    @property
    def relative(self) -> bool:
        """True when the bound is relative to the baseline (``max_increase``/``max_decrease``, a
        fraction such as 0.1 = 10%), False for an absolute bound in the metric's own unit.
        """
        return self.bound in ("max_increase", "max_decrease")


class BaselineSpec(_Spec):
    """The rules file's ``baseline``: how many of a folder's newest usable runs are pooled."""

    last: int = Field(5, ge=1, description="pool the last K completed runs of a folder")


class StatisticsSpec(_Spec):
    """The rules file's ``statistics``: confidence level, bootstrap resamples and seed, the
    most latencies resampled per side, the window width (s), and the interval's unit."""

    confidence: float = Field(0.95, gt=0.5, lt=1.0)
    resamples: int = Field(2000, ge=100, le=100_000)
    seed: int = 0
    max_latencies: int = Field(200_000, ge=1000)
    window: Seconds = Field(5.0, gt=0)
    unit: Literal["auto", "windows"] = Field(
        "auto", description="auto: runs as the unit when there are >= 3 runs in all"
    )


class HistorySpec(_Spec):
    """Change points over the baseline folder's history (rules ``no_change_point_in_last``)."""

    runs: int = Field(60, ge=4, description="the newest N usable runs of the folder")
    max_pvalue: float = Field(0.001, gt=0, lt=1, description="significance (Otava's default)")
    min_change: Fraction = Field(0.0, description="ignore smaller shifts (fraction, or pp)")


class GateRules(_Spec):
    """A whole rules file (``examples/gate.yaml``): defaults for every rule, then the rules."""

    phase: str = OVERALL
    min_samples: int = Field(1000, ge=1)
    strict: bool = False
    baseline: BaselineSpec = BaselineSpec()
    statistics: StatisticsSpec = StatisticsSpec()
    history: HistorySpec = HistorySpec()
    rules: list[Rule] = Field(min_length=1)


def load_rules(path: Path) -> GateRules:
    """The rules file; InputError ``file:line: field ...`` (exit 2) when malformed."""
    return load_yaml_model(Path(path), GateRules)


@dataclass(frozen=True)
class RuleResult:
    """The outcome of one rule; ``change`` and its interval are ratios minus 1 ("ratio") or
    differences of fractions ("difference")."""

    name: str
    metric: str
    bound: str
    limit: float | bool | str
    phase: str
    relative: bool
    verdict: str
    message: str
    baseline: float | bool | str | None = None
    candidate: float | bool | str | None = None
    change: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    change_kind: str | None = None
    baseline_samples: int | None = None
    candidate_samples: int | None = None
    method: str | None = None  # "runs" (t on per-run values) or "windows" (block bootstrap)
    runs_baseline: int | None = None  # how many runs each side's interval rests on
    runs_candidate: int | None = None
    run_sd: float | None = None  # run-to-run standard deviation (log scale for ratios)
    within_low: float | None = None  # the within-run block-bootstrap interval
    within_high: float | None = None
    exact_low: float | None = None  # fewer than min_samples: the exact small-sample interval
    exact_high: float | None = None
    baseline_offered: float | None = None  # throughput judged vs offered: req/s offered
    candidate_offered: float | None = None
    offered_basis: str | None = None  # why throughput was judged against the offered rate
    pvalue: float | None = None  # change points: the shift's p-value
    change_point_run: str | None = None  # change points: first run after the shift
    change_point_label: str | None = None  # its commit/label, else its start time
    doubt: str | None = None  # a fail not established: "busy host" (gate/doubts.py)


@dataclass(frozen=True)
class GateResult:
    """The outcome of ``gate``: passed (no rule failed), the runs compared, every rule's
    result, warnings, and the statistical settings used."""

    passed: bool
    candidate: str
    candidate_path: str
    scenario: str
    target: str
    baseline_runs: tuple[str, ...]
    rules_file: str
    rules: tuple[RuleResult, ...]
    warnings: tuple[str, ...] = ()
    settings: dict[str, Any] = field(default_factory=dict)
    candidate_runs: tuple[str, ...] = ()

    def count(self, verdict: str) -> int:
        """How many rules ended with ``verdict`` (e.g. ``"fail"``); 0 for a verdict none has."""
        return sum(r.verdict == verdict for r in self.rules)
