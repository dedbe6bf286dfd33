"""Which runs are split runs (``benchctl run --split``) and the label their pooled numbers
carry: a split run's summary ``overall``, its phase rows and ``benchctl runs``' row mix the
requests of every arm (several servers), so wherever such a figure is shown it says so."""

from __future__ import annotations

from typing import Any


def split_arm_names(info: dict[str, Any]) -> list[str]:
    """The arm names (control first) of a split run from its run.json content ``info``
    (``arms.arms``, written by splits.py ``public_arms``); [] for a run without arms, a
    ``--shadow`` run (whose summary is the control's requests) or unreadable content."""
    section = info.get("arms") if isinstance(info, dict) else None
    if not isinstance(section, dict) or section.get("shadow"):
        return []
    arms = section.get("arms")
    if not isinstance(arms, list) or len(arms) < 2:
        return []
    return [str(arm.get("name")) for arm in arms if isinstance(arm, dict)]


def pooled_label(arm_count: int) -> str:
    """The label of a figure pooled over ``arm_count`` (>= 2) arms: "both arms pooled" for
    two, "all N arms pooled" for more."""
    return "both arms pooled" if arm_count == 2 else f"all {arm_count} arms pooled"
