"""The short answer a person can act on, printed by ``benchctl analyze``."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from benchctl.store import RunDir


def _rps(value: float | None) -> str:
    return "—" if value is None else f"{value:,.1f} rps"


def print_answer(console: Console, run: RunDir, doc: dict[str, Any]) -> None:
    single = doc["single_replica"]
    console.rule(f"{run.name}: {doc['slo']}")
    band = ""
    if single.get("lower_rps") is not None:
        band = f" (5–95%: {single['lower_rps']:,.1f}–{single['upper_rps']:,.1f})"
    extrapolated = " [yellow](extrapolated)[/]" if single.get("extrapolated") else ""
    console.print(
        f"One replica sustains [bold]{_rps(single['capacity_rps'])}[/]{band} under "
        f"{doc['slo']}{extrapolated}; highest measured point meeting it: "
        f"{_rps(single['measured_capacity_rps'])}."
    )
    if single.get("saturation_rps"):
        console.print(
            f"Saturates near {_rps(single['saturation_rps'])}; latency doubles "
            f"(knee) at {_rps(single.get('knee_rps'))}."
        )
    replicas = doc.get("replicas")
    if replicas:
        console.print(
            f"For a peak of {doc['peak_rps']:,.0f} rps: [bold]{replicas['recommended']} "
            f"replicas[/] — {replicas['reason']}."
        )
        if replicas["table"]:
            table = Table(title="replicas vs predicted tail (M/M/c)", title_justify="left")
            for column in (
                "replicas",
                "utilization",
                f"predicted {doc['slo'].split('<')[0]}",
                "meets SLO",
                "cost / month",
            ):
                table.add_column(column, justify="right")
            for row in replicas["table"]:
                cost = row.get("cost_per_month")
                table.add_row(
                    str(row["replicas"]),
                    f"{row['utilization']:.0%}",
                    f"{row['predicted_quantile_ms']:,.1f} ms",
                    "yes" if row["meets_slo"] else "no",
                    "—" if cost is None else f"{cost:,.0f}",
                )
            console.print(table)
    cost = doc.get("cost")
    if cost:
        monthly = f", {cost['per_month']:,.0f} per month" if "per_month" in cost else ""
        console.print(
            f"Cost: {cost['per_million_at_capacity']:,.2f} per million inferences at "
            f"capacity{monthly}."
        )
    demand = doc.get("service_demand") or {}
    if "saturates_first" in demand:
        first = demand[demand["saturates_first"]]
        console.print(
            f"{demand['saturates_first']} saturates first: "
            f"{first['ms_per_request']:.2f} ms per request; limit "
            f"{_rps(first['saturates_at_rps'])} if the server can use all "
            f"{first['capacity_units']:g} of this host's cores."
        )
    for line in doc.get("autoscaling", {}).get("summary", []):
        console.print(line)
    confidence = doc["confidence"]
    reasons = f": {'; '.join(confidence['reasons'])}" if confidence["reasons"] else ""
    console.print(f"Confidence: [bold]{confidence['level']}[/]{reasons}.")
    for warning in doc["warnings"]:
        console.print(f"[yellow]warning:[/] {warning}")
    console.print(f"[dim]written: {run.path / 'capacity.json'}[/]")
