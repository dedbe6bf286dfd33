"""``benchctl gate`` as one keyword function: load the rules and runs, evaluate every rule,
return a GateResult (the CLI maps it to an exit code and writes the outputs)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchctl.analysis.changepoints import Point
from benchctl.analysis.gate.doubts import doubted, run_doubts
from benchctl.analysis.gate.history import evaluate_change_point, history_points
from benchctl.analysis.gate.intervals import method_summary
from benchctl.analysis.gate.offered import offered_basis
from benchctl.analysis.gate.rules import (
    CHANGE_POINT,
    OVERALL,
    GateResult,
    GateRules,
    Rule,
    RuleResult,
    load_rules,
)
from benchctl.analysis.gate.runs import (
    LoadedRun,
    combined_candidate,
    load_candidates,
    run_differences,
    run_key,
    select_baseline,
)
from benchctl.analysis.gate.samples import Sample, phase_sample, pool
from benchctl.analysis.gate.traffic import traffic_failures
from benchctl.analysis.gate.verdicts import FAIL, INCONCLUSIVE, evaluate
from benchctl.errors import InputError


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
    spread on the candidate side too. A candidate measured on a busier host than the
    baseline's (or any run with a saturated generator) makes a fail of a measured number
    inconclusive, said (``gate/doubts.py``).
    InputError (exit 2) on bad rules or unreadable runs.
    """
    spec = load_rules(rules)
    if last is not None and last < 1:
        raise InputError(f"--last {last}: must be at least 1")
    cands = load_candidates(candidate)
    cand = cands[0]
    others = [run.path for run in cands[1:]]
    base_runs, notes = select_baseline(baseline, cand, last or spec.baseline.last, others)
    warnings = [*notes, *_comparability(cand, base_runs)]
    doubts = run_doubts(base_runs, cands)  # busy host, generator saturated
    warnings += doubts.warnings
    results = doubted(_evaluate_rules(spec, rules, baseline, base_runs, cands), doubts,
                      strict=spec.strict)  # fmt: skip
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
        settings=_settings(spec, last, results),
        candidate_runs=tuple(run.id for run in cands),
    )


def _evaluate_rules(
    spec: GateRules,
    rules: Path,
    baseline: Path,
    base_runs: Sequence[LoadedRun],
    cands: Sequence[LoadedRun],
) -> list[RuleResult]:
    """Every rule's result, in the file's order, after a failed traffic check for each run
    with no successful request in a judged phase (``traffic_failures``). A relative
    throughput rule between sides offered different rates by design (split arms of
    different shares: ``offered_basis``) is decided on achieved / offered per side. Each
    phase's samples are cut once (its phase checked against every candidate first); the
    history is read at the first change-point rule. InputError: a rule's phase is not in a
    candidate run."""
    width = spec.statistics.window
    results = []
    cache: dict[str, tuple[list[Sample], list[Sample]]] = {}
    history: list[Point] | None = None
    basis = offered_basis(base_runs, cands)  # offered different rates by design: why
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
            hold = spec.statistics.max_latencies  # the most the bootstrap resamples
            cache[phase] = (
                [phase_sample(run, phase, width, hold) for run in base_runs],
                [phase_sample(run, phase, width, hold) for run in cands],
            )
        base_samples, cand_samples = cache[phase]
        pooled = (pool(base_samples), pool(cand_samples))
        runs = (base_samples, cand_samples)
        candidate = combined_candidate(cands)
        results.append(evaluate(rule, index, spec, *pooled, candidate, runs, basis))
    if not cache:  # no rule cut a phase (status rules only): check the file's phase
        hold = spec.statistics.max_latencies
        cache[spec.phase] = (
            [phase_sample(run, spec.phase, width, hold) for run in base_runs],
            [phase_sample(run, spec.phase, width, hold) for run in cands],
        )
    empty = [
        failure
        for phase, (base_samples, cand_samples) in cache.items()
        for failure in traffic_failures(
            phase, {"baseline": (base_runs, base_samples), "candidate": (cands, cand_samples)}
        )
    ]
    return [*empty, *results]


def _settings(spec: GateRules, last: int | None, results: Sequence[RuleResult]) -> dict[str, Any]:
    """The settings a GateResult records (statistics, thresholds, the interval method)."""
    return {
        **spec.statistics.model_dump(),
        "min_samples": spec.min_samples,
        "strict": spec.strict,
        "last": last or spec.baseline.last,
        "bootstrap": "block bootstrap over windows of intended send time, percentile CI",
        "method": method_summary(results, spec.statistics),
        "history": spec.history.model_dump(),
    }


def _check_phase(phase: str, cand: LoadedRun, rules: Path, index: int, rule: Rule) -> None:
    if phase == OVERALL:
        return
    known = {name for name, _, _ in cand.phases} | cand.phase_names
    if phase not in known:
        raise InputError(
            f"{rules}: rule {index + 1} ({rule.metric}): phase {phase!r} is not in the "
            f"candidate run (phases: {', '.join(sorted(known)) or 'none'}, or overall)"
        )


def _comparability(cand: LoadedRun, base_runs: Sequence[LoadedRun]) -> list[str]:
    """Warnings for baselines whose numbers do not compare with the candidate's: another
    scenario, payload, host or time scale (``run_differences``), or another target (server
    kind, model or profile): a gate judges one target's change, so a KServe baseline for a
    Triton candidate is said, not silently passed."""
    found = []
    for run in base_runs:
        differences = run_differences(run.info, cand.info) + _target_differences(
            run.info, cand.info
        )
        if differences:
            found.append(f"baseline {run.id} differs from the candidate: {'; '.join(differences)}")
    return found


def _target_differences(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    """The target's profile name, server kind and model when they differ between two runs'
    run.json (``target.name``, ``target.spec.kind``, ``target.spec.model``)."""
    targets = [a.get("target"), b.get("target")]
    if not all(isinstance(t, dict) for t in targets):
        return []
    specs = [t.get("spec") if isinstance(t.get("spec"), dict) else {} for t in targets]
    pairs = [("target", targets[0].get("name"), targets[1].get("name"))]
    pairs += [(f"target.{key}", specs[0].get(key), specs[1].get(key)) for key in ("kind", "model")]
    return [f"{name}: {x!r} vs {y!r}" for name, x, y in pairs if x != y]
