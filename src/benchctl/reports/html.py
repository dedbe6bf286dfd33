"""``write_report(run_dir)``: one self-contained HTML page (inline CSS and SVG) for one run.

Answer first: status banners, the capacity answer (from ``benchctl analyze``), key numbers,
figures over time (with the simulated replicas), latency and scalability curves with their
fits, telemetry, the recommendation tables and manifests, the per-phase table, error kinds,
then the run's facts. It renders whatever the run directory holds and says plainly what is
absent and which command produces it; only a path that is not a run at all is an error.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import pyarrow as pa

from benchctl.analysis.request_reader import SUMMARY_COLUMNS, RequestsFile, requests_file
from benchctl.analysis.summary_file import file_windows, summarize_file
from benchctl.errors import InputError
from benchctl.reports import figures
from benchctl.reports.capacity_sections import CapacityReport, capacity_report
from benchctl.reports.html_format import NONE, environment
from benchctl.reports.views import Banner, FigureView
from benchctl.reports.views import as_dict as _dict
from benchctl.reports.views import is_number as _number
from benchctl.rundir import (
    ABSENT,
    COMPLETED,
    FAILED,
    INTERRUPTED,
    NOT_OBJECT,
    PARTS,
    REPORT,
    REQUESTS,
    RUN_JSON,
    RUNNING,
    SUMMARY,
    RunDir,
    read_summary,
    write_atomic,
)
from benchctl.rundir.requests import WARMUP

TEMPLATE = "report.html.j2"


def write_report(run_dir: Path, *, output: Path | None = None) -> Path:
    """Render ``run_dir`` to ``output`` (default ``run_dir/report.html``) atomically."""
    run_dir = Path(run_dir)
    run = RunDir.open(run_dir).read_json(RUN_JSON)
    if not isinstance(run, dict):
        raise InputError(f"{run_dir / RUN_JSON}: not a run description (expected a JSON object)")
    page = environment().get_template(TEMPLATE).render(**_context(run_dir, run))
    output = run_dir / REPORT if output is None else Path(output)
    return write_atomic(output, page)  # never through a symlink


# --------------------------------------------------------------------------- page content


def _context(run_dir: Path, run: dict[str, Any]) -> dict[str, Any]:
    scenario, target = _dict(run.get("scenario")), _dict(run.get("target"))
    plan = _dict(run.get("plan"))
    phases, curve = _phases(plan.get("phases")), _curve(plan.get("curve"))
    absent: list[str] = []
    frame = _load_requests(run_dir, run, absent)
    summary = _load_summary(run_dir, absent)
    if summary is None and frame is not None and not frame.empty:
        end = None if run.get("status") == COMPLETED else frame.t_max
        phase_dicts = [{"name": n, "start": s, "end": e} for n, s, e in phases]
        summary = summarize_file(frame.path, phase_dicts, end=end)  # in batches (issue 16)
        absent[:] = [note for note in absent if not note.startswith(SUMMARY)]
        absent.append(rebuilt_summary_note(run_dir) + ".")
    overall = _dict(summary.get("overall")) if summary else {}
    duration = _duration(plan, frame, curve)
    capacity = capacity_report(run_dir, phases=phases, duration=duration)
    return {
        "run_id": run.get("id") or run_dir.name,
        "title": f"{scenario.get('name') or '?'} vs {target.get('name') or '?'}",
        "description": _dict(scenario.get("spec")).get("description", ""),
        "status": run.get("status") or "unknown",
        "banners": _banners(run),
        "lag_banners": _lag_banners(run),
        "absent": absent,
        "overall": overall,
        "measured_seconds": summary.get("measured_seconds") if summary else None,
        "phase_rows": _phase_rows(summary),
        "model_rows": _model_rows(summary),
        "split": _dict(summary.get("split")) if summary else {},  # --split arms (issue 20)
        "pooled": _pooled_note(summary),  # a split run's key numbers pool its arms
        "arm_telemetry": _dict(_dict(run.get("telemetry")).get("arms")),  # other arms' servers
        "shadow": _dict(summary.get("shadow")) if summary else {},  # --shadow pairs
        "batch": _dict(summary.get("batch")) if summary else {},
        "inputs": _dict(summary.get("inputs")) if summary else {},
        "error_rows": _error_rows(summary, overall),
        "figures": _figures(frame, plan, phases, curve, duration),
        "facts": _facts(run, scenario, target, plan, phases),
        "flags": _flags(run, overall, capacity),
        "cap": capacity,
        "send_lag": _send_lag(summary, run),
    }


def _send_lag(summary: dict[str, Any] | None, run: dict[str, Any]) -> dict[str, str] | None:
    """The generator's send lag for the tile beside the latencies (issue 17): p50/p99/max in
    ms (3 decimals: it is often tens of microseconds), the wake mechanism, the warning; from
    summary.json's generator_accuracy, else run.json's generator section; None if neither."""
    accuracy = _dict(_dict(summary).get("generator_accuracy"))
    generator = _dict(run.get("generator"))
    lag = _dict(accuracy.get("send_lag_ms") or generator.get("send_lag_ms"))
    if not _number(lag.get("p50")):
        return None
    text = {k: f"{lag[k]:.3f}" if _number(lag.get(k)) else NONE for k in ("p50", "p99", "max")}
    wake = accuracy.get("wake") or generator.get("wake") or "unknown"
    warning = accuracy.get("warning") or generator.get("send_lag_warning") or ""
    return {**text, "wake": str(wake), "warning": str(warning)}


def _banners(run: dict[str, Any]) -> list[Banner]:
    status = run.get("status")
    reason = str(run.get("reason") or "no reason recorded").rstrip(".")
    banners = []
    if status == INTERRUPTED:
        text = f"{reason}. The results cover only what was measured before it stopped."
        banners.append(Banner("interrupted", "bad", "Run interrupted", text))
    elif status == FAILED:
        text = f"{reason}. Whatever was measured before the failure is shown below."
        banners.append(Banner("failed", "bad", "Run failed", text))
    elif status == RUNNING:
        text = (
            "run.json still says 'running': the run is in progress, or its process died "
            "before it could say otherwise. The results are incomplete."
        )
        banners.append(Banner("running", "warn", "Run not finished", text))
    elif status != COMPLETED:
        text = f"run.json gives status {status!r}; treat the results with care."
        banners.append(Banner("status", "warn", "Run status unknown", text))
    generator = _dict(run.get("generator"))
    if generator.get("saturated") or run.get("generator_saturated"):
        text = (
            "The load generator ran out of CPU during this run, so the latencies measured "
            "are the generator's, not the server's: they overstate the server's latency and "
            "understate its capacity. Rerun with more workers or on a bigger machine before "
            "sizing from these numbers."
        )
        if _number(generator.get("cpu_max")):
            threshold, seconds = generator.get("threshold"), generator.get("saturated_seconds")
            text += f" Generator CPU peaked at {generator['cpu_max']:g}%"
            text += f" (threshold {threshold:g}%)" if _number(threshold) else ""
            text += f", above it for {seconds:g} s." if _number(seconds) else "."
        banners.append(Banner("generator-saturated", "bad", "Load generator saturated", text))
    banners += _telemetry_banners(run)
    banners += _fault_banners(run)
    return banners


def _lag_banners(run: dict[str, Any]) -> list[Banner]:
    """The scheduler-lag warning (issue 17), shown after the capacity answer: it qualifies
    the latencies, it is not the run's headline."""
    warning = _dict(run.get("generator")).get("send_lag_warning")
    if not warning:
        return []
    text = str(warning)
    return [Banner("send-lag", "warn", "Generator send lag", text[:1].upper() + text[1:] + ".")]


def _fault_banners(run: dict[str, Any]) -> list[Banner]:
    """What run.json says about a distributed run's own accounting (issue 10): requests sent
    but never recorded (a lost worker), and workers' clock warnings."""
    found = []
    incomplete = _dict(run.get("counts")).get("incomplete")
    if incomplete:
        found.append(Banner("incomplete", "bad", "Requests sent but not recorded", str(incomplete)))
    found += [
        Banner("clock", "warn", "Worker clock", str(text)) for text in run.get("warnings") or []
    ]
    return found


def _telemetry_banners(run: dict[str, Any]) -> list[Banner]:
    """The run's own telemetry self-check (server count vs sent), when it disagreed."""
    from benchctl.telemetry.selfcheck import report_warnings

    return [
        Banner("telemetry-self-check", "warn", "Server metrics disagree with the run", text)
        for text in report_warnings(run)
    ]


def _flags(
    run: dict[str, Any], overall: dict[str, Any], capacity: CapacityReport
) -> list[tuple[str, str, str]]:
    """(label, value, level "ok"/"warn"/"bad") for the things that change how to read a run."""
    status = str(run.get("status") or "unknown")
    saturated = bool(_dict(run.get("generator")).get("saturated") or run.get("generator_saturated"))
    dropped = overall.get("dropped")
    flags = [
        ("status", status, "ok" if status == COMPLETED else "bad"),
        ("generator saturated", "yes" if saturated else "no", "bad" if saturated else "ok"),
    ]
    if _number(dropped):
        flags.append(("dropped requests", f"{int(dropped):,}", "warn" if dropped else "ok"))
    answer = capacity.answer
    if answer is None:
        return [*flags, ("capacity analysis", "absent", "warn")]
    level = {"high": "ok", "medium": "warn"}.get(answer.confidence, "bad")
    flags.append(("confidence", answer.confidence, level))
    bound = "lower bound (at least)" if answer.bound == "lower" else answer.bound
    flags.append(("capacity", bound, "warn" if answer.bound == "lower" else "ok"))
    return flags


def _load_requests(run_dir: Path, run: dict[str, Any], absent: list[str]) -> RequestsFile | None:
    """requests.parquet's reader, or None with a note in ``absent``: a missing or damaged
    file is said as such, with the count the run recorded (``rundir.recorded``)."""
    from benchctl.rundir.recorded import requests_problem

    path = run_dir / REQUESTS
    problem = requests_problem(run_dir, run)
    if problem is None and not path.is_file():
        note = f"{REQUESTS} is absent: no requests were recorded, so there are no figures."
        if (run_dir / PARTS).is_dir():
            note += f" Unmerged parts in {PARTS}/ were not read."
        absent.append(note)
        return None
    try:
        frame = None if problem else requests_file(path, SUMMARY_COLUMNS)  # read in batches
    except (OSError, ValueError, KeyError, pa.ArrowException) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        problem = f"{REQUESTS} could not be read ({first})"
    if problem or frame is None:
        note = f"{problem}: there are no figures and no per-request analysis"
        if read_summary(run_dir).data is not None:
            note += f"; the numbers below are from {SUMMARY}"
        if (run_dir / PARTS).is_dir():
            note += f". Unmerged parts in {PARTS}/ were not read"
        absent.append(note + ".")
        return None
    if frame.empty:
        absent.append(f"{REQUESTS} holds no requests, so there are no figures.")
    return frame


def rebuilt_summary_note(run_dir: Path) -> str:
    """The report's words when summary.json cannot be used and its numbers come from
    requests.parquet instead, e.g. "summary.json is damaged (Expecting value: line 1
    column 1 (char 0)): the numbers below were computed from requests.parquet"; "" when
    summary.json reads as an object."""
    read = read_summary(run_dir)
    if read.data is not None:
        return ""
    return f"{SUMMARY} {read.why_not_read()}: the numbers below were computed from {REQUESTS}"


def _load_summary(run_dir: Path, absent: list[str]) -> dict[str, Any] | None:
    """summary.json's object, or None with a note appended to ``absent`` saying why."""
    summary = read_summary(run_dir)
    if summary.problem == ABSENT:
        absent.append(f"{SUMMARY} is absent: no summary numbers.")
    elif summary.problem == NOT_OBJECT:
        absent.append(f"{SUMMARY} is not a JSON object; ignored.")
    elif summary.problem is not None:
        absent.append(f"{SUMMARY} could not be read ({summary.detail}).")
    return summary.data


def _figures(
    frame: RequestsFile | None,
    plan: dict[str, Any],
    phases: list[figures.Phase],
    curve: list[figures.Point],
    duration: float,
) -> list[FigureView]:
    open_loop = plan.get("open_loop", True) is not False
    has_requests = frame is not None and not frame.empty
    if not (has_requests or curve):
        return []
    width = figures.window_width(duration)
    win = file_windows(frame.path, width) if has_requests else None
    rate = figures.rate_figure(
        win, width, curve=curve, phases=phases, duration=duration, open_loop=open_loop
    )
    target = "target rate" if open_loop else "planned concurrency (right axis)"
    views = [
        FigureView(
            "Request rate",
            rate,
            f"Dashed: the plan's {target}. Offered: requests scheduled per {width:g} s window "
            "of intended send time (dropped included); achieved: successful responses per "
            "window of completion.",
        )
    ]
    if win is None:
        return views
    views.append(
        FigureView(
            "Latency",
            figures.latency_figure(win, width, phases=phases, duration=duration),
            "Latency of successful requests, measured from the intended send time, so a "
            "stalled server cannot hide its stall.",
        )
    )
    views.append(
        FigureView(
            "Errors",
            figures.errors_figure(win, width, phases=phases, duration=duration),
            "Failed requests (errors) and requests the generator could not send on time "
            "(dropped), per window of intended send time.",
        )
    )
    return views


def _phase_rows(summary: dict[str, Any] | None) -> list[dict[str, Any]]:
    if not summary:
        return []
    phases = _dict(summary.get("phases"))
    rows = [
        {"name": name, "stats": _dict(stats), "excluded": name == WARMUP, "total": False}
        for name, stats in phases.items()
    ]
    if summary.get("overall"):
        overall = _dict(summary["overall"])
        rows.append({"name": "overall", "stats": overall, "excluded": False, "total": True})
    return rows


def _model_rows(summary: dict[str, Any] | None) -> list[dict[str, Any]]:
    """One row per model of a model mix (summary.json ``models``, analysis/models.py)."""
    models = _dict(summary.get("models")) if summary else {}
    return [{"name": name, "stats": _dict(stats)} for name, stats in models.items()]


def _error_rows(summary: dict[str, Any] | None, overall: dict[str, Any]) -> list[dict[str, Any]]:
    errors = _dict(summary.get("errors")) if summary else {}
    requests = overall.get("requests")
    rows = []
    for kind, count in sorted(errors.items(), key=lambda item: -(item[1] or 0)):
        share = count / requests if _number(count) and _number(requests) and requests else None
        rows.append({"kind": kind, "count": count, "share": share})
    return rows


def _facts(
    run: dict[str, Any],
    scenario: dict[str, Any],
    target: dict[str, Any],
    plan: dict[str, Any],
    phases: list[figures.Phase],
) -> list[tuple[str, list[tuple[str, Any]]]]:
    """(section title, [(key, JSON value)]) for everything run.json records."""
    command = run.get("command")
    if isinstance(command, list):
        command = shlex.join(str(part) for part in command)
    basics = [("id", run.get("id")), ("status", run.get("status")), ("reason", run.get("reason"))]
    basics += [("command", command), ("schema version", run.get("schema_version"))]
    plan_rows = [(k, v) for k, v in plan.items() if k not in ("phases", "curve")]
    plan_rows.append(("phases", ", ".join(f"{n} {s:g}–{e:g} s" for n, s, e in phases)))
    sections = [
        ("Run", basics),
        ("Scenario", _rows(scenario, "spec")),
        ("Target", _rows(target, "spec")),
        ("Plan", plan_rows),
        ("Engine", _rows(_dict(run.get("engine")))),
        ("Generator", _rows(_dict(run.get("generator")))),
        ("Counts", _rows(_dict(run.get("counts")))),
        ("Versions", _rows(_dict(run.get("versions")))),
        ("Host", _rows(_dict(run.get("host")))),
    ]
    return [(title, rows) for title, rows in sections if rows]


def _rows(data: dict[str, Any], nested: str | None = None) -> list[tuple[str, Any]]:
    """Key/value rows; the ``nested`` dict's keys are spread out after the others."""
    rows = [(k, v) for k, v in data.items() if k != nested]
    if nested is not None:
        rows += [(f"{nested}.{k}", v) for k, v in _dict(data.get(nested)).items()]
    return rows


# --------------------------------------------------------------------------- defensive reads


def _phases(value: Any) -> list[figures.Phase]:
    """Phases as dicts ({"name", "start", "end"}) or triples; malformed ones skipped."""
    phases = []
    for item in value if isinstance(value, list) else []:
        if isinstance(item, dict):
            item = (item.get("name"), item.get("start"), item.get("end"))
        if isinstance(item, list | tuple) and len(item) == 3 and all(map(_number, item[1:])):
            phases.append((str(item[0]), float(item[1]), float(item[2])))
    return phases


def _curve(value: Any) -> list[figures.Point]:
    points = []
    for item in value if isinstance(value, list) else []:
        if isinstance(item, list | tuple) and len(item) == 2 and all(map(_number, item)):
            points.append((float(item[0]), float(item[1])))
    return points


def _duration(
    plan: dict[str, Any], frame: RequestsFile | None, curve: list[figures.Point]
) -> float:
    if _number(plan.get("duration")) and plan["duration"] > 0:
        return float(plan["duration"])
    if frame is not None and not frame.empty:
        return frame.t_max
    return curve[-1][0] if curve else 0.0


def _pooled_note(summary: dict[str, Any] | None) -> str:
    """ "both arms pooled" (or "all N arms pooled") when summary.json has a ``split`` with
    two or more arms: the key numbers and phase rows mix every arm's requests; "" else."""
    from benchctl.reports.split_labels import pooled_label

    arms = _dict(_dict(summary).get("split")).get("arms") if summary else None
    return pooled_label(len(arms)) if isinstance(arms, dict) and len(arms) >= 2 else ""
