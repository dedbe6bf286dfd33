"""Reports never re-run analysis: they show what ``benchctl analyze`` wrote (capacity.json,
autoscale.parquet, manifests/), so an edited capacity.json is what the report shows, and no
module under reports/ imports the code that computes capacity, fits or simulations."""

from __future__ import annotations

import ast
import html
import json
from pathlib import Path

from benchctl.reports.html import write_report
from tests.unit.test_report import analyzed_run

SRC = Path(__file__).resolve().parents[2] / "src" / "benchctl"

# What `benchctl analyze` computes: capacity, fits, bounds, sizing, cost, autoscaler
# simulations and their manifests. A report reads their results from the run directory.
ANALYSIS_COMPUTATIONS = {
    f"benchctl.analysis.{name}"
    for name in (
        "autoscaler_simulation",
        "autoscaling_choice",
        "autoscaling_section",
        "bounds",
        "capacity",
        "cluster",
        "contradictions",
        "cost",
        "deployment",
        "fits",
        "hpa",
        "hpa_batch",
        "kpa",
        "manifests",
        "mix_sizing",
        "model_capacity",
        "points",
        "queueing",
        "replica_sizing",
        "run_level",
        "scaling_inputs",
        "scaling_model",
        "scaling_policies",
        "scaling_steps",
        "search_rejudge",
        "single_replica",
        "spikes",
        "windows",
    )
}
# Names a report may take from those modules: they compute nothing about the run.
PURE_HELPERS = {
    "benchctl.analysis.points": {"min_samples"},  # 2 / (1 - q): samples a percentile needs
    "benchctl.analysis.model_capacity": {"model_capacity_lines"},  # capacity.json's lines
}


def _computation_imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module in ANALYSIS_COMPUTATIONS:
            allowed = PURE_HELPERS.get(node.module, set())
            found += [
                f"{node.lineno} {node.module}.{a.name}" for a in node.names if a.name not in allowed
            ]
        elif isinstance(node, ast.ImportFrom) and node.module == "benchctl.analysis":
            found += [
                f"{node.lineno} benchctl.analysis.{a.name}"
                for a in node.names
                if f"benchctl.analysis.{a.name}" in ANALYSIS_COMPUTATIONS
            ]
        elif isinstance(node, ast.Import):
            found += [
                f"{node.lineno} {a.name}" for a in node.names if a.name in ANALYSIS_COMPUTATIONS
            ]
    return found


def test_no_report_module_imports_an_analysis_computation(tmp_path: Path) -> None:
    found = []
    for path in sorted((SRC / "reports").rglob("*.py")):
        found += [f"{path.relative_to(SRC)}:{place}" for place in _computation_imports(path)]
    assert found == []
    sample = tmp_path / "m.py"
    sample.write_text(
        "from benchctl.analysis.fits import fit_latency\n"
        "from benchctl.analysis.points import min_samples, measured_points\n"
        "import benchctl.analysis.capacity\n"
        "from benchctl.analysis import single_replica\n"
    )
    assert _computation_imports(sample) == [
        "1 benchctl.analysis.fits.fit_latency",
        "2 benchctl.analysis.points.measured_points",
        "3 benchctl.analysis.capacity",
        "4 benchctl.analysis.single_replica",
    ]


def test_the_report_shows_an_edited_capacity_json_not_a_recomputed_one(tmp_path: Path) -> None:
    """analyze writes capacity.json; its capacity, replicas, cost and warnings are then
    edited by hand (values analysis cannot give for this run: 77.7 rps, 9 replicas,
    4,321 USD a month). The report shows the edited values and none of the computed."""
    run_dir = analyzed_run(tmp_path)
    path = run_dir / "capacity.json"
    doc = json.loads(path.read_text())
    computed = doc["single_replica"]["capacity_rps"]
    computed_replicas = doc["replicas"]["recommended"]
    assert round(computed, 1) != 77.7 and computed_replicas != 9
    doc["capacity_rps"] = doc["single_replica"]["capacity_rps"] = 77.7
    doc["capacity_band_rps"] = [70.0, 80.0]
    doc["single_replica"]["lower_rps"], doc["single_replica"]["upper_rps"] = 70.0, 80.0
    doc["replicas"]["recommended"] = 9
    doc["replicas"]["reason"] = "edited by hand"
    doc["cost"]["per_month"] = 4321.0
    doc["warnings"] = ["an edited warning"]
    path.write_text(json.dumps(doc))
    page = write_report(run_dir).read_text()
    headline = "One replica sustains 77.7 rps under p99&lt;=100ms (measured"
    assert headline in page
    assert '<span class="big">9 replicas</span> for a peak of 600.0 req/s' in page
    assert html.escape("For a peak of 600 rps: 9 replicas — edited by hand.") in page
    assert "4,321" in page and "An edited warning." in page
    assert f"One replica sustains {computed:.1f} rps" not in page
    assert f"{computed_replicas} replicas</span>" not in page
