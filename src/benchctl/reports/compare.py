"""``benchctl compare RUN_A RUN_B …``: one self-contained HTML page to choose between runs.

Per run: throughput, p50/p95/p99, error rate, capacity at the SLO (from capacity.json, when
``benchctl analyze`` wrote one), the resource nearest saturation (from the telemetry
windows); overlaid latency-over-time and latency-percentile curves; and a banner when the
runs are not comparable (scenario, payload, host or time scale differ).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchctl.analysis.gate import LoadedRun, load_run, run_differences, split_arm, started
from benchctl.analysis.points import min_samples
from benchctl.analysis.sent_tensors import describe, same_tensors, sent_tensors
from benchctl.analysis.slo import Slo, parse_slo
from benchctl.analysis.summary_file import file_windows, summarize_file
from benchctl.analysis.verdict_doubts import ESTABLISHED
from benchctl.errors import InputError
from benchctl.reports.compare_capacity import NOT_ANALYZED as NOT_ANALYZED  # re-exported
from benchctl.reports.compare_capacity import capacity_cell, capacity_numbers
from benchctl.reports.compare_figures import compare_figures
from benchctl.reports.compare_results import Comparison, RunColumn, rank
from benchctl.reports.compare_results import ranking_lines as ranking_lines  # re-exported
from benchctl.reports.compare_settings import SHARE_OF, difference_notes, settings_notes
from benchctl.reports.html_format import environment
from benchctl.reports.views import Banner
from benchctl.rundir import (
    ABSENT,
    REQUESTS,
    SUMMARY,
    read_optional_parquet,
    read_summary,
    write_atomic,
)
from benchctl.rundir.requests import WARMUP
from benchctl.telemetry.session import WINDOWS

COMPARE_TEMPLATE = "compare.html.j2"
MAX_NAME = 200  # characters of a default page's name before ".html" (file names: 255)
COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf")
NEAR_SATURATION = 0.85
# telemetry_windows column, label, scale to a fraction of capacity (None: per host core)
RESOURCES = (
    ("server_cpu_percent", "server CPU", None),
    ("host_cpu_percent", "host CPU", 0.01),
    ("gpu_utilization_percent", "GPU", 0.01),
    ("generator_cpu_percent", "generator CPU", 0.01),
)


def write_compare(
    run_dirs: Sequence[Path], *, slo: str | None = None, output: Path | None = None
) -> Comparison:
    """Render the comparison page of ``run_dirs`` to ``output`` (atomically, never through
    a symlink; default ``default_output(run_dirs)``). InputError: fewer than two runs, a
    folder that is not a run, a bad SLO, an output that is a symlink or cannot be written."""
    if len(run_dirs) < 2:
        raise InputError("compare needs at least two runs: benchctl compare RUN_A RUN_B [...]")
    output = default_output(run_dirs) if output is None else output
    objective = parse_slo(slo) if slo else None
    loaded = [load_run(Path(path)) for path in run_dirs]  # RUN@ARM: that arm's requests only
    summaries = [arm_summary(run) or _summary(run) for run in loaded]
    rebuilt = tuple(note for run in loaded if (note := rebuilt_summary_note(run)))
    columns = tuple(
        _column(index, run, summary, objective)
        for index, (run, summary) in enumerate(zip(loaded, summaries, strict=True))
    )
    labels = [column.label for column in columns]
    differences = tuple(
        f"{column.label} vs A: {'; '.join(found)}"
        for column, run in zip(columns[1:], loaded[1:], strict=True)
        if (found := comparable_differences(run, loaded[0]))
    )
    notes = (*target_notes(columns), *settings_notes([r.info for r in loaded], labels), *rebuilt)
    notes += tuple(difference_notes(loaded, columns, objective))
    context = {
        "title": f"Comparison of {len(columns)} runs",
        "runs": columns,
        "best": _best(columns),
        "slo": str(objective) if objective else None,
        "banners": _banners(columns, differences)
        + [
            Banner(key, "warn", title, f" {text}.")
            for text in notes
            for key, title in [_banner_kind(text, rebuilt)]
        ],
        "figures": compare_figures(loaded, columns, _run_windows),
        "facts": _facts(loaded),
        "ranking": rank(columns, _not_comparable(columns, loaded)),
    }
    page = environment().get_template(COMPARE_TEMPLATE).render(**context)
    write_page(Path(output), page)
    return Comparison(columns, differences, context["slo"], Path(output), context["ranking"], notes)


def _not_comparable(columns: Sequence[RunColumn], loaded: Sequence[LoadedRun]) -> list[str]:
    """Labels of the runs that differ from run A (``comparable_differences``)."""
    return [
        column.label
        for column, run in zip(columns[1:], loaded[1:], strict=True)
        if comparable_differences(run, loaded[0])
    ]


def default_output(run_dirs: Sequence[Path]) -> Path:
    """Where a comparison goes without ``-o``: into the last run's directory (the candidate,
    compared against the first), named after every run compared, e.g.
    ``runs/B/compare-A_vs_B.html`` (``RUN@ARM`` keeps its arm). Nothing in the current
    folder and no other comparison is overwritten; the same comparison run again replaces
    its own page. A name over ``MAX_NAME`` characters is cut and ends with a hash of the
    whole name."""
    folder, _ = split_arm(Path(run_dirs[-1]))
    labels = [re.sub(r"[^A-Za-z0-9._@+-]", "_", Path(p).resolve().name) for p in run_dirs]
    stem = "compare-" + "_vs_".join(labels)
    if len(stem) > MAX_NAME:
        digest = hashlib.sha256(stem.encode()).hexdigest()[:12]
        stem = f"{stem[: MAX_NAME - 13]}-{digest}"
    return folder / f"{stem}.html"


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


def write_page(output: Path, page: str) -> None:
    """Write the rendered ``page`` to ``output`` atomically (never through a symlink)."""
    write_atomic(output, page)  # never through a symlink


# --------------------------------------------------------------------------- per run


def _banner_kind(note: str, rebuilt: Sequence[str]) -> tuple[str, str]:
    """The page banner (key, title) of one of ``write_compare``'s notes."""
    if note in rebuilt:
        return "summary", "Summary rebuilt"
    if note.startswith(ESTABLISHED):
        return "verdicts", "SLO verdicts differ"
    return ("targets", "Different targets") if "servers" in note else ("slos", "Mixed SLOs")


def rebuilt_summary_note(run: LoadedRun) -> str | None:
    """A warning when ``run``'s numbers in the comparison come from requests.parquet because
    its summary.json is absent, damaged or not an object (``_summary``), e.g. "runs/x:
    summary.json is damaged (Expecting value: line 1 column 1 (char 0)): its numbers were
    computed from requests.parquet"; None when summary.json was read, the run has no
    requests, or a ``RUN@ARM``'s numbers come from that arm's requests anyway."""
    if run.arm is not None or run.empty:
        return None
    read = read_summary(run.path)
    if read.data is not None:
        return None
    return f"{run.path}: {SUMMARY} {read.why_not_read()}: its numbers were computed from {REQUESTS}"


def _summary(run: LoadedRun) -> dict[str, Any]:
    """summary.json, or the same numbers computed from requests.parquet."""
    summary = read_summary(run.path).data
    if summary is not None:
        return summary
    if run.empty:
        return {}
    phases = [{"name": n, "start": s, "end": e} for n, s, e in run.phases]
    return summarize_file(run.path / REQUESTS, phases)  # in batches; run.frame lacks send lag


def _column(index: int, run: LoadedRun, summary: dict[str, Any], slo: Slo | None) -> RunColumn:
    overall = summary.get("overall") if isinstance(summary.get("overall"), dict) else {}
    scenario, target = (_dict(run.info.get(k)).get("name") or "?" for k in ("scenario", "target"))
    resources, bottleneck = _resources(run)
    slo_met = _slo_met(overall, slo)
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
        capacity=capacity_cell(run.path, slo),
        slo_met=slo_met,
        resources=resources,
        bottleneck=bottleneck,
        **capacity_numbers(run.path),
        doubts=_doubts(run, overall, slo, slo_met),
    )


def _doubts(
    run: LoadedRun, overall: dict[str, Any], slo: Slo | None, slo_met: bool | str | None
) -> tuple[str, ...]:
    """Why the run's SLO verdict is not established (analysis/verdict_doubts.py); ()
    without an SLO or a verdict."""
    if slo is None or slo_met is None:
        return ()
    from benchctl.analysis.verdict_doubts import measured_windows, verdict_doubts

    windows = measured_windows(run, arm_telemetry_windows(run) or run.path / WINDOWS)
    return verdict_doubts(run, overall, windows, slo, slo_met)


def _slo_met(overall: dict[str, Any], slo: Slo | None) -> bool | str | None:
    """Does the run (or arm) meet ``slo`` overall: True/False, None without an SLO or a
    percentile, or "too few samples (n < need)" when its successes are fewer than the
    percentile needs (``min_samples``: 2 / (1 - q), p99: 200), as the gate says
    "inconclusive" there: a p99 of 20 requests is their maximum, not a p99."""
    if slo is None:
        return None
    value = (overall.get("latency_ms") or {}).get(slo.column)
    if value is None:
        return None
    successes, need = overall.get("ok"), min_samples(slo.quantile)
    if isinstance(successes, int | float) and successes < need:
        return f"too few samples ({int(successes)} < {need})"
    return bool(value <= slo.threshold_ms)


def _resources(run: LoadedRun) -> tuple[tuple[tuple[str, str], ...], str]:
    """p95 of each resource gauge after warm-up, and the one nearest saturation."""
    path = arm_telemetry_windows(run) or run.path / WINDOWS  # RUN@ARM: that arm's server
    read = read_optional_parquet(path)
    if read.problem == ABSENT:
        return (), "no telemetry"
    if read.problem is not None:
        return (), f"{WINDOWS} unreadable ({type(read.error).__name__})"
    wide = read.frame
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
        where = f"{used[top]:.0%}{SHARE_OF.get(top, '')} at p95{_host_share(used, cores)}"
        return tuple(shown), f"{top} ({where})"
    return tuple(shown), f"none saturated (highest: {top} {used[top]:.0%}{SHARE_OF.get(top, '')})"


def _host_share(used: dict[str, float], cores: float) -> str:
    """A qualifier when host CPU is the top resource but the server's own processes used
    less than half of it (``used``: fractions of the host's cores at p95): the rest was
    other work on the host (the load generator, other jobs), not the server's demand."""
    host, server = used.get("host CPU"), used.get("server CPU")
    if host is None or server is None or max(used, key=lambda n: used[n]) != "host CPU":
        return ""
    if server >= host / 2:
        return ""
    own = f"{server:.0%} ({server * cores:.2f} cores)"
    return f"; the server's own {own}, the rest other work on the host"


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


def _run_windows(run: LoadedRun, path: str, width: float) -> pd.DataFrame:
    """Per-window rates and percentiles of one compared run: from the arm's rows for
    ``RUN@ARM`` (``arm_windows``; only then is a frame read), else from its
    requests.parquet in batches."""
    win = arm_windows(run.frame, path, width) if run.arm is not None else None
    if win is None:
        win = file_windows(Path(path) / REQUESTS, width)  # = windows(frame), in batches
    return win


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
    ``arm-<ARM>/telemetry_windows.parquet`` (split_telemetry.py ``arm_telemetry``)."""
    base, arm = split_arm(Path(run.path))
    if arm is None:
        return None
    section = _dict(run.info.get("arms"))
    if arm == section.get("control"):
        return base / WINDOWS
    return base / f"arm-{arm}" / WINDOWS
