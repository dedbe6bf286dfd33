"""`benchctl telemetry RUN`: what was sampled and what it showed, as data.

``telemetry_summary`` reads a run and returns a ``TelemetrySummary``; the terminal screen
(``benchctl.reports.terminal.telemetry``) draws it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from benchctl.analysis.percentiles import percentile
from benchctl.rundir import TELEMETRY, TELEMETRY_WINDOWS, RunDir, read_parquet
from benchctl.telemetry.selfcheck import check_server_counts

WINDOWS = TELEMETRY_WINDOWS
WARNING, DETAIL = "warning", "detail"  # the kinds of a summary note

# (column of telemetry_windows.parquet, label, unit scale, unit)
SHOWN = [
    ("host_cpu_percent", "host CPU (mean of all cores)", 1.0, "%"),
    ("host_memory_used_bytes", "host memory used", 2**-30, "GiB"),
    ("generator_cpu_percent", "generator CPU (busiest process, 100% = 1 core)", 1.0, "%"),
    ("server_cpu_percent", "server CPU (process tree, 100% = 1 core)", 1.0, "%"),
    ("server_rss_bytes", "server RSS (process tree)", 2**-20, "MiB"),
    ("server_processes", "server processes", 1.0, ""),
    ("gpu_utilization_percent", "GPU utilization", 1.0, "%"),
    ("gpu_memory_used_bytes", "GPU memory used", 2**-30, "GiB"),
    ("gpu_power_watts", "GPU power", 1.0, "W"),
    ("server_queue_ms", "server queue time per request", 1.0, "ms"),
    ("server_compute_ms", "server compute time per request", 1.0, "ms"),
]


@dataclass(frozen=True)
class MetricRow:
    """One sampled metric over the run's windows: mean, p95 (nearest rank) and max, in
    ``unit`` (the scale of ``SHOWN`` applied)."""

    label: str
    mean: float
    p95: float
    max: float
    unit: str


@dataclass(frozen=True)
class Note:
    """One line under the table: ``kind`` WARNING (something to act on) or DETAIL."""

    text: str
    kind: str


@dataclass(frozen=True)
class TelemetrySummary:
    """What ``benchctl telemetry RUN`` shows of run ``name``.

    ``missing``: why nothing is shown (no telemetry recorded), else None; ``window_s``: the
    telemetry window in s; ``metrics``: the metrics sampled, in ``SHOWN`` order;
    ``server_requests``: requests the server counted as finished over the run (None when it
    counts none); ``sent``: requests the generator sent (run.json ``counts.sent``; in a
    split run, those sent to ``scope``, the arm whose server the table's count is from);
    ``notes``: self-check, exposed stages, sampler notes and errors, in that order."""

    name: str
    missing: str | None = None
    window_s: float = 5.0
    metrics: tuple[MetricRow, ...] = ()
    server_requests: float | None = None
    sent: int | None = None
    notes: tuple[Note, ...] = ()
    scope: str = ""


def telemetry_summary(run: RunDir) -> TelemetrySummary:
    """Summarize the telemetry of ``run``: per metric of ``SHOWN`` the mean, p95 and max
    over its windows (telemetry_windows.parquet), the server's request count against the
    requests sent, and the self-check. InputError (one line) for a damaged run.json or
    telemetry_windows.parquet."""
    run_info = run.info()  # typed run.json (benchctl.rundir.models.RunInfo)
    info = run_info.telemetry if run_info.telemetry is not None else {}
    if not (run.path / WINDOWS).is_file():
        return TelemetrySummary(
            run.name, missing=f"{run.path}: no telemetry recorded ({TELEMETRY} is missing)"
        )
    wide = read_parquet(run.path / WINDOWS)  # DamagedFileError (one line, exit 2)
    counted = "server_requests" in wide and wide["server_requests"].notna().any()
    check = info.get("self_check") or check_server_counts(run.path, dict(info))
    sent = run_info.counts.sent if run_info.counts is not None else None
    scope = ", ".join(check.get("arms") or []) if isinstance(check, dict) else ""
    if scope and isinstance(check.get("sent"), int):  # a split run: the control's server
        sent = check["sent"]
    return TelemetrySummary(
        run.name,
        window_s=info.get("window_s", 5),
        metrics=_metrics(wide),
        server_requests=wide["server_requests"].sum() if counted else None,
        sent=sent,
        notes=(*_check_notes(check, scope), *_arm_notes(info), *_info_notes(info)),
        scope=scope,
    )


def _arm_notes(info: dict[str, Any]) -> list[Note]:
    """The self-check of each other arm of a split run (its own server), as notes."""
    notes = []
    for name, arm in (info.get("arms") or {}).items():
        check = arm.get("self_check") if isinstance(arm, dict) else None
        if isinstance(check, dict):
            notes += _check_notes(check, str(name))
    return notes


def _metrics(wide: Any) -> tuple[MetricRow, ...]:
    """Per metric of ``SHOWN`` that ``wide`` (telemetry windows) holds values of: its
    mean, p95 and max in its unit."""
    rows = []
    for column, label, scale, unit in SHOWN:
        values = wide[column].dropna().to_numpy() * scale if column in wide else np.array([])
        if len(values):
            rows.append(MetricRow(label, values.mean(), percentile(values, 95), values.max(), unit))
    return tuple(rows)


def _check_notes(check: dict[str, Any] | None, arm: str = "") -> list[Note]:
    """The self-check (server-side count vs requests sent; of ``arm``'s server in a split
    run) as notes."""
    label = f"self-check ({arm})" if arm else "self-check"
    if check and check.get("warning"):
        return [Note(f"{label}: {check['warning']}", WARNING)]
    if not check:
        return []
    notes = [
        Note(
            f"{label}: server-side count {check['server_requests']:,} agrees with "
            f"{check['sent']:,} sent (allowed ±{check['tolerance']})",
            DETAIL,
        )
    ]
    if check.get("note"):  # sent but never recorded: the server saw them
        notes.append(Note(f"{label}: {check['note']}", WARNING))
    return notes


def _info_notes(info: dict[str, Any]) -> list[Note]:
    """run.json's telemetry section as notes: the server stages its queue and compute times
    sum and those it does not expose, the samplers' notes, and failed samples."""
    notes = []
    exposed = info.get("server_metrics") or {}
    for part in ("queue", "compute"):
        missing = exposed.get(f"{part}_stages_missing")
        if missing:
            notes.append(
                Note(
                    f"server {part} time: sum of {', '.join(exposed[f'{part}_stages'])}; "
                    f"not exposed: {', '.join(missing)}",
                    DETAIL,
                )
            )
    notes += [Note(note, DETAIL) for note in info.get("notes", [])]
    for sampler, count in info.get("sampler_errors", {}).items():
        notes.append(Note(f"{sampler}: {count} failed samples (recorded as gaps)", WARNING))
    return notes
