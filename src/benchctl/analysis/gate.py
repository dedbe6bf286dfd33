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
- runs as the unit (``statistics.unit: auto``, the default): when the runs give a run-level
  spread (at least 3 runs in all: several baseline runs, or several candidate runs), the
  interval is Student's t on per-run values (see ``run_level``), because the largest noise
  is between runs (placement, other jobs, caches), which windows inside a run cannot show.
  It is never narrower than the within-run block-bootstrap interval (the union of both is
  used). A single baseline run and a single candidate run fall back to the block bootstrap.
  The candidate may be several runs (a folder or the flag repeated): they are pooled too.
- change points: a rule ``no_change_point_in_last: K`` fails when the history of the
  baseline folder plus the candidate shows a shift for the worse (Apache Otava's E-Divisive
  means, see ``changepoints``) at one of the last K runs.
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

from benchctl.analysis.changepoints import METRICS as HISTORY_METRICS
from benchctl.analysis.changepoints import Point, Shift, find_shifts, run_label, summary_values
from benchctl.analysis.percentiles import percentile
from benchctl.analysis.run_level import run_level_interval
from benchctl.analysis.summary import MIN_RATE_REQUESTS, read_requests
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
CHANGE_POINT = "no_change_point_in_last"
BOUNDS = ("max", "min", "max_increase", "max_decrease", "equals", CHANGE_POINT)
RUNS, WINDOWS = "runs", "windows"  # the interval's unit
# Only what the samples use: 19 bytes a request (10 million: 190 MB), no send lag.
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
    unit: Literal["auto", "windows"] = Field(
        "auto", description="auto: runs as the unit when there are >= 3 runs in all"
    )


class HistorySpec(_Spec):
    """Change points over the baseline folder's history (rules ``no_change_point_in_last``)."""

    runs: int = Field(60, ge=4, description="the newest N usable runs of the folder")
    max_pvalue: float = Field(0.001, gt=0, lt=1, description="significance (Otava's default)")
    min_change: Fraction = Field(0.0, description="ignore smaller shifts (fraction, or pp)")


class GateRules(_Spec):
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
    method: str | None = None  # "runs" (t on per-run values) or "windows" (block bootstrap)
    runs_baseline: int | None = None  # how many runs each side's interval rests on
    runs_candidate: int | None = None
    run_sd: float | None = None  # run-to-run standard deviation (log scale for ratios)
    within_low: float | None = None  # the within-run block-bootstrap interval
    within_high: float | None = None
    pvalue: float | None = None  # change points: the shift's p-value
    change_point_run: str | None = None  # change points: first run after the shift
    change_point_label: str | None = None  # its commit/label, else its start time


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
    candidate_runs: tuple[str, ...] = ()

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


def split_arm(path: Path) -> tuple[Path, str | None]:
    """``RUN@ARM`` (one arm of a split run, ``benchctl run --split``): the run directory and
    the arm's name; any other path: itself and None."""
    path = Path(path)
    base, at, arm = str(path).rpartition("@")
    if at and arm and "/" not in arm and (Path(base) / RUN_JSON).is_file():
        return Path(base), arm
    return path, None


def load_run(path: Path) -> LoadedRun:
    """A run directory (or ``RUN@ARM``: one arm of a split run, its requests only);
    InputError (exit 2) if it is not one or cannot be read."""
    given = Path(path)
    path, arm = split_arm(given)
    run_dir = RunDir.open(path)
    info = run_dir.read_json(RUN_JSON)
    if not isinstance(info, dict):
        raise InputError(f"{run_dir.file(RUN_JSON)}: not a run description (expected an object)")
    requests = run_dir.file(REQUESTS)
    if requests.is_file() and arm is not None:
        frame, info = _arm_rows(requests, info, arm, given)
    elif requests.is_file():
        try:
            frame = read_requests(requests, _COLUMNS)
        except InputError:  # already one line naming the file
            raise
        except (OSError, ValueError, KeyError, pa.ArrowException) as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise InputError(f"{requests}: unreadable: {first}") from None
    else:  # no request records: nothing to judge (bad input, exit 2), not a regression
        raise InputError(f"{requests}: missing: this run kept no request records")
    phases = tuple(
        (str(p["name"]), float(p["start"]), float(p["end"]))
        for p in _dict(info.get("plan")).get("phases") or []
        if isinstance(p, dict) and {"name", "start", "end"} <= set(p)
    )
    return LoadedRun(given, info, frame, phases)


def _arm_rows(
    requests: Path, info: dict[str, Any], arm: str, given: Path
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """One arm's requests of a split run and its run.json with id ``<id>@<arm>`` and the
    arm's target; InputError when the run has no such arm."""
    names = [a.get("name") for a in _dict(info.get("arms")).get("arms") or []]
    if arm not in names:
        listed = ", ".join(map(str, names)) or "none: not a split run"
        raise InputError(f"{given}: no arm {arm!r} in this run (arms: {listed})")
    frame = read_requests(requests, [*_COLUMNS, "arm"])
    frame = frame[frame["arm"].astype(str) == arm].drop(columns="arm").reset_index(drop=True)
    spec = next(a for a in info["arms"]["arms"] if a.get("name") == arm)
    target = {**_dict(info.get("target")), "name": arm, "spec": spec.get("spec")}
    return frame, {**info, "id": f"{info.get('id') or requests.parent.name}@{arm}",
                   "target": target}  # fmt: skip


def select_baseline(
    path: Path, candidate: LoadedRun, last: int, exclude: Sequence[Path] = ()
) -> tuple[list[LoadedRun], list[str]]:
    """One run directory, or the last ``last`` usable runs of the candidate's scenario and
    target in a folder (oldest first), with notes on the runs passed over. ``exclude``:
    more run directories that are not baseline (the other candidate runs)."""
    path = Path(path)
    if (path / RUN_JSON).is_file() or split_arm(path)[1] is not None:  # a run, or RUN@ARM
        run = load_run(path)
        notes = [] if run.status == COMPLETED else [f"baseline {run.id} is {run.status}"]
        return [run], notes
    if not path.is_dir():
        raise InputError(f"--baseline {path}: not a run directory nor a folder of runs")
    key = run_key(candidate.info)
    same = [
        (run_dir, info)
        for run_dir, info in list_runs(path)
        if run_key(info) == key
        and run_dir.path.resolve() not in {p.resolve() for p in (candidate.path, *exclude)}
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
            return percentile(self.latency, LATENCY[metric])  # nearest rank, as summary.json
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
        target = np.round(q * (w @ np.bincount(blocks, minlength=width)), 9)  # nearest rank
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
    elif rule.bound == CHANGE_POINT:
        text = f"{rule.metric} no shift in last {limit} runs"
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
    runs: tuple[Sequence[Sample], Sequence[Sample]] = ((), ()),
) -> RuleResult:
    """One rule's verdict, with the numbers behind it. ``runs``: the baseline's and the
    candidate's samples run by run (for run-level intervals; ``base``/``cand`` pool them)."""
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
        too_few = _too_few(rule, spec, numbers["candidate_samples"])
        verdict = too_few or _absolute(rule, numbers["candidate"])
        return RuleResult(**common, **numbers, **verdict)
    relative = _relative(rule, index, spec, base, cand, numbers, runs)
    return RuleResult(**common, **numbers, **relative)


def absolute_minimum(metric: str) -> int:
    """Fewest samples an absolute rule is decided on (unless the rule sets min_samples):
    a latency percentile p needs ceil(1 / (1 - p/100)) successful requests, so that its
    nearest rank is not simply the maximum (p50: 2, p95: 20, p99: 100, p99.9: 1000);
    throughput and error/drop rates need MIN_RATE_REQUESTS (10) requests."""
    if metric in LATENCY:
        return math.ceil(round(1.0 / (1.0 - LATENCY[metric] / 100.0), 6))
    return MIN_RATE_REQUESTS


def _too_few(rule: Rule, spec: GateRules, samples: int) -> dict[str, Any] | None:
    """An absolute rule on too few samples: inconclusive (fail when strict), said so."""
    minimum = rule.min_samples or absolute_minimum(rule.metric)
    if samples >= minimum:
        return None
    return {
        "verdict": FAIL if spec.strict else INCONCLUSIVE,
        "message": f"only {samples} samples (needs {minimum} for {rule.metric}): not decided",
    }


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
    rule: Rule,
    index: int,
    spec: GateRules,
    base: Sample,
    cand: Sample,
    numbers: dict[str, Any],
    runs: tuple[Sequence[Sample], Sequence[Sample]] = ((), ()),
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
    within = change_interval(base, cand, rule.metric, spec.statistics, (index,))
    spread = unit_interval(rule.metric, spec.statistics, change, runs, within)
    low, high = spread["ci_low"], spread["ci_high"]
    if not (math.isfinite(low) and math.isfinite(high)):
        return {"verdict": inconclusive, "message": "the bootstrap gave no finite values"}
    level = f"{spec.statistics.confidence:.0%} CI {method_text(spread)}"
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
    return {**result, **spread}


def _pct(value: float) -> str:
    return f"{value * 100:+.1f}" if math.isfinite(value) else "?"


# --------------------------------------------------------------------------- the command


def gate(
    *,
    baseline: Path,
    candidate: Path | Sequence[Path],
    rules: Path,
    last: int | None = None,
) -> GateResult:
    """Evaluate ``rules`` on the candidate against the baseline (a run or a folder).

    ``candidate``: one run directory, a folder of runs (all of them), or several of either;
    several candidate runs are pooled like baseline runs and give the interval run-level
    spread on the candidate side too. InputError (exit 2) on bad rules or unreadable runs.
    """
    spec = load_rules(rules)
    if last is not None and last < 1:
        raise InputError(f"--last {last}: must be at least 1")
    cands = load_candidates(candidate)
    cand = cands[0]
    others = [run.path for run in cands[1:]]
    base_runs, notes = select_baseline(baseline, cand, last or spec.baseline.last, others)
    warnings = [*notes, *_comparability(cand, base_runs)]
    width = spec.statistics.window
    results = []
    cache: dict[str, tuple[list[Sample], list[Sample]]] = {}
    history: list[Point] | None = None
    for index, rule in enumerate(spec.rules):
        if rule.bound == CHANGE_POINT:
            if history is None:
                history = history_points(baseline, cands, spec.history.runs) or []
            results.append(evaluate_change_point(rule, spec, history, len(cands)))
            continue
        phase = rule.phase or spec.phase
        if phase not in cache:
            for run in cands:
                _check_phase(phase, run, rules, index, rule)
            cache[phase] = (
                [phase_sample(run, phase, width) for run in base_runs],
                [phase_sample(run, phase, width) for run in cands],
            )
        base_samples, cand_samples = cache[phase]
        pooled = (pool(base_samples), pool(cand_samples))
        runs = (base_samples, cand_samples)
        results.append(evaluate(rule, index, spec, *pooled, combined_candidate(cands), runs))
    for result in results:
        if result.verdict == INCONCLUSIVE:
            warnings.append(f"{result.name}: inconclusive ({result.message})")
    scenario, target = run_key(cand.info)
    return GateResult(
        passed=all(r.verdict != FAIL for r in results),
        candidate=cand.id if len(cands) == 1 else f"{len(cands)} runs ({cand.id} … {cands[-1].id})",
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
            "method": method_summary(results, spec.statistics),
            "history": spec.history.model_dump(),
        },
        candidate_runs=tuple(run.id for run in cands),
    )


# --------------------------------------------------------------------------- runs as the unit


def load_candidates(paths: Path | Sequence[Path]) -> list[LoadedRun]:
    """The candidate runs, oldest first: each path is a run directory or a folder whose run
    directories are all taken. InputError (exit 2): nothing there, or runs of different
    scenarios or targets."""
    given = [Path(paths)] if isinstance(paths, str | Path) else [Path(p) for p in paths]
    if not given:
        raise InputError("--candidate: give a run directory or a folder of runs")
    found: list[LoadedRun] = []
    for path in given:
        if (path / RUN_JSON).is_file() or not path.is_dir():
            found.append(load_run(path))
            continue
        inside = [load_run(run_dir.path) for run_dir, _ in list_runs(path)]
        if not inside:
            raise InputError(f"--candidate {path}: no run directories in this folder")
        found += inside
    unique = {run.path.resolve(): run for run in found}
    runs = sorted(unique.values(), key=lambda run: started(run.info, run.path))
    keys = {run_key(run.info) for run in runs}
    if len(keys) > 1:
        listed = ", ".join(f"{s} on {t}" for s, t in sorted(keys))
        raise InputError(f"--candidate: runs of different scenarios or targets ({listed})")
    return runs


def combined_candidate(runs: Sequence[LoadedRun]) -> LoadedRun:
    """The candidate for status rules: the first run not completed (else the first run);
    generator saturated if any run's generator was."""
    worst = next((run for run in runs if run.status != COMPLETED), runs[0])
    if len(runs) == 1 or worst.saturated or not any(run.saturated for run in runs):
        return worst
    generator = {**_dict(worst.info.get("generator")), "saturated": True}
    return replace(worst, info={**worst.info, "generator": generator})


def unit_interval(
    metric: str,
    settings: StatisticsSpec,
    change: float,
    runs: tuple[Sequence[Sample], Sequence[Sample]],
    within: tuple[float, float],
) -> dict[str, Any]:
    """The interval a relative rule is decided on, and how it was made.

    ``within``: the block-bootstrap interval of the pooled samples. With at least 3 runs in
    all (and ``unit: auto``) the run-level t interval around ``change`` is used, widened to
    ``within`` where that is wider (their union); else ``within`` itself. Returns the
    RuleResult fields ci_low, ci_high, method, runs_baseline, runs_candidate, run_sd,
    within_low, within_high.
    """
    base_runs, cand_runs = runs
    out: dict[str, Any] = {
        "ci_low": within[0],
        "ci_high": within[1],
        "method": WINDOWS,
        "runs_baseline": len(base_runs) or None,
        "runs_candidate": len(cand_runs) or None,
        "within_low": within[0],
        "within_high": within[1],
    }
    if settings.unit == WINDOWS:
        return out
    values = [[s.value(metric) for s in side] for side in runs]
    if any(v is None for side in values for v in side):
        return out
    level = run_level_interval(
        *values, difference=metric in RATES, confidence=settings.confidence, centre=change
    )
    if level is None:
        return out
    low, high = level.low, level.high
    if math.isfinite(within[0]) and math.isfinite(within[1]):
        low, high = min(low, within[0]), max(high, within[1])
    return {**out, "ci_low": low, "ci_high": high, "method": RUNS, "run_sd": level.sd}


def method_text(spread: dict[str, Any]) -> str:
    """``(runs as the unit: 4 baseline + 1 candidate runs)`` or the block-bootstrap note."""
    k, m = spread.get("runs_baseline"), spread.get("runs_candidate")
    counted = f"{k} baseline + {m} candidate run{'s' if (m or 0) > 1 else ''}" if k else ""
    if spread.get("method") == RUNS:
        return f"(runs as the unit: {counted})"
    return f"(within-run block bootstrap{': ' + counted if counted else ''})"


def method_summary(results: Sequence[RuleResult], settings: StatisticsSpec) -> str:
    """One line for the outputs: which interval the relative rules used, on how many runs."""
    relative = [r for r in results if r.method in (RUNS, WINDOWS)]
    used = sorted({r.method for r in relative})
    if not used:
        return "no relative rule"
    k = max((r.runs_baseline or 0) for r in relative)
    m = max((r.runs_candidate or 0) for r in relative)
    if used == [RUNS]:
        return (
            f"runs as the unit: Student's t on per-run values over {k} baseline + {m} "
            f"candidate runs, never narrower than the within-run block bootstrap"
        )
    why = "unit: windows" if settings.unit == WINDOWS else "fewer than 3 runs in all"
    text = f"within-run block bootstrap over {k} baseline + {m} candidate runs ({why})"
    return text if used == [WINDOWS] else f"runs as the unit where possible, else {text}"


# --------------------------------------------------------------------------- change points


def history_points(
    baseline: Path, candidates: Sequence[LoadedRun], limit: int
) -> list[Point] | None:
    """The history a change-point rule looks at: the newest ``limit`` usable runs of the
    candidate's scenario and target in the baseline folder, then the candidate runs (each
    oldest first). None when the baseline is a single run directory."""
    path = Path(baseline)
    if (path / RUN_JSON).is_file() or not path.is_dir():
        return None
    key = run_key(candidates[0].info)
    excluded = {run.path.resolve() for run in candidates}
    past = sorted(
        (
            (started(info, run_dir.path), run_dir.path, info)
            for run_dir, info in list_runs(path)
            if run_key(info) == key
            and run_dir.path.resolve() not in excluded
            and not _unusable(run_dir, info)
        ),
        key=lambda item: item[0],
    )[-limit:]
    points = [
        Point(str(info.get("id") or where.name), when, run_label(info), summary_values(where))
        for when, where, info in past
    ]
    for run in candidates:
        when = started(run.info, run.path)
        points.append(Point(run.id, when, run_label(run.info), summary_values(run.path)))
    return points


def evaluate_change_point(
    rule: Rule, spec: GateRules, points: Sequence[Point], candidates: int
) -> RuleResult:
    """A ``no_change_point_in_last: K`` rule: FAIL when the history (``points``, oldest
    first, the last ``candidates`` of them the candidate runs) has a change point for the
    worse at one of its last K runs; inconclusive without a folder or with < 4 values."""
    limit = rule.no_change_point_in_last or 1
    common: dict[str, Any] = {
        "name": rule_name(rule, OVERALL),
        "metric": rule.metric,
        "bound": CHANGE_POINT,
        "limit": limit,
        "phase": OVERALL,
        "relative": False,
        "method": "change points (Apache Otava E-Divisive means, t-test)",
        "runs_baseline": max(len(points) - candidates, 0),
        "runs_candidate": candidates,
    }
    inconclusive = FAIL if spec.strict else INCONCLUSIVE
    with_values = [p for p in points if p.values.get(rule.metric) is not None]
    if not points:
        message = "needs a folder of past runs as --baseline to have a history"
        return RuleResult(**common, verdict=inconclusive, message=message)
    latest = points[-1].values.get(rule.metric)
    if len(with_values) < 4 or latest is None:
        message = (
            f"only {len(with_values)} runs with {rule.metric} in summary.json "
            "(at least 4, the candidate's included, are needed)"
        )
        return RuleResult(**common, verdict=inconclusive, message=message, candidate=latest)
    shifts = find_shifts(
        points,
        rule.metric,
        max_pvalue=spec.history.max_pvalue,
        min_change=spec.history.min_change,
    )
    first = len(points) - limit
    bad = [shift for shift in shifts if shift.index >= first and shift.regression]
    if bad:
        shift = bad[-1]
        message = (
            f"shift for the worse at run {shift.run}"
            f"{' (' + shift.label + ')' if shift.label else ''}: {shift_text(shift)}"
        )
        return RuleResult(
            **common,
            verdict=FAIL,
            message=message,
            baseline=shift.before,
            candidate=shift.after,
            change=shift.change,
            change_kind=shift.kind,
            pvalue=shift.pvalue,
            change_point_run=shift.run,
            change_point_label=shift.label or shift.started,
        )
    message = f"no shift for the worse among the last {limit} of {len(points)} runs"
    if shifts:
        message += "; other shifts: " + "; ".join(
            f"{shift.run}: {shift_text(shift)}" for shift in shifts
        )
    return RuleResult(**common, verdict=PASS, message=message, candidate=latest)


def shift_text(shift: Shift) -> str:
    """``12.1 -> 15.0 (+23.5%, p=0.0001)``; error rate in percentage points."""
    if shift.kind == "difference":
        size = f"{shift.change * 100:+.2f} pp"
        numbers = f"{shift.before * 100:.2f}% -> {shift.after * 100:.2f}%"
    else:
        size = f"{shift.change * 100:+.1f}%"
        numbers = f"{shift.before:.4g} -> {shift.after:.4g}"
    return f"{numbers} ({size}, p={shift.pvalue:.2g})"


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
