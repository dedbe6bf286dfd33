"""What an autoscaler simulation can and cannot say (trial 7, F3).

* The traffic: which shape was simulated and how it was scaled to the peak (a step run's
  20/40/80 rps scaled ×6.25 to --peak-rps 500 was never said).
* Whether it judged anything: an autoscaler reacts no sooner than one rate() window (the
  metric must see the load) plus one pod start (the new pod must serve). Traffic shorter
  than that gives no autoscaler time to act: the simulation starts each candidate at the
  replicas it settles at for the traffic's first second (``scaling_model``: steady state)
  and it keeps them, so "meets the SLO" only says that starting count was enough (trial 8:
  a 4 s run said "every candidate ran its min replicas" of 1 while both ran 20). No verdict
  then: a warning saying what the candidates ran, the candidates' reasons say "not judged",
  and no monthly cost is derived from it.
* The chosen HPA at a sustained peak: an rps-per-replica HPA settles at ceil(peak / target)
  replicas (Kubernetes HPA: desired = ceil(current × metric / target)); when that exceeds
  the recommended count, the HPA is not consistent with it, whatever a short simulation ran.
"""

from __future__ import annotations

import math
from typing import Any

from benchctl.analysis.cluster import ClusterSpec

NOT_JUDGED = "not judged: the simulated traffic is too short for any autoscaler to act"


def traffic_sentence(scenario: str, own: bool, raw_peak: float, peak: float) -> str:
    """ "Traffic: the run's step shape (peak 80 rps) scaled ×6.25 to the 500 rps peak" (or
    "--traffic spike's shape at real time, peak 200 rps, not scaled"). ``raw_peak`` and
    ``peak``: the busiest second before and after scaling, req/s."""
    whose = f"the run's {scenario}" if own else f"--traffic {scenario}'s"
    if raw_peak > 0 and not math.isclose(raw_peak, peak, rel_tol=1e-6):
        return (
            f"Traffic: {whose} shape at real time (peak {raw_peak:,.1f} rps) scaled "
            f"×{peak / raw_peak:,.3g} to the {peak:,.1f} rps peak, every second alike."
        )
    return f"Traffic: {whose} shape at real time, peak {peak:,.1f} rps, not scaled."


def too_short(seconds: float, cluster: ClusterSpec, ran: str = "") -> str | None:
    """Why no autoscaling verdict can be drawn from ``seconds`` of simulated traffic, or
    None when it is at least one pod start plus one rate() window (``cluster``). ``ran``:
    what the chosen candidates ran (``ran_sentence``), said in parentheses."""
    react = cluster.pod_start_s + cluster.rate_window
    if seconds >= react:
        return None
    said = f", so what it ran says nothing of scaling: {ran}" if ran else ""
    return (
        f"no autoscaling verdict: the simulated traffic ({seconds:,.0f} s) is too short to see"
        f" an autoscaler act, less than one pod start ({cluster.pod_start_s:g} s) plus the"
        f" metric's rate window ({cluster.rate_window:g} s) = {react:g} s: the simulation"
        " starts each candidate at the replicas it settles at for the first second's traffic"
        f"{said}; the settings and manifests below are not judged"
        " (simulate longer traffic: --traffic SCENARIO, e.g. --traffic spike)"
    )


def ran_sentence(section: dict[str, Any]) -> str:
    """ "the chosen KEDA/HPA ran 20 replicas throughout (min 1), the chosen KPA 20 pods
    throughout (min 0)": what the chosen candidates of ``section`` (capacity.json ``autoscaling``)
    ran, from each result's max_replicas and replica_seconds over ``traffic.seconds``
    ("throughout" when replica_seconds = max_replicas x seconds, else "at most"). '' when
    neither is there."""
    seconds = float(section["traffic"]["seconds"])
    said = []
    for key, name, unit, low in (
        ("hpa", "the chosen KEDA/HPA ran", "replica", "min_replicas"),
        ("kpa", "the chosen KPA", "pod", "min_scale"),
    ):
        part = section.get(key) or {}
        result, policy = part.get("result") or {}, part.get("policy") or {}
        most = result.get("max_replicas")
        if most is None:
            continue
        steady = math.isclose(float(result.get("replica_seconds", -1)), most * seconds)
        count = f"{most} {unit}{'s' * (most != 1)}"
        how = f"{count} throughout" if steady else f"at most {count}"
        floor = f" (min {policy[low]})" if low in policy else ""
        said.append(f"{name} {how}{floor}")
    return ", ".join(said)


def unjudged(section: dict[str, Any], reason: str) -> None:
    """Mark ``section`` (capacity.json ``autoscaling``) as not judged: ``verdict``, the
    reason as its first summary line and a warning; "meets the SLO" in the candidates'
    reasons becomes ``NOT_JUDGED``. In place."""
    section["verdict"] = {"judged": False, "reason": reason}
    section["warnings"] = [*section.get("warnings", []), reason]
    lines = [_not_judged(line) for line in section["summary"]]
    section["summary"] = [f"{reason[:1].upper()}{reason[1:]}.", *lines]
    for key in ("hpa", "kpa"):
        part = section.get(key)
        if isinstance(part, dict) and isinstance(part.get("reason"), str):
            part["reason"] = _not_judged(part["reason"])


def _not_judged(text: str) -> str:
    """``text`` with its "meets the SLO" verdicts replaced by ``NOT_JUDGED``."""
    text = text.replace("candidate that meets the SLO", f"candidate, {NOT_JUDGED}")
    return text.replace("meets the SLO", NOT_JUDGED)


def hpa_at_peak(section: dict[str, Any], peak: float) -> None:
    """When the chosen deployment's HPA scales on requests/s per replica and a sustained
    ``peak`` (req/s) drives it to ceil(peak / target) replicas, more than the recommended
    count: the consistency (capacity.json ``autoscaling.consistency``) says so, and is not
    "at least the recommended" (trial 7: target 25.68, min 15: 15 × 25.68 = 385 < 500, so
    a sustained 500 rps peak settles at 20). In place; nothing when it does not apply."""
    consistency = section.get("consistency")
    policy = (section.get("hpa") or {}).get("policy") or {}
    if section.get("deployment") != "RawDeployment" or not isinstance(consistency, dict):
        return
    target = policy.get("target")
    if policy.get("metric") != "rps_per_replica" or not target or target <= 0:
        return
    settles = math.ceil(peak / target - 1e-9)
    recommended = int(consistency["recommended"])
    if settles <= recommended:
        return
    text = (
        f"the chosen HPA (target {target:g} rps per replica, min {policy.get('min_replicas')}) "
        f"does not hold the {recommended} recommended at a sustained {peak:,.0f} rps peak: "
        f"{recommended} × {target:g} = {recommended * target:,.0f} rps < {peak:,.0f}, so it "
        f"settles at ceil({peak:,.0f} / {target:g}) = {settles} replicas; the simulation ran "
        f"{consistency.get('simulated_at_peak')} at its peak"
    )
    consistency.update(
        {"text": text, "sustained_peak_replicas": settles, "consistent_with_recommended": False}
    )
    section["summary"] = [
        f"Consistency: {text}" if line.startswith("Consistency: ") else line
        for line in section["summary"]
    ]


def judge(
    section: dict[str, Any], *, own: bool, raw_peak: float | None, cluster: ClusterSpec
) -> dict[str, Any]:
    """``section`` (capacity.json ``autoscaling``, with ``traffic`` and ``summary``) with
    the traffic's scaling said (``traffic.scaling``, the first summary line), the verdict
    withheld when the traffic is too short (``too_short``, ``unjudged``; else ``verdict``
    judged) and the chosen HPA checked at a sustained peak (``hpa_at_peak``). ``own``: the
    run's own scenario (not --traffic); ``raw_peak``: its busiest second before scaling
    (req/s; None: unknown, taken as unscaled). Returns ``section``, changed in place."""
    traffic = section["traffic"]
    peak = float(traffic["peak_rps"])
    line = traffic_sentence(str(traffic["scenario"]), own, raw_peak or peak, peak)
    traffic["scaling"] = line
    section["summary"] = [line, *section["summary"]]
    reason = too_short(float(traffic["seconds"]), cluster, ran_sentence(section))
    if reason is not None:
        unjudged(section, reason)
    else:
        section["verdict"] = {"judged": True, "reason": None}
    hpa_at_peak(section, peak)
    return section
