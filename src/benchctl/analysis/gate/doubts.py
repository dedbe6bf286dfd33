"""Whether the gate's runs were measured under a flag that makes a regression not
established (trial 7, F12): two identical-configuration runs 20 s apart on a host kept
busy by other work gave ``gate FAIL (regression)`` p50 +76.7%, while ``analyze`` and
``compare`` on the same runs said "busy host" and "not established". A within-run block
bootstrap cannot see such noise: it moves the whole run.

The flags are ``compare``'s (analysis/verdict_doubts.py):

- busy host: other processes kept the host's CPU busy during the measured part of a run
  (analysis/contradictions.py ``busy_host``, from its telemetry windows after the warm-up:
  host CPU at least 80% and other processes at least a quarter of its cores);
- generator saturated: a load process of the run was above 80% CPU for 5 s (run.json
  ``generator.saturated``): its own delays are in every latency.

A rule judged on measured numbers (a latency percentile, throughput, an error or drop rate)
that would fail on such runs is ``inconclusive`` instead, its message saying why, and the
gate's headline says so (``headline.py``). A side that served nothing still fails: no host
load explains zero successes. Arms of one split run (``RUN@stable`` against ``RUN@canary``)
are not doubted: their requests were interleaved at the same moments, so the host's load
moved both alike (the flags stay warnings). ``strict: true`` keeps the fail (an
inconclusive rule fails under strict), with the same note."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from benchctl.analysis.gate.rules import CHANGE_POINT, LATENCY, RATES, RuleResult
from benchctl.analysis.gate.runs import LoadedRun, split_arm
from benchctl.analysis.gate.verdicts import FAIL, INCONCLUSIVE

BUSY_HOST = "busy host"
GENERATOR_SATURATED = "generator saturated"
MEASURED = {*LATENCY, *RATES, "throughput_rps"}  # metrics a busy host or generator moves


def run_doubts(
    base_runs: Sequence[LoadedRun], cands: Sequence[LoadedRun]
) -> tuple[tuple[str, ...], list[str]]:
    """(labels, warnings): the flags raised by any run of either side (``BUSY_HOST``,
    ``GENERATOR_SATURATED``, each once, in that order) and one warning per flagged run,
    e.g. ``baseline RUN: busy host: host CPU averaged 97% of 2 cores ...``. Runs without
    telemetry are not flagged busy. Raises nothing of its own."""
    labels: list[str] = []
    warnings = []
    for side, runs in (("baseline", base_runs), ("candidate", cands)):
        for run in runs:
            if busy := _busy(run):
                labels.append(BUSY_HOST)
                warnings.append(f"{side} {run.id}: {busy}")
            if run.saturated:
                labels.append(GENERATOR_SATURATED)
                warnings.append(
                    f"{side} {run.id}: {GENERATOR_SATURATED}: a load process was above 80% "
                    "CPU for 5 s, so its own delays are in the latencies"
                )
    if labels and _one_run(base_runs, cands):  # arms measured at the same moments
        note = "; the arms of one run shared those moments, so it is no doubt on their difference"
        return (), [warning + note for warning in warnings]
    order = (BUSY_HOST, GENERATOR_SATURATED)
    return tuple(label for label in order if label in labels), warnings


def _one_run(base_runs: Sequence[LoadedRun], cands: Sequence[LoadedRun]) -> bool:
    """Whether every side is an arm of one and the same split run (``RUN@ARM``): its arms'
    requests were interleaved in time on one host, so host load moved both alike (the
    split verdict's premise), unlike runs made at different times."""
    runs = [*base_runs, *cands]
    folders = {split_arm(run.path)[0].resolve() for run in runs}
    return all(run.arm is not None for run in runs) and len(folders) == 1


def _busy(run: LoadedRun) -> str | None:
    """``busy_host``'s sentence for one run (or arm: that arm's server's telemetry), from
    its telemetry windows after the warm-up; None when quiet or without telemetry."""
    from benchctl.analysis.contradictions import busy_host
    from benchctl.analysis.verdict_doubts import measured_windows
    from benchctl.rundir.names import TELEMETRY_WINDOWS

    base, arm = split_arm(run.path)
    arms = run.info.get("arms") if isinstance(run.info.get("arms"), dict) else {}
    folder = base if arm is None or arm == arms.get("control") else base / f"arm-{arm}"
    windows = measured_windows(run, folder / TELEMETRY_WINDOWS)
    host = run.info.get("host") if isinstance(run.info.get("host"), dict) else {}
    if windows is None or windows.empty:
        return None
    return busy_host(windows, host.get("cpus"))


def doubted(
    results: Sequence[RuleResult], labels: Sequence[str], *, strict: bool = False
) -> list[RuleResult]:
    """``results`` with each fail of a rule judged on measured numbers (``MEASURED``, not a
    change point) made ``inconclusive`` (kept a fail under ``strict``, where an undecided
    rule fails) when ``labels`` (``run_doubts``) are raised: ``doubt`` holds the labels
    joined by `` and ``, the message starts ``busy host: a fail is not established on
    these runs; ``. A side that served nothing (no value, or a throughput of 0) keeps its
    plain fail. Raises nothing."""
    if not labels:
        return list(results)
    reason = " and ".join(labels)
    return [
        replace(
            rule,
            verdict=FAIL if strict else INCONCLUSIVE,
            doubt=reason,
            message=f"{reason}: a fail is not established on these runs; {rule.message}",
        )
        if _doubtable(rule)
        else rule
        for rule in results
    ]


def _doubtable(rule: RuleResult) -> bool:
    """A fail judged on measured numbers, with a value on each side it compares."""
    if rule.verdict != FAIL or rule.metric not in MEASURED or rule.bound == CHANGE_POINT:
        return False
    if rule.candidate is None or (rule.relative and rule.baseline is None):
        return False
    return not (rule.metric == "throughput_rps" and not rule.candidate)
