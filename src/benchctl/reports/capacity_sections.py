"""The capacity parts of a run's report, from what ``benchctl analyze`` and the telemetry
samplers left in the run directory.

Each part is built only from its own file (capacity.json, autoscale.parquet, manifests/,
telemetry_windows.parquet); when a file is absent the part says so and names the command
that produces it.
"""

from __future__ import annotations

import itertools
import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from benchctl.analysis.answer import (
    capacity_sentence,
    cost_sentence,
    replicas_sentence,
    saturation_sentence,
)
from benchctl.analysis.demand_bound import demand_sentence
from benchctl.analysis.model_capacity import model_capacity_lines
from benchctl.analysis.service_demand import demand_notes
from benchctl.analysis.slo import Slo, parse_slo
from benchctl.errors import InputError
from benchctl.reports.capacity_figure_views import curve_figures, scaling_figure, telemetry_figures
from benchctl.reports.figures import Phase
from benchctl.reports.views import Banner, FigureView, as_dict, is_number, num
from benchctl.rundir import (
    ABSENT,
    CAPACITY,
    MANIFESTS,
    NOT_OBJECT,
    RUN_JSON,
    SEARCH,
    read_capacity,
    read_document,
)

EXAMPLE_SLO = "p99<=200ms"
# (text in a warning, banner key, level, title); the first match wins.
_WARNING_KINDS = (
    ("contradicted by this run", "contradicted", "bad", "Capacity contradicted by this run"),
    ("busy host", "busy-host", "bad", "Busy host"),
    ("extrapolated", "extrapolated", "bad", "Capacity extrapolated"),
    ("generator_saturated", "generator-saturated", "bad", "Load generator saturated"),
    ("the run is", "incomplete", "bad", "Run incomplete"),
    ("dropped", "dropped", "warn", "Requests dropped"),
    ("Little's law", "littles-law", "warn", "In-flight counts disagree"),
    ("no latency curve", "no-fit", "warn", "No curve fitted"),
)


@dataclass(frozen=True)
class Answer:
    """The numbers a capacity planner acts on, from capacity.json."""

    slo: str
    capacity_rps: float | None
    band: tuple[float, float] | None
    measured_capacity_rps: float | None
    extrapolated: bool
    saturation_rps: float | None
    knee_rps: float | None
    replicas: int | None
    peak_rps: float | None
    replicas_reason: str
    per_month: float | None
    per_million: float | None
    price_per_hour: float | None
    confidence: str
    confidence_reasons: list[str]
    scaling_lines: list[tuple[str, str]]  # (autoscaler, one line)
    scaling_skipped: str | None
    spike_advice: str
    spike_urgent: bool
    demand: str | None
    bound: str = "measured"  # "measured" or "lower" (at least)
    headline: str = ""  # the same sentences `benchctl analyze` prints
    replicas_line: str | None = None
    cost_line: str = ""
    replicas_upper_bound: bool = False
    currency: str = "USD"
    saturation_source: str = "fit"  # or "overloaded level" (measured)
    model_lines: list[str] = field(default_factory=list)  # a model mix: each model's capacity
    model_capacity: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> models.*
    figure_source: str = ""  # capacity.json capacity_source: fit, best_good_level, mix or ""
    saturation_line: str | None = None  # answer.saturation_sentence (or the bound measured)


@dataclass(frozen=True)
class Autoscaler:
    """One simulated autoscaler as the report lists it: its settings and simulated totals."""

    title: str
    settings: list[tuple[str, str]]
    simulated: list[tuple[str, str]]


@dataclass(frozen=True)
class Manifest:
    """One file of manifests/: its name and YAML text."""

    name: str
    text: str

    @property
    def kind(self) -> str:
        """The Kubernetes kind it declares ("" when it declares none)."""
        found = re.search(r"^kind:\s*(\S+)", self.text, re.MULTILINE)
        return found.group(1) if found else ""


@dataclass(frozen=True)
class CapacityReport:
    """Everything the capacity parts of report.html.j2 show; None/empty where absent."""

    analyze_command: str
    analysis_note: str | None = None
    nothing_to_analyze: str | None = None  # why analyze cannot work (then no command)
    answer: Answer | None = None
    warnings: list[Banner] = field(default_factory=list)
    replica_rows: list[dict[str, Any]] = field(default_factory=list)
    replica_check_note: str | None = None  # why the M/M/c check does not support the count
    slo_column: str = "p99"
    autoscalers: list[Autoscaler] = field(default_factory=list)
    manifests: list[Manifest] = field(default_factory=list)
    manifests_note: str | None = None
    curve_figures: list[FigureView] = field(default_factory=list)
    curve_notes: list[str] = field(default_factory=list)
    scaling_figure: FigureView | None = None
    scaling_note: str | None = None
    telemetry_figures: list[FigureView] = field(default_factory=list)
    telemetry_note: str | None = None


def capacity_report(run_dir: Path, *, phases: Sequence[Phase], duration: float) -> CapacityReport:
    """The capacity parts of ``run_dir``'s report (never raises for a missing file)."""
    doc, problem = _read_capacity(run_dir)
    slo = _slo(doc)
    command = analyze_command(run_dir, doc.get("slo") if doc else run_slo(run_dir))
    telemetry, telemetry_note = telemetry_figures(run_dir, phases, duration)
    manifests = _manifests(run_dir)
    scaling, scaling_note = scaling_figure(run_dir, doc, command)
    report = CapacityReport(
        analyze_command=command,
        analysis_note=problem,
        manifests=manifests,
        manifests_note=None if manifests else _manifests_note(doc, command),
        scaling_figure=scaling,
        scaling_note=scaling_note,
        telemetry_figures=telemetry,
        telemetry_note=telemetry_note,
    )
    if doc is None:
        return _without_analysis(run_dir, report)
    figures, notes = curve_figures(doc, slo)
    return replace(
        report,
        answer=_answer(doc),
        warnings=_warnings(doc),
        replica_rows=_replica_rows(doc),
        replica_check_note=_replica_check_note(doc),
        slo_column=slo.column if slo else "quantile",
        autoscalers=_autoscalers(doc),
        curve_figures=figures,
        curve_notes=notes,
    )


def run_slo(run_dir: Path) -> str | None:
    """The SLO the run itself was made with (a capacity search's search.json, the
    scenario's ``slo`` field, or ``--slo`` in run.json's command), or None: the report
    suggests that one, never an example SLO in its place."""
    for name, keys in ((SEARCH, ("slo",)), (RUN_JSON, ("scenario", "spec", "slo"))):
        value: Any = read_document(run_dir / name).get()
        for key in keys:
            value = value.get(key) if isinstance(value, dict) else None
        if isinstance(value, str) and value:
            return value
    command = read_document(run_dir / RUN_JSON).get().get("command")
    if isinstance(command, list):
        for flag, value in itertools.pairwise(command):
            if flag == "--slo" and isinstance(value, str):
                return value
        for item in command:
            if isinstance(item, str) and item.startswith("--slo="):
                return item.split("=", 1)[1]
    return None


def _without_analysis(run_dir: Path, report: CapacityReport) -> CapacityReport:
    """``report`` of a run without capacity.json: when ``benchctl analyze`` cannot work on
    it (no successes after the warm-up, too few for the percentile), the notes say why
    instead of suggesting the command (reports/analyze_advice.py; trial 5, finding 9)."""
    from benchctl.reports.analyze_advice import nothing_to_analyze

    slo = shlex.split(report.analyze_command)[-1]
    why = nothing_to_analyze(run_dir, slo)
    if why is None:
        return report
    return replace(
        report,
        nothing_to_analyze=why,
        manifests_note=None if report.manifests else f"No manifests. {why}",
        scaling_note=f"No autoscaler simulation. {why}"
        if report.scaling_figure is None
        else report.scaling_note,
    )


def analyze_command(run_dir: Path, slo: Any = None) -> str:
    """The shell command that writes capacity.json, autoscale.parquet and manifests/."""
    objective = slo if isinstance(slo, str) and slo else EXAMPLE_SLO
    return shlex.join(["benchctl", "analyze", str(run_dir), "--slo", objective])


# --------------------------------------------------------------------------- reading


def _read_capacity(run_dir: Path) -> tuple[dict[str, Any] | None, str | None]:
    """capacity.json's object and None, or None and the note saying why there is none."""
    read = read_capacity(run_dir)
    if read.problem == ABSENT:
        return None, f"No capacity analysis: {CAPACITY} is absent."
    if read.problem == NOT_OBJECT:
        return None, f"{CAPACITY} is not a JSON object; ignored."
    if read.problem is not None:
        return None, f"{CAPACITY} could not be read ({read.detail})."
    return read.data, None


def _slo(doc: dict[str, Any] | None) -> Slo | None:
    try:
        return parse_slo(str(doc.get("slo"))) if doc else None
    except InputError:
        return None


# --------------------------------------------------------------------------- the answer


def _answer(doc: dict[str, Any]) -> Answer:
    single, replicas = as_dict(doc.get("single_replica")), as_dict(doc.get("replicas"))
    cost, confidence = as_dict(doc.get("cost")), as_dict(doc.get("confidence"))
    scaling = as_dict(doc.get("autoscaling"))
    advice = str(scaling.get("spike_advice") or "")
    lower, upper = single.get("lower_rps"), single.get("upper_rps")
    return Answer(
        slo=str(doc.get("slo") or "?"),
        capacity_rps=num(single.get("capacity_rps")),
        band=(lower, upper) if is_number(lower) and is_number(upper) else None,
        measured_capacity_rps=num(single.get("measured_capacity_rps")),
        extrapolated=bool(single.get("extrapolated")),
        saturation_rps=num(single.get("saturation_rps")),
        saturation_source=str(single.get("saturation_source") or "fit"),
        knee_rps=num(single.get("knee_rps")),
        replicas=int(replicas["recommended"]) if is_number(replicas.get("recommended")) else None,
        peak_rps=num(doc.get("peak_rps")),
        replicas_reason=str(replicas.get("reason") or ""),
        per_month=num(cost.get("per_month")),
        per_million=num(cost.get("per_million_at_capacity")),
        price_per_hour=num(cost.get("price_per_replica_hour")),
        confidence=str(confidence.get("level") or "unknown"),
        confidence_reasons=[str(r) for r in confidence.get("reasons") or []],
        scaling_lines=_scaling_lines(scaling),
        scaling_skipped=scaling.get("skipped"),
        spike_advice=advice,
        spike_urgent="cannot keep up" in advice or advice.startswith("Not shown"),
        demand=demand_sentence(doc) or _demand_line(as_dict(doc.get("service_demand"))),
        bound=str(doc.get("bound") or single.get("bound") or "measured"),
        headline=capacity_sentence(doc),
        replicas_line=replicas_sentence(doc),
        cost_line=cost_sentence(doc),
        replicas_upper_bound=bool(replicas.get("is_upper_bound")),
        currency=str(cost.get("currency") or "USD"),
        model_lines=model_capacity_lines(doc),
        model_capacity=_model_capacity(doc),
        figure_source=str(doc.get("capacity_source") or ""),
        saturation_line=saturation_sentence(doc),  # as the terminal prints it
    )


def _model_capacity(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """capacity.json ``models.models`` (analysis/model_capacity.py): name -> that model's
    capacity_rps, bound and band; {} when absent or damaged."""
    models = as_dict(as_dict(doc.get("models")).get("models"))
    return {str(name): as_dict(found) for name, found in models.items()}


def _scaling_lines(scaling: dict[str, Any]) -> list[tuple[str, str]]:
    lines = []
    for key, name in (("hpa", "HPA"), ("kpa", "Knative (KServe)")):
        chosen = as_dict(scaling.get(key))
        if not chosen.get("reason"):
            continue
        violated = as_dict(chosen.get("result")).get("slo_violation_seconds")
        text = str(chosen["reason"])
        if is_number(violated):
            text += f"; SLO violated {violated:g} s in the simulation"
        lines.append((name, text))
    return lines


def _demand_line(demand: dict[str, Any]) -> str | None:
    first = demand.get("saturates_first")
    numbers = as_dict(demand.get(first)) if isinstance(first, str) else {}
    if not is_number(numbers.get("ms_per_request")):
        notes = demand_notes(demand)  # why no resource gives a ceiling (service_demand.py)
        return f"Service demand, no ceiling: {'; '.join(notes)}." if notes else None
    line = f"{first} service demand {numbers['ms_per_request']:.2f} ms per request"
    if is_number(numbers.get("saturates_at_rps")):
        line += f": at most {numbers['saturates_at_rps']:,.1f} req/s"
    if is_number(numbers.get("capacity_units")):
        units = numbers["capacity_units"]
        line += f" with all {units:g} units (cores or GPUs) busy (an upper bound)"
    return line + "."


def _warnings(doc: dict[str, Any]) -> list[Banner]:
    texts = [str(w) for w in doc.get("warnings") or []]
    single = as_dict(doc.get("single_replica"))
    if single.get("extrapolated") and not any("extrapolated" in w for w in texts):
        texts.append("the capacity lies beyond the highest measured throughput: extrapolated")
    banners, seen = [], set()
    for text in texts:
        key, level, title = next(
            ((k, lv, t) for needle, k, lv, t in _WARNING_KINDS if needle in text),
            ("warning", "warn", "Analysis warning"),
        )
        unique = key if key not in seen else f"{key}-{len(banners) + 1}"
        seen.add(key)
        sentence = text[:1].upper() + text[1:] + ("" if text.endswith((".", "!", "?")) else ".")
        banners.append(Banner(f"analysis-{unique}", level, title, sentence))
    return banners


def _replica_rows(doc: dict[str, Any]) -> list[dict[str, Any]]:
    replicas = as_dict(doc.get("replicas"))
    chosen = replicas.get("recommended")
    rows = [as_dict(row) for row in replicas.get("table") or []]
    return [{**row, "chosen": row.get("replicas") == chosen} for row in rows if row]


def _replica_check_note(doc: dict[str, Any]) -> str | None:
    """capacity.json ``replicas.erlang_c_note`` when the M/M/c check does not support the
    recommended count (``replica_sizing.erlang_c_check``), else None."""
    replicas = as_dict(doc.get("replicas"))
    if replicas.get("erlang_c_supports") is not False:
        return None
    return str(replicas.get("erlang_c_note") or "") or None


def _autoscalers(doc: dict[str, Any]) -> list[Autoscaler]:
    scaling = as_dict(doc.get("autoscaling"))
    found = []
    for key, title in (("hpa", "HPA (autoscaling/v2)"), ("kpa", "Knative KPA (KServe)")):
        chosen = as_dict(scaling.get(key))
        if chosen:
            settings = [(k, _short(v)) for k, v in as_dict(chosen.get("policy")).items()]
            result = as_dict(chosen.get("result"))
            simulated = [
                (k.replace("_", " "), _short(v))
                for k, v in result.items()
                if k not in ("kind", "replica_seconds")
            ]
            found.append(Autoscaler(title, settings, simulated))
    return found


def _manifests(run_dir: Path) -> list[Manifest]:
    folder = run_dir / MANIFESTS
    if not folder.is_dir():
        return []
    found = []
    for path in sorted(folder.glob("*.yaml")) + sorted(folder.glob("*.yml")):
        try:
            found.append(Manifest(f"{MANIFESTS}/{path.name}", path.read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError) as exc:
            found.append(Manifest(f"{MANIFESTS}/{path.name}", f"# could not be read: {exc}"))
    return found


def _manifests_note(doc: dict[str, Any] | None, command: str) -> str:
    skipped = as_dict(as_dict(doc).get("autoscaling")).get("skipped") if doc else None
    if skipped:
        return f"No manifests: the autoscaling analysis was skipped ({skipped})."
    return f"No manifests: {MANIFESTS}/ is absent. Run `{command}` to write them."


def _short(value: Any) -> str:
    """A setting or result on one line: floats to 4 significant figures."""
    if isinstance(value, bool) or not is_number(value):
        return str(value)
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.4g}"
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:g}"
