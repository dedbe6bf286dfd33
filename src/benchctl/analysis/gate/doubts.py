"""Whether the gate's runs were measured under a flag that makes a regression not
established (trial 7, F12): a candidate measured on a host kept busy by other work against
a quieter baseline gave ``gate FAIL (regression)`` p50 +76.7%, while ``analyze`` and
``compare`` on the same runs said "busy host" and "not established". A within-run block
bootstrap cannot see such noise: it moves the whole run.

The flags are ``compare``'s (analysis/verdict_doubts.py):

- busy host: other processes kept the host's CPU busy during the measured part of a
  candidate run (analysis/contradictions.py ``busy_host``, from its telemetry windows
  after the warm-up: host CPU at least 80% and other processes at least a quarter of its
  cores). A host load explains a change only in its own direction (trial 8: baseline and
  candidate both on a host whose other processes used 1.41 and 1.23 cores, p50 +141%, was
  called inconclusive): a rule relative to the baseline is doubted only when the
  candidate's other processes used at least ``MARGIN_SHARE`` of its cores more than the
  baseline's (``other_cores``, averaged over each side's runs), or when no baseline run
  has telemetry to show its load. Two equally busy sides, or a busier baseline, are
  compared as measured. An absolute rule (judged on the candidate alone) is doubted
  whenever a candidate run was busy;
- generator saturated: a load process of any run was above 80% CPU for 5 s (run.json
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
from dataclasses import dataclass, replace

from benchctl.analysis.gate.rules import CHANGE_POINT, LATENCY, RATES, RuleResult
from benchctl.analysis.gate.runs import LoadedRun, split_arm
from benchctl.analysis.gate.verdicts import FAIL, INCONCLUSIVE

BUSY_HOST = "busy host"
GENERATOR_SATURATED = "generator saturated"
MEASURED = {*LATENCY, *RATES, "throughput_rps"}  # metrics a busy host or generator moves
MARGIN_SHARE = 0.25  # of the host's cores: contradictions.NEIGHBOURS_SHARE, a "busy" load


@dataclass(frozen=True)
class Doubts:
    """What makes a fail not established: ``absolute`` labels doubt a fail of an absolute
    rule, ``relative`` ones a fail relative to the baseline (each ``BUSY_HOST`` and/or
    ``GENERATOR_SATURATED``, in that order); ``warnings``: one line per flagged run, and
    why a busy host does or does not explain a change against the baseline."""

    absolute: tuple[str, ...] = ()
    relative: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Load:
    """One run's flags: ``busy`` (busy_host's sentence or None), ``others`` (cores used by
    other processes, or None without telemetry), ``cpus`` (the host's logical CPUs)."""

    busy: str | None
    others: float | None
    cpus: int | None


def run_doubts(base_runs: Sequence[LoadedRun], cands: Sequence[LoadedRun]) -> Doubts:
    """The Doubts of these runs: a busy candidate run doubts absolute rules, and relative
    ones when its host was busier than the baseline's (``_busier``); a saturated generator
    on any run doubts both. One warning per flagged run, e.g. ``baseline RUN: busy host:
    host CPU averaged 97% of 2 cores ...``. Runs without telemetry are not flagged busy.
    Raises nothing of its own."""
    loads = {id(run): _load(run) for run in (*base_runs, *cands)}
    warnings = []
    for side, runs in (("baseline", base_runs), ("candidate", cands)):
        for run in runs:
            if busy := loads[id(run)].busy:
                warnings.append(f"{side} {run.id}: {busy}")
            if run.saturated:
                warnings.append(
                    f"{side} {run.id}: {GENERATOR_SATURATED}: a load process was above 80% "
                    "CPU for 5 s, so its own delays are in the latencies"
                )
    busy = any(loads[id(run)].busy for run in cands)
    saturated = any(run.saturated for run in (*base_runs, *cands))
    if not warnings:
        return Doubts()
    if _one_run(base_runs, cands):  # arms measured at the same moments
        note = "; the arms of one run shared those moments, so it is no doubt on their difference"
        return Doubts(warnings=tuple(warning + note for warning in warnings))
    busier, why = _busier([loads[id(r)] for r in base_runs], [loads[id(r)] for r in cands])
    if why and (busy or any(loads[id(r)].busy for r in base_runs)):
        warnings.append(why)
    tail = (GENERATOR_SATURATED,) if saturated else ()
    absolute = ((BUSY_HOST,) if busy else ()) + tail
    relative = ((BUSY_HOST,) if busy and busier else ()) + tail
    return Doubts(absolute, relative, tuple(warnings))


def _busier(base: Sequence[_Load], cand: Sequence[_Load]) -> tuple[bool, str]:
    """(whether the candidate's host was busier than the baseline's by at least
    MARGIN_SHARE of its cores, or the baseline's load is unknown; a sentence saying which).
    Each side's load: the mean of its runs' ``others`` (runs without telemetry left out).
    E.g. trial 8: baseline 1.41 cores, candidate 1.23 on 2 cores: 1.23 - 1.41 = -0.18 <
    0.25 x 2 = 0.50, not busier."""
    base_others = [load.others for load in base if load.others is not None]
    cand_others = [load.others for load in cand if load.others is not None]
    cpus = next((load.cpus for load in cand if load.cpus), None)
    if not cand_others or not cpus:
        return False, ""
    c = sum(cand_others) / len(cand_others)
    if not base_others:
        return True, "baseline: no telemetry to show its host was as busy as the candidate's"
    b = sum(base_others) / len(base_others)
    margin = MARGIN_SHARE * cpus
    loads = f"other processes used about {b:.2f} cores in the baseline and {c:.2f} in the candidate"
    if c - b >= margin:
        return True, f"host load: {loads}; the candidate's host was the busier by {c - b:.2f} cores"
    return False, (
        f"host load: {loads}; the candidate's host was not busier by {margin:.2f} cores (a "
        f"quarter of its {cpus}) or more, so a change against the baseline is not put down "
        "to host load"
    )


def _load(run: LoadedRun) -> _Load:
    """``run``'s busy-host sentence and other processes' cores, from its (or its arm's
    server's) telemetry windows after the warm-up; None for each without telemetry."""
    from benchctl.analysis.contradictions import busy_host, other_cores
    from benchctl.analysis.verdict_doubts import measured_windows
    from benchctl.rundir.names import TELEMETRY_WINDOWS

    base, arm = split_arm(run.path)
    arms = run.info.get("arms") if isinstance(run.info.get("arms"), dict) else {}
    folder = base if arm is None or arm == arms.get("control") else base / f"arm-{arm}"
    windows = measured_windows(run, folder / TELEMETRY_WINDOWS)
    host = run.info.get("host") if isinstance(run.info.get("host"), dict) else {}
    cpus = host.get("cpus") if isinstance(host.get("cpus"), int) else None
    if windows is None or windows.empty:
        return _Load(None, None, cpus)
    return _Load(busy_host(windows, cpus), other_cores(windows, cpus), cpus)


def _one_run(base_runs: Sequence[LoadedRun], cands: Sequence[LoadedRun]) -> bool:
    """Whether every side is an arm of one and the same split run (``RUN@ARM``): its arms'
    requests were interleaved in time on one host, so host load moved both alike (the
    split verdict's premise), unlike runs made at different times."""
    runs = [*base_runs, *cands]
    folders = {split_arm(run.path)[0].resolve() for run in runs}
    return all(run.arm is not None for run in runs) and len(folders) == 1


def doubted(
    results: Sequence[RuleResult], doubts: Doubts, *, strict: bool = False
) -> list[RuleResult]:
    """``results`` with each fail of a rule judged on measured numbers (``MEASURED``, not a
    change point) made ``inconclusive`` (kept a fail under ``strict``, where an undecided
    rule fails) when ``doubts`` raise labels for its kind (``relative`` or ``absolute``):
    ``doubt`` holds the labels joined by `` and ``, the message starts ``busy host: a fail
    is not established on these runs; ``. A side that served nothing (no value, or a
    throughput of 0) keeps its plain fail. Raises nothing."""
    out = []
    for rule in results:
        labels = doubts.relative if rule.relative else doubts.absolute
        if labels and _doubtable(rule):
            reason = " and ".join(labels)
            rule = replace(
                rule,
                verdict=FAIL if strict else INCONCLUSIVE,
                doubt=reason,
                message=f"{reason}: a fail is not established on these runs; {rule.message}",
            )
        out.append(rule)
    return out


def _doubtable(rule: RuleResult) -> bool:
    """A fail judged on measured numbers, with a value on each side it compares."""
    if rule.verdict != FAIL or rule.metric not in MEASURED or rule.bound == CHANGE_POINT:
        return False
    if rule.candidate is None or (rule.relative and rule.baseline is None):
        return False
    return not (rule.metric == "throughput_rps" and not rule.candidate)
