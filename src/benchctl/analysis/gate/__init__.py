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

from benchctl.analysis.gate.command import gate
from benchctl.analysis.gate.history import evaluate_change_point, history_points, shift_text
from benchctl.analysis.gate.intervals import (
    block_quantiles,
    change_interval,
    change_of,
    method_summary,
    method_text,
    unit_interval,
)
from benchctl.analysis.gate.rules import (
    BOUNDS,
    CHANGE_POINT,
    LATENCY,
    OVERALL,
    RATES,
    RUNS,
    WINDOWS,
    BaselineSpec,
    Fraction,
    GateResult,
    GateRules,
    HistorySpec,
    Metric,
    Rule,
    RuleResult,
    StatisticsSpec,
    load_rules,
)
from benchctl.analysis.gate.runs import (
    LoadedRun,
    combined_candidate,
    load_candidates,
    load_run,
    run_differences,
    run_key,
    select_baseline,
    split_arm,
    started,
)
from benchctl.analysis.gate.samples import Interval, Sample, phase_sample, pool
from benchctl.analysis.gate.verdicts import (
    FAIL,
    INCONCLUSIVE,
    PASS,
    absolute_minimum,
    evaluate,
    rule_name,
)

__all__ = [
    "BOUNDS",
    "CHANGE_POINT",
    "FAIL",
    "INCONCLUSIVE",
    "LATENCY",
    "OVERALL",
    "PASS",
    "RATES",
    "RUNS",
    "WINDOWS",
    "BaselineSpec",
    "Fraction",
    "GateResult",
    "GateRules",
    "HistorySpec",
    "Interval",
    "LoadedRun",
    "Metric",
    "Rule",
    "RuleResult",
    "Sample",
    "StatisticsSpec",
    "absolute_minimum",
    "block_quantiles",
    "change_interval",
    "change_of",
    "combined_candidate",
    "evaluate",
    "evaluate_change_point",
    "gate",
    "history_points",
    "load_candidates",
    "load_rules",
    "load_run",
    "method_summary",
    "method_text",
    "phase_sample",
    "pool",
    "rule_name",
    "run_differences",
    "run_key",
    "select_baseline",
    "shift_text",
    "split_arm",
    "started",
    "unit_interval",
]
