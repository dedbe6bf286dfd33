"""`benchctl telemetry RUN`: a short table of what was sampled and what it showed."""

from __future__ import annotations

from typing import Any

import numpy as np
from rich.console import Group
from rich.table import Table
from rich.text import Text

from benchctl.analysis.percentiles import percentile
from benchctl.rundir import TELEMETRY, TELEMETRY_WINDOWS, RunDir, read_parquet
from benchctl.telemetry.selfcheck import check_server_counts

WINDOWS = TELEMETRY_WINDOWS

# (column of telemetry_windows.parquet, label, unit scale, unit)
SHOWN = [
    ("host_cpu_percent", "host CPU", 1.0, "%"),
    ("host_memory_used_bytes", "host memory used", 2**-30, "GiB"),
    ("generator_cpu_percent", "generator CPU (busiest process)", 1.0, "%"),
    ("server_cpu_percent", "server CPU (process tree)", 1.0, "%"),
    ("server_rss_bytes", "server RSS (process tree)", 2**-20, "MiB"),
    ("server_processes", "server processes", 1.0, ""),
    ("gpu_utilization_percent", "GPU utilization", 1.0, "%"),
    ("gpu_memory_used_bytes", "GPU memory used", 2**-30, "GiB"),
    ("gpu_power_watts", "GPU power", 1.0, "W"),
    ("server_queue_ms", "server queue time per request", 1.0, "ms"),
    ("server_compute_ms", "server compute time per request", 1.0, "ms"),
]


def telemetry_summary(run: RunDir) -> Group:
    """What ``benchctl telemetry RUN`` prints: a table of the sampled metrics per window
    (mean, p95, max, in the units of ``SHOWN``), the server's request count against the
    requests sent, and the self-check line. InputError (one line) for a damaged run.json
    or telemetry_windows.parquet."""
    run_info = run.info()  # typed run.json (benchctl.rundir.models.RunInfo)
    info = run_info.telemetry if run_info.telemetry is not None else {}
    if not (run.path / WINDOWS).is_file():
        return Group(Text(f"{run.path}: no telemetry recorded ({TELEMETRY} is missing)"))
    wide = read_parquet(run.path / WINDOWS)  # DamagedFileError (one line, exit 2)
    sent = run_info.counts.sent if run_info.counts is not None else None
    parts: list = [_metrics_table(run.name, wide, info.get("window_s", 5), sent)]
    check = info.get("self_check") or check_server_counts(run.path, dict(info))
    if check and check.get("warning"):
        parts.append(Text(f"self-check: {check['warning']}", style="yellow"))
    elif check:
        parts.append(
            Text(
                f"self-check: server-side count {check['server_requests']:,} agrees with "
                f"{check['sent']:,} sent (allowed ±{check['tolerance']})",
                style="dim",
            )
        )
        if check.get("note"):  # sent but never recorded: the server saw them
            parts.append(Text(f"self-check: {check['note']}", style="yellow"))
    exposed = info.get("server_metrics") or {}
    for part in ("queue", "compute"):
        missing = exposed.get(f"{part}_stages_missing")
        if missing:
            parts.append(
                Text(
                    f"server {part} time: sum of {', '.join(exposed[f'{part}_stages'])}; "
                    f"not exposed: {', '.join(missing)}",
                    style="dim",
                )
            )
    for note in info.get("notes", []):
        parts.append(Text(note, style="dim"))
    for sampler, count in info.get("sampler_errors", {}).items():
        parts.append(Text(f"{sampler}: {count} failed samples (recorded as gaps)", style="yellow"))
    return Group(*parts)


def _metrics_table(name: str, wide: Any, window_s: float, sent: int | None) -> Table:
    """The table of run ``name``: per metric of ``SHOWN`` in ``wide`` (telemetry windows
    of ``window_s`` s), mean, p95 and max in its unit; then the server's request count
    over the run and the ``sent`` requests, when the server counted requests."""
    table = Table(title=f"telemetry of {name} (per {window_s:g} s window)", title_justify="left")
    for column in ("metric", "mean", "p95", "max", "unit"):
        table.add_column(column, justify="left" if column in ("metric", "unit") else "right")
    for column, label, scale, unit in SHOWN:
        values = wide[column].dropna().to_numpy() * scale if column in wide else np.array([])
        if len(values):
            table.add_row(
                label,
                f"{values.mean():,.1f}",
                f"{percentile(values, 95):,.1f}",
                f"{values.max():,.1f}",
                unit,
            )
    if "server_requests" in wide and wide["server_requests"].notna().any():
        total = wide["server_requests"].sum()
        table.add_row("server-side requests finished", f"{total:,.0f}", "", "", "total")
        if sent is not None:
            table.add_row("requests sent by benchctl", f"{sent:,}", "", "", "total")
    return table
