"""The gate's first check: every run it judges served something in the judged phase. A run
with no successful request (a server that refused or timed out every request, a target that
was down) has no latency, a throughput of 0 and nothing to compare: it cannot pass, whatever
the rules say, and the gate names the run."""

from __future__ import annotations

from collections.abc import Sequence

from benchctl.analysis.gate.rules import OVERALL, RuleResult
from benchctl.analysis.gate.runs import LoadedRun
from benchctl.analysis.gate.samples import Sample
from benchctl.analysis.gate.verdicts import FAIL

TRAFFIC = "successful_requests"  # the metric of a traffic check's RuleResult


def traffic_failures(
    phase: str, sides: dict[str, tuple[Sequence[LoadedRun], Sequence[Sample]]]
) -> list[RuleResult]:
    """One failed RuleResult per run with no successful request in ``phase``.

    ``sides``: ``{"baseline": (runs, samples), "candidate": (runs, samples)}``, a sample per
    run (its phase cut, as the rules use it). The message says which run, the phase, and how
    many requests it sent (all failed) or that it sent none. Raises nothing."""
    found = []
    where = "after the warm-up" if phase == OVERALL else f"in phase {phase}"
    for side, (runs, samples) in sides.items():
        for run, sample in zip(runs, samples, strict=True):
            if sample.n_latency:
                continue
            sent = int(sample.sent.sum())
            what = f"{sent} sent, every one failed" if sent else "nothing was sent"
            found.append(
                RuleResult(
                    name=f"{side} {run.id} served requests" + _tag(phase),
                    metric=TRAFFIC,
                    bound="min",
                    limit=1,
                    phase=phase,
                    relative=False,
                    verdict=FAIL,
                    message=(
                        f"the {side} run {run.id} has no successful requests {where} "
                        f"({what}): a run that served nothing cannot pass"
                    ),
                    candidate=0 if side == "candidate" else None,
                    baseline=0 if side == "baseline" else None,
                    candidate_samples=0 if side == "candidate" else None,
                    baseline_samples=0 if side == "baseline" else None,
                )
            )
    return found


def _tag(phase: str) -> str:
    return "" if phase == OVERALL else f" [{phase}]"
