"""``benchctl gate``: pass or fail a candidate run against a baseline, for nightly CI.

Rules (a YAML file, see ``examples/gate.yaml``) are absolute (``p99_ms`` at most 250) or
relative to the baseline (``p99_ms`` may rise by at most 10%). The baseline is one run, or
the last K completed runs of the same scenario and target in a folder, pooled.

Statistics, so that machine noise does not fail a build and a real regression does:

- a relative rule is decided on a confidence interval of the change, and fails only when
  the *whole* interval lies beyond the allowed change; otherwise the change is not proven;
- the interval is a block bootstrap over 5 s windows of intended send time (seeded): whole
  windows are resampled, not single requests, because latencies and errors come in bursts
  (a GC pause, a queue building up) and an i.i.d. bootstrap would understate the noise.
  Percentiles use at most ``max_latencies`` latencies per side (a seeded uniform sample,
  which only widens the interval); throughput and error/drop rates use the windows' counts;
- pooling: the K baseline runs' requests are pooled (their windows form one sample), so the
  baseline percentile uses every request and the interval sees the night-to-night spread
  as spread between windows. The median of K percentiles has no usable interval for K < 10.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from benchctl.analysis.summary import read_requests
from benchctl.config import Seconds, load_yaml_model
from benchctl.errors import InputError
from benchctl.load.records import DROPPED
from benchctl.load.shapes import WARMUP
from benchctl.store import COMPLETED, REQUESTS, RUN_JSON, RunDir, list_runs

OVERALL = "overall"
PASS, FAIL, INCONCLUSIVE = "pass", "fail", "inconclusive"
LATENCY = {"p50_ms": 50.0, "p90_ms": 90.0, "p95_ms": 95.0, "p99_ms": 99.0, "p99.9_ms": 99.9}
RATES = ("error_rate", "drop_rate")
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
BOUNDS = ("max", "min", "max_increase", "max_decrease", "equals")
_COLUMNS = ["t_intended", "latency_ms", "ok", "error", "phase"]
_MIN_BLOCKS = 20  # fewer windows than this: shorter windows, so the bootstrap has blocks
_CHUNK = 250  # resamples per matrix product (bounds memory)
_NOT_COMPARED = {"description", "seed"}  # scenario fields that do not change the workload

# --------------------------------------------------------------------------- rules file


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


class Rule(_Spec):
    """One check on the candidate: exactly one bound, absolute or relative to the baseline."""

    metric: Metric
    max: float | None = Field(None, ge=0, description="absolute upper bound")
    min: float | None = Field(None, ge=0, description="absolute lower bound")
    max_increase: Fraction | None = None
    max_decrease: Fraction | None = None
    equals: bool | str | None = None
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

    @property
    def bound(self) -> str:
        return next(b for b in BOUNDS if getattr(self, b) is not None)

    @property
    def relative(self) -> bool:
        return self.bound in ("max_increase", "max_decrease")


class BaselineSpec(_Spec):
    last: int = Field(5, ge=1, description="pool the last K completed runs of a folder")


class StatisticsSpec(_Spec):
    confidence: float = Field(0.95, gt=0.5, lt=1.0)
    resamples: int = Field(2000, ge=100, le=100_000)
    seed: int = 0
    max_latencies: int = Field(200_000, ge=1000)
    window: Seconds = Field(5.0, gt=0)


class GateRules(_Spec):
    phase: str = OVERALL
    min_samples: int = Field(1000, ge=1)
    strict: bool = False
    baseline: BaselineSpec = BaselineSpec()
    statistics: StatisticsSpec = StatisticsSpec()
    rules: list[Rule] = Field(min_length=1)


def load_rules(path: Path) -> GateRules:
    """The rules file; InputError ``file:line: field ...`` (exit 2) when malformed."""
    return load_yaml_model(Path(path), GateRules)


# --------------------------------------------------------------------------- results


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


@dataclass(frozen=True)
class GateResult:
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

    def count(self, verdict: str) -> int:
        return sum(r.verdict == verdict for r in self.rules)


# --------------------------------------------------------------------------- runs


Interval = tuple[float, float]


@dataclass(frozen=True)
class LoadedRun:
    """run.json and the requests of one run directory."""

    path: Path
    info: dict[str, Any]
    frame: pd.DataFrame
    phases: tuple[tuple[str, float, float], ...]

    @property
    def id(self) -> str:
        return str(self.info.get("id") or self.path.name)

    @property
    def status(self) -> str:
        return str(self.info.get("status") or "unknown")

    @property
    def saturated(self) -> bool:
        generator = _dict(self.info.get("generator"))
        return bool(generator.get("saturated") or self.info.get("generator_saturated"))


def run_key(info: dict[str, Any]) -> tuple[str, str]:
    """(scenario name, target name) of a run.json."""
    return str(_dict(info.get("scenario")).get("name")), str(_dict(info.get("target")).get("name"))


def started(info: dict[str, Any], path: Path) -> str:
    """Sort key: the engine's start time (ISO), else the run id (which starts with it)."""
    return str(_dict(info.get("engine")).get("started_at") or info.get("id") or path.name)


def run_differences(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    """Why two runs' numbers are not comparable (empty list: they are): scenario name or
    spec, payload, host, time scale. Targets may differ: that is what one compares."""
    scenario_a, scenario_b = _dict(a.get("scenario")), _dict(b.get("scenario"))
    pairs = [
        ("scenario", scenario_a.get("name"), scenario_b.get("name")),
        ("time_scale", scenario_a.get("time_scale", 1.0), scenario_b.get("time_scale", 1.0)),
    ]
    if pairs[0][1] == pairs[0][2]:  # a different scenario differs in every field: say it once
        pairs += _field_pairs("scenario", scenario_a.get("spec"), scenario_b.get("spec"))
    payloads = [_dict(_dict(x.get("target")).get("spec")).get("payload") for x in (a, b)]
    pairs += _field_pairs("payload", *payloads)
    pairs += _field_pairs("host", a.get("host"), b.get("host"), ("hostname", "cpu_model", "cpus"))
    return [f"{name}: {x!r} vs {y!r}" for name, x, y in pairs if x != y]


def _field_pairs(
    prefix: str, a: Any, b: Any, keys: Sequence[str] | None = None
) -> list[tuple[str, Any, Any]]:
    a, b = _dict(a), _dict(b)
    names = keys if keys is not None else sorted((set(a) | set(b)) - _NOT_COMPARED)
    return [(f"{prefix}.{key}", a.get(key), b.get(key)) for key in names]


def load_run(path: Path) -> LoadedRun:
    """A run directory; InputError (exit 2) if it is not one or cannot be read."""
    run_dir = RunDir.open(path)
    info = run_dir.read_json(RUN_JSON)
    if not isinstance(info, dict):
        raise InputError(f"{run_dir.file(RUN_JSON)}: not a run description (expected an object)")
    requests = run_dir.file(REQUESTS)
    if requests.is_file():
        try:
            frame = read_requests(requests, _COLUMNS)
        except (OSError, ValueError, KeyError, pa.ArrowException) as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise InputError(f"{requests}: unreadable: {first}") from None
    else:
        frame = pd.DataFrame({c: pd.Series(dtype=object) for c in _COLUMNS})
    phases = tuple(
        (str(p["name"]), float(p["start"]), float(p["end"]))
        for p in _dict(info.get("plan")).get("phases") or []
        if isinstance(p, dict) and {"name", "start", "end"} <= set(p)
    )
    return LoadedRun(Path(path), info, frame, phases)


def select_baseline(
    path: Path, candidate: LoadedRun, last: int
) -> tuple[list[LoadedRun], list[str]]:
    """One run directory, or the last ``last`` usable runs of the candidate's scenario and
    target in a folder (oldest first), with notes on the runs passed over."""
    path = Path(path)
    if (path / RUN_JSON).is_file():
        run = load_run(path)
        notes = [] if run.status == COMPLETED else [f"baseline {run.id} is {run.status}"]
        return [run], notes
    if not path.is_dir():
        raise InputError(f"--baseline {path}: not a run directory nor a folder of runs")
    key = run_key(candidate.info)
    same = [
        (run_dir, info)
        for run_dir, info in list_runs(path)
        if run_key(info) == key and run_dir.path.resolve() != candidate.path.resolve()
    ]
    passed_over, usable = [], []
    for run_dir, info in sorted(same, key=lambda item: started(item[1], item[0].path)):
        reason = _unusable(run_dir, info)
        if reason:
            passed_over.append((started(info, run_dir.path), f"{run_dir.name} ({reason})"))
        else:
            usable.append((started(info, run_dir.path), run_dir.path))
    if not usable:
        raise InputError(
            f"--baseline {path}: no completed runs of scenario {key[0]!r} on target "
            f"{key[1]!r} to compare with"
        )
    chosen = usable[-last:]
    skipped = [text for when, text in passed_over if when >= chosen[0][0]]
    notes = [f"baseline runs passed over: {', '.join(skipped)}"] if skipped else []
    return [load_run(p) for _, p in chosen], notes


def _unusable(run_dir: RunDir, info: dict[str, Any]) -> str:
    """Why a run cannot be part of a baseline ("" when it can)."""
    if info.get("status") != COMPLETED:
        return str(info.get("status") or "no status")
    if _dict(info.get("generator")).get("saturated"):
        return "generator saturated"
    return "" if run_dir.file(REQUESTS).is_file() else f"no {REQUESTS}"


# --------------------------------------------------------------------------- samples


@dataclass(frozen=True)
class Sample:
    """The requests of one phase selection, cut into windows (the bootstrap's blocks)."""

    latency: np.ndarray  # ms, successful requests
    block: np.ndarray  # window index of each latency
    requests: np.ndarray  # per window
    sent: np.ndarray
    ok: np.ndarray
    dropped: np.ndarray
    seconds: np.ndarray  # per window: seconds of the phase it covers

    @property
    def blocks(self) -> int:
        return len(self.seconds)

    def value(self, metric: str) -> float | None:
        """The point estimate, as summary.json computes it."""
        if metric in LATENCY:
            if not len(self.latency):
                return None
            return float(np.percentile(self.latency, LATENCY[metric]))
        totals = {
            "throughput_rps": (self.ok.sum(), self.seconds.sum()),
            "error_rate": (self.sent.sum() - self.ok.sum(), self.sent.sum()),
            "drop_rate": (self.dropped.sum(), self.requests.sum()),
        }
        top, bottom = totals[metric]
        return float(top / bottom) if bottom else None

    def samples(self, metric: str) -> int:
        """How many observations the metric rests on (compared with min_samples)."""
        return len(self.latency) if metric in LATENCY else int(self.requests.sum())


def phase_sample(run: LoadedRun, phase: str, width: float) -> Sample:
    """The run's requests in ``phase`` ("overall": all but warm-up) as a windowed sample."""
    frame = run.frame
    phase_col = frame["phase"]  # categorical: compare values, never convert 1M strings
    mask = (phase_col != WARMUP) if phase == OVERALL else (phase_col == phase)
    chosen = frame[mask.to_numpy()]
    intervals = _intervals(run, phase, chosen)
    total = sum(end - start for start, end in intervals)
    if total > 0 and total / width < _MIN_BLOCKS:
        width = total / _MIN_BLOCKS
    edges = np.arange(0.0, max((end for _, end in intervals), default=0.0) + width, width)
    seconds = _coverage(edges, intervals)
    keep = np.flatnonzero(seconds > 0)
    raw = np.clip((chosen["t_intended"].to_numpy(dtype=float) // width).astype(int), 0, None)
    code = np.searchsorted(keep, raw).clip(0, max(len(keep) - 1, 0))
    ok = chosen["ok"].to_numpy(dtype=bool)
    dropped = (chosen["error"] == DROPPED).to_numpy(dtype=bool)
    count = max(len(keep), 1)

    def per_window(flags: np.ndarray) -> np.ndarray:
        return np.bincount(code[flags], minlength=count).astype(float)

    everything = np.ones(len(chosen), dtype=bool)
    return Sample(
        latency=chosen["latency_ms"].to_numpy(dtype=float)[ok],
        block=code[ok],
        requests=per_window(everything),
        sent=per_window(~dropped),
        ok=per_window(ok),
        dropped=per_window(dropped),
        seconds=seconds[keep] if len(keep) else np.zeros(1),
    )


def pool(samples: Sequence[Sample]) -> Sample:
    """Several runs' samples as one: their windows side by side."""
    offsets = np.cumsum([0, *(s.blocks for s in samples[:-1])])
    return Sample(
        latency=np.concatenate([s.latency for s in samples]),
        block=np.concatenate([s.block + o for s, o in zip(samples, offsets, strict=True)]),
        **{
            name: np.concatenate([getattr(s, name) for s in samples])
            for name in ("requests", "sent", "ok", "dropped", "seconds")
        },
    )


def _intervals(run: LoadedRun, phase: str, chosen: pd.DataFrame) -> list[Interval]:
    """Time intervals of the phase from the plan, cut at the last request if not completed."""
    planned = [
        (start, end)
        for name, start, end in run.phases
        if (name != WARMUP if phase == OVERALL else name == phase)
    ]
    times = chosen["t_intended"].to_numpy(dtype=float)
    if not planned:
        return [(float(times.min()), float(times.max()) + 1e-9)] if len(times) else []
    if run.status != COMPLETED and len(run.frame):
        cut = float(run.frame["t_intended"].max())
        planned = [(s, min(e, cut)) for s, e in planned if s < cut]
    return planned


def _coverage(edges: np.ndarray, intervals: Sequence[Interval]) -> np.ndarray:
    """Seconds of each window [edges[i], edges[i+1]) inside the intervals."""
    lo, hi = edges[:-1], edges[1:]
    covered = np.zeros(len(lo))
    for start, end in intervals:
        covered += np.clip(np.minimum(hi, end) - np.maximum(lo, start), 0.0, None)
    return covered


# --------------------------------------------------------------------------- statistics


def _multiplicities(rng: np.random.Generator, blocks: int, resamples: int) -> np.ndarray:
    """How often each window is drawn, per resample (resamples × blocks)."""
    return rng.multinomial(blocks, np.full(blocks, 1.0 / blocks), size=resamples).astype(np.int32)


def block_quantiles(sample: Sample, q: float, weights: np.ndarray) -> np.ndarray:
    """The q-quantile of each block-bootstrap resample (one per row of ``weights``).

    Exact for the resample (inverted CDF over the weighted, sorted latencies), but only a
    band of ranks around q is summed: the band is widened until every resample's quantile
    falls inside it, so the cost is O(resamples × band), not O(resamples × n).
    """
    order = np.argsort(sample.latency, kind="stable")
    values, blocks = sample.latency[order], sample.block[order]
    n, width = len(values), sample.blocks
    out = np.empty(len(weights))
    for first in range(0, len(weights), _CHUNK):
        w = weights[first : first + _CHUNK]
        target = q * (w @ np.bincount(blocks, minlength=width))
        half = int(10 * math.sqrt(n * q * (1 - q))) + 1000
        while True:
            lo, hi = max(0, int(q * n) - half), min(n, int(q * n) + half)
            below = w @ np.bincount(blocks[:lo], minlength=width)
            upto = below + w @ np.bincount(blocks[lo:hi], minlength=width)
            if ((below < target) | (lo == 0)).all() and ((upto >= target) | (hi == n)).all():
                break
            half *= 2
        running = below[:, None] + np.cumsum(w[:, blocks[lo:hi]], axis=1)
        index = (running < target[:, None]).sum(axis=1)
        out[first : first + len(w)] = values[lo + np.minimum(index, hi - lo - 1)]
    return out


def _replicates(
    sample: Sample, metric: str, settings: StatisticsSpec, rng: np.random.Generator
) -> np.ndarray:
    """The metric over ``settings.resamples`` block-bootstrap resamples of the sample."""
    weights = _multiplicities(rng, sample.blocks, settings.resamples)
    if metric in LATENCY:
        return block_quantiles(sample, LATENCY[metric] / 100, weights)
    top, bottom = {
        "throughput_rps": (sample.ok, sample.seconds),
        "error_rate": (sample.sent - sample.ok, sample.sent),
        "drop_rate": (sample.dropped, sample.requests),
    }[metric]
    with np.errstate(invalid="ignore", divide="ignore"):
        return (weights @ top) / (weights @ bottom)


def change_interval(
    base: Sample, cand: Sample, metric: str, settings: StatisticsSpec, seed: Sequence[int]
) -> tuple[float, float]:
    """Confidence interval of the change: ratio − 1 (latency, throughput) or the difference
    (error and drop rates, as fractions). Percentile method, two-sided.

    Percentiles are resampled from at most ``max_latencies`` latencies per side; the
    interval keeps that sample's width (wider, never narrower) but is centred on the change
    computed from every latency, so it always agrees with the reported point estimate."""
    rng = np.random.default_rng([settings.seed, *seed])
    shift = 0.0
    if metric in LATENCY and max(len(base.latency), len(cand.latency)) > settings.max_latencies:
        full = change_of(base.value(metric), cand.value(metric), metric)
        base, cand = (_subsample(s, settings.max_latencies, rng) for s in (base, cand))
        shift = full - change_of(base.value(metric), cand.value(metric), metric)
    with np.errstate(invalid="ignore", divide="ignore"):
        change = change_of(
            _replicates(base, metric, settings, rng),
            _replicates(cand, metric, settings, rng),
            metric,
        )
    change = change[np.isfinite(change)]
    if not len(change):
        return math.nan, math.nan
    tail = (1 - settings.confidence) / 2 * 100
    low, high = np.percentile(change, [tail, 100 - tail]) + shift
    return float(low), float(high)


def change_of(baseline: Any, candidate: Any, metric: str) -> Any:
    """Candidate against baseline: a difference for error/drop rates, else ratio − 1."""
    return candidate - baseline if metric in RATES else candidate / baseline - 1.0


def _subsample(sample: Sample, limit: int, rng: np.random.Generator) -> Sample:
    """At most ``limit`` latencies, drawn uniformly without replacement (seeded)."""
    if len(sample.latency) <= limit:
        return sample
    chosen = np.sort(rng.choice(len(sample.latency), size=limit, replace=False))
    return replace(sample, latency=sample.latency[chosen], block=sample.block[chosen])


# --------------------------------------------------------------------------- rules


def rule_name(rule: Rule, phase: str) -> str:
    """A short readable name, e.g. ``p99_ms increase <= 10%`` or ``status == completed``."""
    if rule.name:
        return rule.name
    limit = getattr(rule, rule.bound)
    if rule.bound == "equals":
        text = f"{rule.metric} == {str(limit).lower()}"
    elif not rule.relative:
        text = f"{rule.metric} {'<=' if rule.bound == 'max' else '>='} {limit:g}"
    else:
        unit = "pp" if rule.metric in RATES else "%"
        word = "increase" if rule.bound == "max_increase" else "decrease"
        text = f"{rule.metric} {word} <= {limit * 100:g}{unit}"
    return text if phase == OVERALL else f"{text} [{phase}]"


def evaluate(
    rule: Rule,
    index: int,
    spec: GateRules,
    base: Sample,
    cand: Sample,
    candidate: LoadedRun,
) -> RuleResult:
    """One rule's verdict, with the numbers behind it."""
    phase = rule.phase or spec.phase
    common: dict[str, Any] = {
        "name": rule_name(rule, phase),
        "metric": rule.metric,
        "bound": rule.bound,
        "limit": getattr(rule, rule.bound),
        "phase": phase,
        "relative": rule.relative,
    }
    if rule.metric in ("status", "generator_saturated"):
        value = candidate.status if rule.metric == "status" else candidate.saturated
        verdict = PASS if value == rule.equals else FAIL
        message = f"candidate {rule.metric} is {str(value).lower()}"
        return RuleResult(**common, verdict=verdict, message=message, candidate=value)
    numbers = {
        "baseline": base.value(rule.metric),
        "candidate": cand.value(rule.metric),
        "baseline_samples": base.samples(rule.metric),
        "candidate_samples": cand.samples(rule.metric),
    }
    if not rule.relative:
        return RuleResult(**common, **numbers, **_absolute(rule, numbers["candidate"]))
    return RuleResult(**common, **numbers, **_relative(rule, index, spec, base, cand, numbers))


def _absolute(rule: Rule, value: float | None) -> dict[str, Any]:
    if value is None:
        return {"verdict": FAIL, "message": f"candidate has no data for {rule.metric}"}
    limit = rule.max if rule.max is not None else rule.min
    good = value <= limit if rule.max is not None else value >= limit
    side = "at most" if rule.max is not None else "at least"
    return {
        "verdict": PASS if good else FAIL,
        "message": f"candidate {rule.metric} {value:.4g}, must be {side} {limit:g}",
    }


def _relative(
    rule: Rule, index: int, spec: GateRules, base: Sample, cand: Sample, numbers: dict[str, Any]
) -> dict[str, Any]:
    minimum = rule.min_samples or spec.min_samples
    smallest = min(numbers["baseline_samples"], numbers["candidate_samples"])
    inconclusive = FAIL if spec.strict else INCONCLUSIVE
    if smallest < minimum:
        return {
            "verdict": inconclusive,
            "message": f"only {smallest} samples (min_samples {minimum}): not decided",
        }
    b, c = numbers["baseline"], numbers["candidate"]
    if b is None or c is None or (rule.metric not in RATES and b <= 0):
        return {"verdict": inconclusive, "message": "no baseline or candidate value to compare"}
    kind = "difference" if rule.metric in RATES else "ratio"
    change = change_of(b, c, rule.metric)
    low, high = change_interval(base, cand, rule.metric, spec.statistics, (index,))
    if not (math.isfinite(low) and math.isfinite(high)):
        return {"verdict": inconclusive, "message": "the bootstrap gave no finite values"}
    level = f"{spec.statistics.confidence:.0%} CI"
    if rule.max_increase is not None:
        verdict = FAIL if low > rule.max_increase else PASS
        word, limit = "increase", rule.max_increase
    else:
        verdict = FAIL if high < -rule.max_decrease else PASS
        word, limit = "decrease", rule.max_decrease
    unit = " pp" if kind == "difference" else "%"
    described = (
        f"change {_pct(change)}{unit} ({level} {_pct(low)}{unit} to {_pct(high)}{unit}), "
        f"allowed {word} {limit * 100:g}{unit}"
    )
    if verdict == FAIL:
        message = f"regression: {described}; the whole interval is beyond the limit"
    elif (change > limit) if word == "increase" else (change < -limit):
        message = f"not proven: {described}; the interval reaches back within the limit"
    else:
        message = described
    result = {"verdict": verdict, "message": message, "change": change, "change_kind": kind}
    return {**result, "ci_low": low, "ci_high": high}


def _pct(value: float) -> str:
    return f"{value * 100:+.1f}" if math.isfinite(value) else "?"


# --------------------------------------------------------------------------- the command


def gate(*, baseline: Path, candidate: Path, rules: Path, last: int | None = None) -> GateResult:
    """Evaluate ``rules`` on the candidate run against the baseline (a run or a folder)."""
    spec = load_rules(rules)
    if last is not None and last < 1:
        raise InputError(f"--last {last}: must be at least 1")
    cand = load_run(candidate)
    base_runs, notes = select_baseline(baseline, cand, last or spec.baseline.last)
    warnings = [*notes, *_comparability(cand, base_runs)]
    width = spec.statistics.window
    results = []
    cache: dict[str, tuple[Sample, Sample]] = {}
    for index, rule in enumerate(spec.rules):
        phase = rule.phase or spec.phase
        if phase not in cache:
            _check_phase(phase, cand, rules, index, rule)
            samples = [phase_sample(run, phase, width) for run in base_runs]
            cache[phase] = (pool(samples), phase_sample(cand, phase, width))
        results.append(evaluate(rule, index, spec, *cache[phase], cand))
    for result in results:
        if result.verdict == INCONCLUSIVE:
            warnings.append(f"{result.name}: inconclusive ({result.message})")
    scenario, target = run_key(cand.info)
    return GateResult(
        passed=all(r.verdict != FAIL for r in results),
        candidate=cand.id,
        candidate_path=str(cand.path),
        scenario=scenario,
        target=target,
        baseline_runs=tuple(run.id for run in base_runs),
        rules_file=str(rules),
        rules=tuple(results),
        warnings=tuple(warnings),
        settings={
            **spec.statistics.model_dump(),
            "min_samples": spec.min_samples,
            "strict": spec.strict,
            "last": last or spec.baseline.last,
            "bootstrap": "block bootstrap over windows of intended send time, percentile CI",
        },
    )


def _check_phase(phase: str, cand: LoadedRun, rules: Path, index: int, rule: Rule) -> None:
    if phase == OVERALL:
        return
    known = {name for name, _, _ in cand.phases} | {str(p) for p in cand.frame["phase"].unique()}
    if phase not in known:
        raise InputError(
            f"{rules}: rule {index + 1} ({rule.metric}): phase {phase!r} is not in the "
            f"candidate run (phases: {', '.join(sorted(known)) or 'none'}, or overall)"
        )


def _comparability(cand: LoadedRun, base_runs: Sequence[LoadedRun]) -> list[str]:
    found = []
    for run in base_runs:
        differences = run_differences(run.info, cand.info)
        if differences:
            found.append(f"baseline {run.id} differs from the candidate: {'; '.join(differences)}")
    return found


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
