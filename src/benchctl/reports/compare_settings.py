"""Two of ``benchctl compare``'s notes (trial 8, finding 2): the runs' target settings that
differ (launch settings, model, protocol; from each run.json), and when two runs' SLO
verdicts differ by more than chance and more than a busy host could explain.

Two Triton runs launched with ``cost_ms`` 10 and 20 (same target name) had p99 62 vs 202
ms; compare said nothing of the launch settings, and called the verdicts' difference "not
an established difference" because both runs were on a busy host (alike busy: other
processes 1.41 vs 1.23 of 2 cores)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

# the unit of a bottleneck's percent (reports/compare.py RESOURCES' scales): host and
# server CPU as a share of all the host's cores, the generator's of one core (trial 8:
# "the server's own 40%" beside `benchctl telemetry`'s server CPU p95 79.1%, of one core)
SHARE_OF = {"host CPU": " of the host", "server CPU": " of the host", "generator CPU": " of a core"}
# target spec fields that set what the server does (never headers or tls: they may hold
# secrets; never addresses or ports: they differ between any two launches)
SETTING_KEYS = ("kind", "protocol", "model", "model_version", "timeout")


def target_settings(info: dict[str, Any]) -> dict[str, Any]:
    """``{key: value}`` of a run's target settings from run.json: ``target.spec`` fields in
    ``SETTING_KEYS`` and every ``launch.*`` field (``launch.cost_ms``); {} when absent."""
    target = info.get("target") if isinstance(info.get("target"), dict) else {}
    spec = target.get("spec") if isinstance(target.get("spec"), dict) else {}
    found = {key: spec[key] for key in SETTING_KEYS if key in spec}
    launch = spec.get("launch")
    if isinstance(launch, dict):
        found.update({f"launch.{key}": value for key, value in launch.items()})
    return found


def settings_notes(infos: Sequence[dict[str, Any]], labels: Sequence[str]) -> list[str]:
    """One warning listing the target settings in which a run differs from run A, e.g.
    ``the runs' servers were set up differently (B vs A: launch.cost_ms 20.0 vs 10.0): ...``;
    [] when they all match (or with fewer than two runs). ``infos``: each run's run.json,
    ``labels``: their labels (A, B, ...)."""
    if len(infos) < 2:
        return []
    base = target_settings(infos[0])
    parts = []
    for label, info in zip(labels[1:], infos[1:], strict=True):
        mine = target_settings(info)
        keys = [k for k in sorted(set(base) | set(mine)) if base.get(k) != mine.get(k)]
        if keys:
            listed = ", ".join(f"{k} {mine.get(k)!r} vs {base.get(k)!r}" for k in keys)
            parts.append(f"{label} vs {labels[0]}: {listed}")
    if not parts:
        return []
    return [
        f"the runs' servers were set up differently ({'; '.join(parts)}): their differences "
        "include these settings' effect, not only the change under test"
    ]


def difference_notes(loaded: Sequence[Any], columns: Sequence[Any], slo: Any) -> list[str]:
    """``verdict_doubts.established_difference`` for two compared runs (``loaded``: their
    LoadedRun, ``columns``: their RunColumn) under ``slo``: [] or its one line."""
    from benchctl.analysis.verdict_doubts import established_difference, measured_windows
    from benchctl.reports.compare import arm_telemetry_windows
    from benchctl.telemetry.session import WINDOWS

    if slo is None or len(loaded) != 2:
        return []
    sides = [
        (
            c.label,
            run,
            c.slo_met,
            c.doubts,
            measured_windows(run, arm_telemetry_windows(run) or run.path / WINDOWS),
        )
        for run, c in zip(loaded, columns, strict=True)
    ]
    found = established_difference(sides, slo)
    return [found] if found else []
