"""The capacity answer on the terminal: what ``benchctl analyze`` prints for each run, and
the end of ``benchctl run --slo``. The sentences are ``benchctl.analysis.answer``'s (the
HTML report shows the same ones)."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from benchctl.analysis.answer import (
    capacity_sentence,
    cost_sentence,
    money,
    replicas_sentence,
    saturation_sentence,
)
from benchctl.analysis.demand_bound import demand_sentence
from benchctl.analysis.model_capacity import model_capacity_lines
from benchctl.analysis.service_demand import demand_notes
from benchctl.analysis.sweep import usl_sentence
from benchctl.rundir import CAPACITY, RunDir


def print_answer(
    console: Console, run: RunDir, doc: dict[str, Any], *, say_skipped: bool = False
) -> None:
    """Print ``doc`` (capacity.json of ``run``) to ``console``: capacity (per model in a mix),
    saturation and knee, replicas with their M/M/c table, cost, service demand and the rest;
    with ``say_skipped`` (``benchctl analyze``: no final answer follows), why autoscaling
    was not simulated, when it was not (e.g. a replay trace run.json names that is gone).
    KeyError for a document without ``slo``, ``single_replica``, ``confidence`` or
    ``warnings`` (capacity.json always has them)."""
    single = doc["single_replica"]
    console.rule(f"{run.name}: {doc['slo']}")
    _print_capacity(console, doc)
    saturation = saturation_sentence(doc)  # or the bound measured, a fitted one withheld
    if saturation:
        console.print(escape(saturation), highlight=False)
    if usl_sentence(doc.get("usl")):  # a closed-loop sweep's USL fit (README)
        console.print(escape(str(usl_sentence(doc.get("usl")))), highlight=False)
    sentence = replicas_sentence(doc)
    replicas = doc.get("replicas")
    if sentence and replicas:
        console.print(escape(sentence), highlight=False)
        if replicas["table"]:
            console.print(_replicas_table(doc))
    elif doc.get("peak_rps") is None and single.get("capacity_rps"):  # nothing to size for
        console.print(
            "Replicas: no peak to size for (the run has no open-loop traffic of its own): "
            "pass --peak-rps RPS or --traffic SCENARIO (e.g. --traffic spike)."
        )
    console.print(escape(cost_sentence(doc)), highlight=False)
    demand = doc.get("service_demand") or {}
    if demand_sentence(doc):  # the ceiling, or why it is loose (demand_bound.py)
        console.print(escape(str(demand_sentence(doc))), highlight=False)
    for note in demand_notes(demand):  # why a resource gives no ceiling (service_demand.py)
        console.print(f"Service demand, no ceiling: {escape(note)}.", highlight=False)
    scaling = doc.get("autoscaling") or {}
    for line in scaling.get("summary", []):
        console.print(line)
    if say_skipped and scaling.get("skipped"):
        console.print(f"Autoscaling not simulated: {escape(str(scaling['skipped']))}")
    confidence = doc["confidence"]
    reasons = f": {'; '.join(confidence['reasons'])}" if confidence["reasons"] else ""
    console.print(f"Confidence: [bold]{confidence['level']}[/]{escape(reasons)}.")
    for warning in doc["warnings"]:
        console.print(f"[yellow]warning:[/] {escape(warning)}")
    console.print(f"[dim]written: {run.path / CAPACITY}[/]")


def _print_capacity(console: Console, doc: dict[str, Any]) -> None:
    """The capacity sentence, then each model's own capacity in a model mix."""
    console.print(escape(capacity_sentence(doc)), highlight=False)
    for line in model_capacity_lines(doc):
        console.print(escape(line), highlight=False)


def _replicas_table(doc: dict[str, Any]) -> Table:
    """capacity.json ``replicas.table``: per replica count, utilization, the predicted SLO
    percentile in ms (M/M/c), whether it meets the SLO and the headroom, cost per month."""
    unsupported = doc["replicas"].get("erlang_c_supports") is False
    caption = (
        "no row meets the SLO: the count rests on the measured capacity" if unsupported else None
    )
    limit = doc["replicas"].get("measured_limit_note")  # replica_sizing.measured_limit
    if limit and any(row.get("measured_broken") for row in doc["replicas"]["table"]):
        caption = "; ".join(filter(None, [caption, f"no (measured): {limit}"]))
    table = Table(
        title="replicas vs predicted tail (M/M/c)",
        title_justify="left",
        caption=caption,
        caption_justify="left",
    )
    for column in (
        "replicas",
        "utilization",
        f"predicted {doc['slo'].split('<')[0]}",
        "meets SLO",
        "within headroom",
        "cost / month",
    ):
        table.add_column(column, justify="right")
    currency = (doc.get("cost") or {}).get("currency", "USD")
    for row in doc["replicas"]["table"]:
        table.add_row(
            str(row["replicas"]),
            f"{row['utilization']:.0%}",
            f"{row['predicted_quantile_ms']:,.1f} ms",
            "yes" if row["meets_slo"] else "no (measured)" if row.get("measured_broken") else "no",
            "no" if row.get("within_headroom") is False else "yes",
            money(row.get("cost_per_month"), currency),
        )
    return table


def print_final_answer(console: Console, doc: dict[str, Any], report: Any = None) -> None:
    """The end of ``run --slo``: ``doc`` (capacity.json) as capacity, replicas, autoscaler
    settings, manifests, cost, warnings and low confidence; then ``report``'s path (the
    HTML report), when one was written."""
    console.rule("the answer")
    _print_capacity(console, doc)
    sentence = replicas_sentence(doc)
    if sentence:
        console.print(escape(sentence), highlight=False)
    _print_autoscaling(console, doc.get("autoscaling") or {})
    console.print(escape(cost_sentence(doc)), highlight=False)
    for warning in doc.get("warnings") or []:  # the answer's reservations, beside it
        console.print(f"[bold yellow]warning:[/] {escape(str(warning))}", highlight=False)
    confidence = doc.get("confidence") or {}
    if confidence.get("level") == "low":
        console.print(f"Confidence: [bold]low[/]: {escape('; '.join(confidence['reasons']))}.")
    if report is not None:
        console.print(f"report: [bold]{report}[/]")


def _print_autoscaling(console: Console, scaling: dict[str, Any]) -> None:
    """capacity.json ``autoscaling``: each autoscaler's settings, the KEDA cron pre-scale
    of the chosen setting, why nothing was simulated, and the manifests written."""
    for key, title in (("hpa", "HPA"), ("kpa", "Knative KPA (KServe)"), ("keda", "KEDA")):
        policy = (scaling.get(key) or {}).get("policy")
        if isinstance(policy, dict) and policy:
            settings = ", ".join(f"{name}={value}" for name, value in policy.items())
            console.print(f"{title}: {escape(settings)}", highlight=False)
    cron = scaling.get("cron_prescale")
    if isinstance(cron, dict) and cron.get("desired_replicas"):  # part of the chosen setting
        console.print(
            f"KEDA cron pre-scale: {cron['desired_replicas']} replicas from "
            f"'{escape(str(cron.get('start')))}' to '{escape(str(cron.get('end')))}' (UTC), "
            "with the autoscaler above ("
            + (
                "reactive scaling alone breaks the SLO in the bursts only by extrapolation,"
                " on a capacity that is a lower bound"
                if "may not keep up" in str(scaling.get("spike_advice") or "")
                else "reactive scaling alone breaks the SLO in the bursts"
            )
            + ")",
            highlight=False,
        )
    if scaling.get("skipped"):
        console.print(f"Autoscaling not simulated: {escape(str(scaling['skipped']))}")
    for path in scaling.get("manifests") or []:
        console.print(f"manifest: {path}", highlight=False)
