"""Change-point rules (``no_change_point_in_last: K``): the baseline folder's history plus
the candidate runs, judged with Apache Otava's E-Divisive means (see ``changepoints``)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchctl.analysis.changepoints import (
    MIN_RUNS,
    Point,
    Shift,
    find_shifts,
    run_label,
    summary_values,
)
from benchctl.analysis.gate.rules import (
    CHANGE_POINT,
    OVERALL,
    GateRules,
    Rule,
    RuleResult,
)
from benchctl.analysis.gate.runs import LoadedRun, run_key, started, unusable
from benchctl.analysis.gate.verdicts import FAIL, INCONCLUSIVE, PASS, rule_name
from benchctl.rundir import RUN_JSON, list_runs


def history_points(
    baseline: Path, candidates: Sequence[LoadedRun], limit: int
) -> list[Point] | None:
    """The history a change-point rule looks at: the newest ``limit`` usable runs of the
    candidate's scenario and target in the baseline folder, then the candidate runs (each
    oldest first). None when the baseline is a single run directory.

    ``baseline``: a folder of runs (or a single run directory: then None); ``candidates``: the
    loaded candidate runs, at least one; ``limit``: how many past runs at most. Each Point carries
    the run's id, start time, label and summary values (ms, requests/s, fraction). Raises IndexError
    for an empty ``candidates``; unreadable past runs are skipped, not raised.
    """
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
            and not unusable(run_dir, info)
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
    worse at one of its last K runs; inconclusive without a folder or with < 4 values.

    ``rule``: the change-point rule; ``spec``: the rules file (``strict`` makes inconclusive a
    FAIL); ``candidates``: how many of the points are candidate runs. Returns a RuleResult whose
    shifts come from ``changepoints.find_shifts`` (the t-test of Apache Otava's E-Divisive means, p
    < MAX_PVALUE = 0.001). Raises nothing of its own.
    """
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
    if len(with_values) < MIN_RUNS or latest is None:
        message = (
            f"only {len(with_values)} runs with {rule.metric} in summary.json "
            f"(at least {MIN_RUNS}, the candidate's included, are needed)"
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
        return _regression(common, bad[-1])
    message = f"no shift for the worse among the last {limit} of {len(points)} runs"
    if shifts:
        message += "; other shifts: " + "; ".join(
            f"{shift.run}: {shift_text(shift)}" for shift in shifts
        )
    return RuleResult(**common, verdict=PASS, message=message, candidate=latest)


def _regression(common: dict[str, Any], shift: Shift) -> RuleResult:
    """A FAIL result for a shift for the worse, with its numbers and the run it starts at."""
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


def shift_text(shift: Shift) -> str:
    """``12.1 -> 15.0 (+23.5%, p=0.0001)``; error rate in percentage points."""
    if shift.kind == "difference":
        size = f"{shift.change * 100:+.2f} pp"
        numbers = f"{shift.before * 100:.2f}% -> {shift.after * 100:.2f}%"
    else:
        size = f"{shift.change * 100:+.1f}%"
        numbers = f"{shift.before:.4g} -> {shift.after:.4g}"
    return f"{numbers} ({size}, p={shift.pvalue:.2g})"
