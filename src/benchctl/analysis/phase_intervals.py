"""The interval each phase of a run was actually measured over.

A run's plan gives every phase a start and an end (s on the run's clock). A run that did not
complete (Ctrl-C, the target died, the engine crashed) stopped before the plan's end: its
phases are cut at the stop, and a phase's rate is its count over the *measured* seconds,
never the planned ones (trial 7: 385 successes over the 18.4 s an interrupted run measured,
20.9 req/s, were divided by its 38 planned seconds: "at least 10.1 rps").

Where the run stopped: summary.json's ``measured_seconds`` (the measured phases' seconds,
already cut at the stop the engine reported) is walked back along the plan to the time it
ends at; without a summary, the last intended send of a measured request (the stop is no
earlier than that).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from benchctl.analysis.request_reader import iter_batches
from benchctl.analysis.summary import phase_seconds
from benchctl.rundir import read_summary
from benchctl.rundir.names import COMPLETED, REQUESTS
from benchctl.rundir.requests import WARMUP


def measured_end(run_dir: Path, info: dict[str, Any]) -> float | None:
    """Where the run in ``run_dir`` stopped measuring (s on its clock), or None when it
    completed its plan.

    ``info``: its run.json object (``status``, ``plan.phases`` as ``{"name", "start",
    "end"}`` in s). A run whose status is not ``completed`` ends where its summary.json's
    ``measured_seconds`` end along the plan (``end_of_measured``), else at its last intended
    send after the warm-up (None when it has none). Raises DamagedFileError only when it
    must read requests.parquet and that is unreadable.
    """
    if info.get("status", COMPLETED) == COMPLETED:
        return None
    phases = (info.get("plan") or {}).get("phases") or []
    measured = read_summary(run_dir).get().get("measured_seconds")  # {} when absent
    number = isinstance(measured, int | float) and not isinstance(measured, bool)
    if number and math.isfinite(measured) and measured >= 0 and phases:
        return end_of_measured(phases, float(measured))
    return _last_send(run_dir / REQUESTS)


def end_of_measured(phases: list[dict[str, Any]], measured_s: float) -> float | None:
    """The time (s) at which ``measured_s`` seconds of the measured (not warm-up) phases
    have elapsed along the plan ``phases`` (``{"name", "start", "end"}``, s): the inverse of
    ``sum(phase_seconds(phases, end))`` over them. None when ``measured_s`` covers the
    whole plan (the run measured all of it). Raises KeyError for a phase without those keys.

    Example: warm-up 0-2 s, steady 2-40 s, 18.4 measured seconds: 2 + 18.4 = 20.4 s.
    """
    left = measured_s
    ordered = sorted((p for p in phases if p["name"] != WARMUP), key=lambda p: p["start"])
    for phase in ordered:
        length = max(0.0, float(phase["end"]) - float(phase["start"]))
        if left < length:
            return float(phase["start"]) + left
        left -= length
    return None


def measured_seconds(run_dir: Path, info: dict[str, Any]) -> dict[str, float]:
    """Seconds each phase of the run in ``run_dir`` was measured over: its planned seconds
    (summed over its occurrences), cut at ``measured_end`` for a run that did not complete.
    ``info``: its run.json object. Returns ``{name: seconds}`` (>= 0). Raises as
    ``measured_end``."""
    phases = (info.get("plan") or {}).get("phases") or []
    return phase_seconds(phases, measured_end(run_dir, info))


def _last_send(path: Path) -> float | None:
    """The latest intended send (s) of a measured (not warm-up) request in ``path``; None
    without one."""
    last = -np.inf
    for batch in iter_batches(path, ["t_intended"], equals={"phase": WARMUP}):
        sent = batch["t_intended"][~batch["phase==warmup"]]
        sent = sent[np.isfinite(sent)]
        if len(sent):
            last = max(last, float(sent.max()))
    return last if np.isfinite(last) else None
