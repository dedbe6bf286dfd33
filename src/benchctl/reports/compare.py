"""``benchctl compare RUN_A RUN_B …``: one self-contained HTML page to choose between runs.

Per run: throughput, p50/p95/p99, error rate, capacity at the SLO (from capacity.json, when
``benchctl analyze`` wrote one), the resource nearest saturation (from the telemetry
windows); overlaid latency-over-time and latency-percentile curves; and a banner when the
runs are not comparable (scenario, payload, host or time scale differ).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.ticker import FuncFormatter
from rich.table import Table

from benchctl.analysis.gate import LoadedRun, load_run, run_differences, split_arm, started
from benchctl.analysis.sent_tensors import describe, same_tensors, sent_tensors
from benchctl.analysis.slo import Slo, parse_slo
from benchctl.analysis.summary_file import file_windows, summarize_file
from benchctl.errors import InputError
from benchctl.reports import figures
from benchctl.reports.html_format import environment, fmt_fact, fmt_ms, fmt_pct, fmt_rps
from benchctl.reports.views import Banner, FigureView
from benchctl.rundir import (
    ABSENT,
    CAPACITY,
    NOT_OBJECT,
    REQUESTS,
    UNREADABLE,
    Capacity,
    read_capacity,
    read_summary,
    write_atomic,
)
from benchctl.rundir.requests import WARMUP
from benchctl.telemetry.session import WINDOWS

COMPARE_TEMPLATE = "compare.html.j2"
NOT_ANALYZED = "not analyzed"
COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf")
NEAR_SATURATION = 0.85
# telemetry_windows column, label, scale to a fraction of capacity (None: per host core)
RESOURCES = (
    ("server_cpu_percent", "server CPU", None),
    ("host_cpu_percent", "host CPU", 0.01),
    ("gpu_utilization_percent", "GPU", 0.01),
    ("generator_cpu_percent", "generator CPU", 0.01),
)


@dataclass(frozen=True)
class RunColumn:
    """One compared run: what the table shows about it."""

    label: str
    color: str
    id: str
    path: str
    scenario: str
    target: str
    status: str
    saturated: bool
    overall: dict[str, Any]
    capacity: str
    slo_met: bool | None
    resources: tuple[tuple[str, str], ...]
    bottleneck: str
    capacity_rps: float | None = None
    bound: str = ""
    capacity_slo: str = ""
    per_million: float | None = None
    currency: str = "USD"


@dataclass(frozen=True)
class Comparison:
    runs: tuple[RunColumn, ...]
    differences: tuple[str, ...]
    slo: str | None
    output: Path
    ranking: dict[str, list[Any]] = field(default_factory=dict)
    notes: tuple[str, ...] = ()  # warnings that do not make runs incomparable (targets)


def write_compare(
    run_dirs: Sequence[Path], *, slo: str | None = None, output: Path = Path("compare.html")
) -> Comparison:
    """Render the comparison page of ``run_dirs`` to ``output`` (atomically)."""
    if len(run_dirs) < 2:
        raise InputError("compare needs at least two runs: benchctl compare RUN_A RUN_B [...]")
    objective = parse_slo(slo) if slo else None
    loaded = [load_run(Path(path)) for path in run_dirs]  # RUN@ARM: that arm's requests only
    summaries = [arm_summary(run) or _summary(run) for run in loaded]
    columns = tuple(
        _column(index, run, summary, objective)
        for index, (run, summary) in enumerate(zip(loaded, summaries, strict=True))
    )
    differences = tuple(
        f"{column.label} vs A: {'; '.join(found)}"
        for column, run in zip(columns[1:], loaded[1:], strict=True)
        if (found := comparable_differences(run, loaded[0]))
    )
    notes = tuple(target_notes(columns))
    context = {
        "title": f"Comparison of {len(columns)} runs",
        "runs": columns,
        "best": _best(columns),
        "slo": str(objective) if objective else None,
        "banners": _banners(columns, differences)
        + [
            Banner(key, "warn", title, f" {text}.")
            for text in notes
            for key, title in [
                ("targets", "Different targets") if "servers" in text else ("slos", "Mixed SLOs")
            ]
        ],
        "figures": _figures(loaded, columns),
        "facts": _facts(loaded),
        "ranking": rank(columns),
    }
    page = environment().get_template(COMPARE_TEMPLATE).render(**context)
    write_page(Path(output), page)
    return Comparison(columns, differences, context["slo"], Path(output), context["ranking"], notes)


def target_notes(columns: Sequence[RunColumn]) -> list[str]:
    """A warning when the runs target different servers or target profiles: then every
    difference in the numbers includes the server's, not only the change under test."""
    notes = []
    if len({column.target for column in columns}) > 1:
        listed = ", ".join(f"{column.label} {column.target}" for column in columns)
        notes.append(
            f"the runs target different servers or profiles ({listed}): their differences "
            "include the server's own, which is what a comparison of servers wants and a "
            "before/after comparison does not"
        )
    slos = [(c.label, c.capacity_slo) for c in columns if c.capacity_rps is not None]
    if len({slo for _, slo in slos}) > 1:
        listed = ", ".join(f"{label} {slo}" for label, slo in slos)
        notes.append(
            f"capacities were analyzed under different SLOs ({listed}): the ranking mixes "
            "them; run benchctl analyze on every run with one --slo"
        )
    return notes


def comparable_differences(run: LoadedRun, base: LoadedRun) -> list[str]:
    """Why ``run`` does not compare with ``base``: as ``run_differences``, but the payload is
    judged on the tensors actually sent (shapes and element kinds from each run's request
    body), not on how each target's config spells them."""
    found = run_differences(run.info, base.info)
    mine, theirs = sent_tensors(run.path), sent_tensors(base.path)
    if mine is None or theirs is None:
        return found
    kept = [text for text in found if not text.startswith("payload.")]
    if not same_tensors(mine, theirs):
        kept.append(f"tensors sent: {describe(mine)} vs {describe(theirs)}")
    return kept


@dataclass(frozen=True)
class Ranked:
    """One run's place by capacity under the SLO and by cost per million inferences."""

    label: str
    capacity_rps: float | None
    bound: str  # "measured", "lower" (at least) or "" (not analyzed)
    slo: str
    per_million: float | None
    currency: str
    per_million_bound: str  # "at most" when capacity is a lower bound


def rank(columns: Sequence[RunColumn]) -> dict[str, list[Ranked]]:
    """Runs ordered by capacity (highest first) and by cost per million (lowest first); a
    lower bound ranks by its "at least" figure and says so. Runs without a figure last."""
    rows = [
        Ranked(
            c.label,
            c.capacity_rps,
            c.bound,
            c.capacity_slo,
            c.per_million,
            c.currency,
            "at most" if c.bound == "lower" else "",
        )
        for c in columns
    ]
    by_capacity = sorted(rows, key=lambda r: -r.capacity_rps if r.capacity_rps else float("inf"))
    by_cost = sorted(rows, key=lambda r: r.per_million if r.per_million else float("inf"))
    return {"capacity": by_capacity, "cost": by_cost}


def ranking_lines(comparison: Comparison) -> list[str]:
    """The ranking as plain sentences for the terminal."""
    lines = []
    for place, row in enumerate(comparison.ranking.get("capacity", []), start=1):
        if row.capacity_rps is None:
            continue
        at_least = "at least " if row.bound == "lower" else ""
        lines.append(
            f"capacity #{place}: {row.label} {at_least}{row.capacity_rps:,.1f} rps under "
            f"{row.slo} ({row.bound})"
        )
    for place, row in enumerate(comparison.ranking.get("cost", []), start=1):
        if row.per_million is None:
            continue
        bound = f"{row.per_million_bound} " if row.per_million_bound else ""
        lines.append(
            f"cost #{place}: {row.label} {bound}{row.per_million:,.2f} {row.currency} "
            "per million inferences"
        )
    return lines


def compare_table(comparison: Comparison) -> Table:
    """The terminal version, readable at 80 columns: one row per measure, one column per
    run (short measures), then each run's longer texts (capacity, bottleneck) as their own
    rows under the run's label, so nothing is cut to fit."""
    table = Table(title="comparison", title_justify="left")
    table.add_column("", no_wrap=True)
    for run in comparison.runs:
        table.add_column(run.label, justify="right")
    rows: list[tuple[str, list[str]]] = [
        ("target", [run.target for run in comparison.runs]),
        ("status", [run.status for run in comparison.runs]),
        ("ok rps", [fmt_rps(run.overall.get("throughput_rps")) for run in comparison.runs]),
    ]
    for name in ("p50", "p95", "p99"):
        latency = [run.overall.get("latency_ms") or {} for run in comparison.runs]
        rows.append((f"{name} ms", [fmt_ms(value.get(name)) for value in latency]))
    rows.append(("errors", [fmt_pct(run.overall.get("error_rate")) for run in comparison.runs]))
    if comparison.slo:
        rows.append((f"meets {comparison.slo}", [fmt_fact(r.slo_met) for r in comparison.runs]))
    for name, values in rows:
        table.add_row(name, *values)
    details = Table(title="runs", title_justify="left", show_header=False)
    details.add_column("", no_wrap=True)
    details.add_column("")
    for run in comparison.runs:
        details.add_row(run.label, run.id)
        details.add_row("  capacity", run.capacity)
        details.add_row("  bottleneck", run.bottleneck)
    if comparison.differences:
        details.caption = "NOT COMPARABLE: " + "; ".join(comparison.differences)
    outer = Table.grid()
    outer.add_row(table)
    outer.add_row(details)
    return outer


def write_page(output: Path, page: str) -> None:
    write_atomic(output, page)  # never through a symlink


# --------------------------------------------------------------------------- per run


def _summary(run: LoadedRun) -> dict[str, Any]:
    """summary.json, or the same numbers computed from requests.parquet."""
    summary = read_summary(run.path).data
    if summary is not None:
        return summary
    if run.frame.empty:
        return {}
    phases = [{"name": n, "start": s, "end": e} for n, s, e in run.phases]
    return summarize_file(run.path / REQUESTS, phases)  # in batches; run.frame lacks send lag


def _column(index: int, run: LoadedRun, summary: dict[str, Any], slo: Slo | None) -> RunColumn:
    overall = summary.get("overall") if isinstance(summary.get("overall"), dict) else {}
    scenario, target = (_dict(run.info.get(k)).get("name") or "?" for k in ("scenario", "target"))
    resources, bottleneck = _resources(run)
    return RunColumn(
        label=chr(ord("A") + index) if index < 26 else str(index + 1),
        color=COLORS[index % len(COLORS)],
        id=run.id,
        path=str(run.path),
        scenario=str(scenario),
        target=str(target),
        status=run.status,
        saturated=run.saturated,
        overall=overall,
        capacity=_capacity(run.path, slo),
        slo_met=_slo_met(overall, slo),
        resources=resources,
        bottleneck=bottleneck,
        **_capacity_numbers(run.path),
    )


def _capacity_numbers(run_dir: Path) -> dict[str, Any]:
    """capacity_rps, bound, SLO and cost per million from capacity.json (empty if absent or
    unreadable; a version 1 document's capacity comes from its single_replica)."""
    document = read_capacity(run_dir)
    if document.data is None and document.problem != NOT_OBJECT:
        return {}
    capacity = Capacity.lenient(document.get())
    single, cost = capacity.section("single_replica"), capacity.section("cost")
    per_million = cost.get("per_million_at_capacity")
    return {
        "capacity_rps": capacity.number("capacity_rps"),
        "bound": str(capacity.bound or single.get("bound") or "measured"),
        "capacity_slo": str(capacity.slo or ""),
        "per_million": float(per_million) if isinstance(per_million, int | float) else None,
        "currency": str(cost.get("currency") or "USD"),
    }


def _slo_met(overall: dict[str, Any], slo: Slo | None) -> bool | None:
    if slo is None:
        return None
    value = (overall.get("latency_ms") or {}).get(slo.column)
    return None if value is None else bool(value <= slo.threshold_ms)


def _capacity(run_dir: Path, slo: Slo | None) -> str:
    """Capacity of one replica at the SLO, as ``benchctl analyze`` wrote it."""
    read = read_capacity(run_dir)
    if read.problem == ABSENT:
        return NOT_ANALYZED
    if read.problem == UNREADABLE:
        return f"{CAPACITY} unreadable"
    document = read.get()
    single = _dict(document.get("single_replica"))
    value = single.get("capacity_rps")
    if not isinstance(value, int | float):
        return f"analyzed, no capacity in {CAPACITY}"
    bound = document.get("bound") or single.get("bound") or "measured"
    at_least = "≥ " if bound == "lower" else ""
    text = f"{at_least}{fmt_rps(value)} req/s at {document.get('slo') or 'the SLO'} ({bound})"
    if slo is not None and document.get("slo") not in (None, str(slo)):
        text += f"; not analyzed for {slo}"
    return text


def _resources(run: LoadedRun) -> tuple[tuple[tuple[str, str], ...], str]:
    """p95 of each resource gauge after warm-up, and the one nearest saturation."""
    path = arm_telemetry_windows(run) or run.path / WINDOWS  # RUN@ARM: that arm's server
    if not path.is_file():
        return (), "no telemetry"
    try:
        wide = pd.read_parquet(path)
    except (OSError, ValueError) as exc:
        return (), f"{WINDOWS} unreadable ({type(exc).__name__})"
    warmup_end = max((e for n, _, e in run.phases if n == WARMUP), default=0.0)
    if "t" in wide:
        wide = wide[wide["t"] >= warmup_end]
    cores = float(_dict(run.info.get("host")).get("cpus") or 1)
    shown, used = [], {}
    for column, label, scale in RESOURCES:
        values = wide[column].dropna().to_numpy(dtype=float) if column in wide else np.array([])
        if not len(values):
            continue
        p95 = float(np.percentile(values, 95, method="inverted_cdf"))  # nearest rank
        if scale is None:
            used[label] = p95 / 100 / cores
            shown.append((label, f"{p95 / 100:.2f} cores ({used[label]:.0%} of {cores:g})"))
        else:
            used[label] = p95 * scale
            shown.append((label, f"{p95:.0f}%"))
    if "server CPU" not in used:
        return tuple(shown), "no server CPU telemetry"
    top = max(used, key=lambda name: used[name])
    if used[top] >= NEAR_SATURATION:
        return tuple(shown), f"{top} ({used[top]:.0%} at p95)"
    return tuple(shown), f"none saturated (highest: {top} {used[top]:.0%})"


# --------------------------------------------------------------------------- page parts


def _banners(columns: Sequence[RunColumn], differences: Sequence[str]) -> list[Banner]:
    banners = []
    if differences:
        text = (
            " These runs differ in more than the server under test, so their numbers do not "
            "compare like for like: " + "; ".join(differences) + "."
        )
        banners.append(Banner("not-comparable", "bad", "Runs not comparable", text))
    for run in columns:
        if run.status != "completed":
            text = f"Run {run.label} ({run.id}) is {run.status}: its numbers are partial."
            banners.append(Banner(f"status-{run.label}", "warn", "Run not completed", text))
        if run.saturated:
            text = (
                f"Run {run.label} ({run.id}): the load generator ran out of CPU, so its "
                "latencies are partly the generator's."
            )
            banners.append(Banner(f"generator-{run.label}", "bad", "Generator saturated", text))
    return banners


def _best(columns: Sequence[RunColumn]) -> dict[str, set[str]]:
    """Labels of the runs with the highest throughput and the lowest p99."""
    rps = {c.label: c.overall.get("throughput_rps") for c in columns}
    p99 = {c.label: (c.overall.get("latency_ms") or {}).get("p99") for c in columns}
    rps = {k: v for k, v in rps.items() if isinstance(v, int | float)}
    p99 = {k: v for k, v in p99.items() if isinstance(v, int | float)}
    return {
        "throughput": {k for k, v in rps.items() if v == max(rps.values())},
        "p99": {k for k, v in p99.items() if v == min(p99.values())},
    }


def _facts(loaded: Sequence[LoadedRun]) -> list[dict[str, Any]]:
    """Rows of setup facts, one value per run; ``differs`` marks the rows that differ."""
    getters = {
        "started": lambda info, path: started(info, path),
        "scenario": lambda info, _: _get(info, "scenario", "name"),
        "scenario spec": lambda info, _: _get(info, "scenario", "spec"),
        "time scale": lambda info, _: _get(info, "scenario", "time_scale"),
        "target": lambda info, _: _get(info, "target", "name"),
        "server": lambda info, _: _get(info, "target", "spec", "kind"),
        "protocol": lambda info, _: _get(info, "target", "spec", "protocol"),
        "model": lambda info, _: _get(info, "target", "spec", "model"),
        "model version": lambda info, _: _get(info, "target", "spec", "model_version"),
        "payload": lambda info, _: _get(info, "target", "spec", "payload"),
        "launch": lambda info, _: _get(info, "target", "spec", "launch"),
        "workers": lambda info, _: _get(info, "engine", "workers"),
        "host": lambda info, _: _get(info, "host", "hostname"),
        "cpu": lambda info, _: _get(info, "host", "cpu_model"),
        "cpus": lambda info, _: _get(info, "host", "cpus"),
        "benchctl": lambda info, _: _get(info, "versions", "benchctl"),
    }
    rows = []
    for name, getter in getters.items():
        values = [getter(run.info, run.path) for run in loaded]
        differs = name != "started" and any(v != values[0] for v in values)
        rows.append({"name": name, "values": values, "differs": differs})
    return rows


# --------------------------------------------------------------------------- figures


def _figures(loaded: Sequence[LoadedRun], columns: Sequence[RunColumn]) -> list[FigureView]:
    frames = [run.frame for run in loaded]
    if all(frame.empty for frame in frames):
        return []
    duration = max(_duration(run) for run in loaded)
    width = figures.window_width(duration)
    return [
        FigureView(
            "Latency over time",
            _latency_over_time(frames, columns, width, duration),
            "p99 (solid) and p50 (dashed) of successful requests per window of intended "
            "send time, one colour per run.",
        ),
        FigureView(
            "Latency percentiles",
            _percentile_curves(frames, columns),
            "Latency at each percentile after warm-up, up to the highest percentile each run "
            "has enough requests for; the further right, the rarer.",
        ),
        FigureView(
            "Throughput over time",
            _throughput_over_time(frames, columns, width, duration),
            "Successful responses per second, per window of completion time.",
        ),
    ]


def _latency_over_time(
    frames: Sequence[pd.DataFrame], columns: Sequence[RunColumn], width: float, duration: float
) -> str:
    fig, ax = figures._figure()
    plotted = []
    for frame, run in zip(frames, columns, strict=True):
        if frame.empty:
            continue
        win = arm_windows(frame, run.path, width)  # RUN@ARM: from the arm's rows
        if win is None:
            win = file_windows(Path(run.path) / REQUESTS, width)  # = windows(frame), in batches
        mid = win["t"] + width / 2
        ax.plot(mid, win["p99"], color=run.color, lw=1.4, label=f"{run.label} p99")
        ax.plot(mid, win["p50"], color=run.color, lw=1.0, ls="--", label=f"{run.label} p50")
        plotted += [win["p50"], win["p99"]]
    _latency_axis(ax, plotted)
    title = f"Latency per {width:g} s window: p99 (solid), p50 (dashed)"
    figures._finish(fig, ax, title, duration)
    return figures._svg(fig, "cmp-latency", title)


def _percentile_curves(frames: Sequence[pd.DataFrame], columns: Sequence[RunColumn]) -> str:
    """Latency against percentile on a 'nines' axis: x = -log10(1 - q)."""
    fig, ax = figures._figure()
    plotted = []
    for frame, run in zip(frames, columns, strict=True):
        latency = _measured_latency(frame)
        if len(latency) < 2:
            continue
        top = min(1 - 1 / len(latency), 0.9999)
        quantiles = 1 - np.logspace(np.log10(0.5), np.log10(1 - top), 120)
        plotted.append(np.quantile(latency, quantiles, method="inverted_cdf"))  # nearest rank
        x = -np.log10(1 - quantiles)
        ax.plot(x, plotted[-1], color=run.color, lw=1.5, label=f"{run.label} {run.target}")
    ticks = [0.5, 0.9, 0.99, 0.999, 0.9999]
    ax.set_xticks([-np.log10(1 - q) for q in ticks], [f"p{q * 100:g}" for q in ticks])
    _latency_axis(ax, plotted)
    title = "Latency percentiles after warm-up (successful requests)"
    figures._finish(fig, ax, title, 0.0)
    ax.set_xlabel("percentile")
    return figures._svg(fig, "cmp-percentiles", title)


def _throughput_over_time(
    frames: Sequence[pd.DataFrame], columns: Sequence[RunColumn], width: float, duration: float
) -> str:
    fig, ax = figures._figure()
    for frame, run in zip(frames, columns, strict=True):
        if not frame.empty:
            win = arm_windows(frame, run.path, width)  # RUN@ARM: from the arm's rows
            if win is None:
                win = file_windows(Path(run.path) / REQUESTS, width)  # = windows(frame), batched
            ax.plot(
                win["t"] + width / 2, win["achieved_rps"], color=run.color, lw=1.3, label=run.label
            )
    ax.set_ylabel("requests / s")
    ax.set_ylim(bottom=0)
    title = "Throughput (successful responses per second)"
    figures._finish(fig, ax, title, duration)
    return figures._svg(fig, "cmp-throughput", title)


def _latency_axis(ax: Any, series: Sequence[Any]) -> None:
    values = np.concatenate([np.asarray(s, dtype=float) for s in series] or [np.array([])])
    values = values[np.isfinite(values) & (values > 0)]
    if len(values) and values.max() / values.min() > figures.LOG_RATIO:
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
        ax.set_ylabel("latency (ms, log scale)")
    else:
        ax.set_ylim(bottom=0)
        ax.set_ylabel("latency (ms)")


def _measured_latency(frame: pd.DataFrame) -> np.ndarray:
    if frame.empty:
        return np.array([])
    keep = frame["ok"].to_numpy(dtype=bool) & (frame["phase"] != WARMUP).to_numpy(dtype=bool)
    return frame["latency_ms"].to_numpy(dtype=float)[keep]


def _duration(run: LoadedRun) -> float:
    planned = _dict(run.info.get("plan")).get("duration")
    if isinstance(planned, int | float) and planned > 0:
        return float(planned)
    return float(run.frame["t_intended"].max()) if not run.frame.empty else 0.0


def _get(data: Any, *keys: str) -> Any:
    for key in keys:
        data = _dict(data).get(key)
    return data


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


# --------------------------------------------------------------------------- arms (RUN@ARM)
# One arm of a split run (``benchctl run --split``) compares like a run: ``RUN@ARM`` loads
# that arm's requests only (analysis/gate's load_run; an unknown arm is one line naming the
# arms that exist, exit 2). These give the arm's numbers where a run's come from its files.


def arm_summary(run: LoadedRun) -> dict[str, Any] | None:
    """``{"overall": stats}`` of one arm (``RUN@ARM``), None for a whole run.

    Input: a loaded run. Output: summary.json's ``split.arms[ARM]`` (the arm's statistics
    after warm-up, the same keys and formulas as a run's ``overall``: analysis/summary.py's
    ``stats`` over the run's measured seconds), or, when summary.json lacks it, the same
    computed from requests.parquet (analysis/verdicts.py ``split_summaries``). Raises
    InputError (one line, exit 2) for the shadow arm of a shadow run (its requests are
    pairs in shadow.parquet, not rows of requests.parquet) or when requests.parquet cannot
    be read.
    """
    base, arm = split_arm(Path(run.path))
    if arm is None:
        return None
    if arm == _dict(run.info.get("arms")).get("shadow"):
        raise InputError(
            f"{run.path}: {arm!r} is the shadow of this run (--shadow): its latencies are "
            "paired with the served arm's in shadow.parquet (benchctl report shows them); "
            f"compare takes the served arm ({base}@{_dict(run.info.get('arms')).get('control')})"
        )
    split = read_summary(base).get()
    found = _dict(_dict(split.get("split")).get("arms")).get(arm)
    if isinstance(found, dict):
        return {"overall": found}
    from benchctl.analysis.verdicts import split_summaries

    names = [str(a.get("name")) for a in _dict(run.info.get("arms")).get("arms") or []]
    phases = [{"name": n, "start": s, "end": e} for n, s, e in run.phases]
    computed = split_summaries(base / REQUESTS, phases, names) if names else {}
    return {"overall": _dict(computed.get("arms")).get(arm) or {}}


def arm_windows(frame: pd.DataFrame, path: str | Path, width: float) -> pd.DataFrame | None:
    """Per-window rates and percentiles (analysis/summary.py ``windows``) of one arm's rows
    (``frame``, already only that arm's) when ``path`` is ``RUN@ARM``; None for a whole run
    (whose windows are read from its requests.parquet in batches). ``width`` in seconds."""
    if split_arm(Path(path))[1] is None:
        return None
    from benchctl.analysis.summary import windows

    return windows(frame, width)


def arm_telemetry_windows(run: LoadedRun) -> Path | None:
    """Where one arm's server telemetry windows are (``RUN@ARM``; None for a whole run): the
    control arm's server is the run's telemetry_windows.parquet; every other arm's is
    ``arm-<ARM>/telemetry_windows.parquet`` (split_run.py ``arm_telemetry``)."""
    base, arm = split_arm(Path(run.path))
    if arm is None:
        return None
    section = _dict(run.info.get("arms"))
    if arm == section.get("control"):
        return base / WINDOWS
    return base / f"arm-{arm}" / WINDOWS
