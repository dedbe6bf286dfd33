"""A model mix is sized on one basis, as a user runs it (installed ``benchctl``, a fresh
directory, default ``runs/``, the user's own target profile in ./benchctl.d/): one launched
KServe serving the reference model twice at two costs, a two-level step run, then
``benchctl analyze`` and ``benchctl report``. The terminal, capacity.json, the report and the
KEDA manifest must tell the same answer: the rate, in all, at which the limiting model
still meets its own SLO, and a KEDA query that counts both models."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest
from markupsafe import escape

from benchctl.analysis.percentiles import percentile
from tests.e2e.helpers import benchctl

SMALL_MS, BIG_MS = 10.0, 100.0  # CPU each request keeps the server's one worker busy
RATES, STEP_S = (3.0, 8.0, 20.0), 6.0  # req/s in all at the three levels; seconds a level
PEAK = RATES[-1]

TARGET = f"""\
kind: kserve
protocol: rest-v2
models:
  - {{name: small, weight: 2}}
  - {{name: big, weight: 1}}
launch:
  server: kserve
  models:
    small: {{cost_ms: {SMALL_MS:g}}}
    big: {{cost_ms: {BIG_MS:g}}}
"""


def _p50s(rows: pd.DataFrame) -> dict[tuple[str, str], float]:
    """(level, model or "all") -> p50 (ms, nearest rank, as benchctl) of that level's
    successes, where the level holds the 4 successes a p50 needs (2 / (1 - 0.5))."""
    rows = rows[(rows.phase.astype(str) != "warmup") & rows.ok.astype(bool)]
    found = {}
    for level, group in rows.groupby(rows.phase.astype(str), observed=True):
        found[(level, "all")] = float(percentile(group.latency_ms.to_numpy(), 50))
        for model, one in group.groupby(group.model.astype(str), observed=True):
            if len(one) >= 4:
                found[(level, model)] = float(percentile(one.latency_ms.to_numpy(), 50))
    return found


def test_a_mix_is_sized_on_its_limiting_model_everywhere(tmp_path: Path) -> None:
    """Step run at 3, 8 then 20 req/s in all (constant arrivals, 6 s each), small 2 : big 1.
    KServe's one worker serves both models in turn: it is busy about
    r x (2/3 x 10 + 1/3 x 100) ms = 12%, 32% and 80% of the time, so at 20 req/s most
    requests also wait (M/G/1, FIFO: the same wait for both models), and big's p50 is its
    own 100 ms plus that wait. The SLO is chosen from this run's own p50s (nearest rank, as
    benchctl): 1 ms above the highest of all requests' and small's at every level and big's
    below the top level; it lies below big's p50 at the top (asserted: with the same wait,
    small's latencies lie ~90 ms below big's, and all requests' p50 below big's). So,
    known by hand: small and all requests together meet the SLO at every level (the pooled
    headline: at least the top level's total), big meets it below the top and breaks it
    at the top. The mix's capacity is the total served (successes completed within the
    level / its seconds, every model) at big's highest good level, measured, band up to the
    top level's total; the replicas for the 20 req/s peak with 20% headroom are
    ceil(20 / (C x 0.8)), the M/M/c table's first acceptable row (C ~ 8: 4 replicas); cost
    per million at 2/h is 2 / (C x 3600) x 1e6; the KEDA query counts
    model_name=~"small|big"."""
    folder = tmp_path / "benchctl.d" / "targets"
    folder.mkdir(parents=True)
    (folder / "mix2.yaml").write_text(TARGET)
    rates = ",".join(f"{rate:g}" for rate in RATES)
    done = benchctl(
        "run", "step", "--target", "mix2", "--launch", "--set", f"rates=[{rates}]",
        "--set", f"step_duration={STEP_S:g}s", "--set", "warmup=1s", "--set",
        "arrivals=constant", "--no-telemetry", cwd=tmp_path, timeout=240,
    )  # fmt: skip
    assert done.returncode == 0, done.output()
    rows = done.requests()
    phases = [p for p in done.run_json()["plan"]["phases"] if p["name"] != "warmup"]
    levels = [str(p["name"]) for p in phases]
    seconds = {str(p["name"]): float(p["end"]) - float(p["start"]) for p in phases}
    assert len(levels) == 3, levels
    top = levels[-1]
    p50 = _p50s(rows)
    below = [p50[(level, "all")] for level in levels]
    below += [p50[(level, "small")] for level in levels if (level, "small") in p50]
    below += [p50[(level, "big")] for level in levels[:-1] if (level, "big") in p50]
    slo_ms = math.floor(max(below)) + 1
    assert slo_ms < p50[(top, "big")], (p50, slo_ms)  # big broke at the top, nothing else
    good = [level for level in levels[:-1] if (level, "big") in p50]
    assert good, p50  # big was judged (and met the SLO) below the top
    # a level's throughput: the measured successes that *completed* within it (intended send
    # + latency in [start, end), whichever level sent them) over its seconds
    completed_at = rows.t_intended + rows.latency_ms / 1000.0
    measured_ok = rows.ok.astype(bool) & (rows.phase.astype(str) != "warmup")
    served = {
        str(p["name"]): float(
            (measured_ok & (completed_at >= p["start"]) & (completed_at < p["end"])).sum()
        )
        / seconds[str(p["name"])]
        for p in phases
    }
    served_low, served_high = served[good[-1]], served[top]

    run = str(done.run_dir)
    slo = f"p50<={slo_ms}ms"
    analyzed = benchctl("analyze", run, "--slo", slo, "--price", "2/h", cwd=tmp_path)
    assert analyzed.returncode == 0, analyzed.output()
    doc = json.loads((done.run_dir / "capacity.json").read_text())
    sizing = doc["models"]["sizing"]
    assert (sizing["basis"], sizing["bound"], sizing["limiting_model"]) == (
        "mix",
        "measured",
        "big",
    ), sizing
    assert doc["capacity_rps"] == doc["single_replica"]["capacity_rps"] == sizing["capacity_rps"]
    assert doc["capacity_rps"] == pytest.approx(served_low)
    assert doc["capacity_band_rps"] == pytest.approx([served_low, served_high])
    replicas = doc["replicas"]
    assert replicas["recommended"] == math.ceil(PEAK / (doc["capacity_rps"] * 0.8))
    acceptable = [
        r["replicas"] for r in replicas["table"] if r["meets_slo"] and r["within_headroom"]
    ]
    assert acceptable and min(acceptable) == replicas["recommended"], replicas
    per_million = 2.0 / (doc["capacity_rps"] * 3600) * 1e6
    assert doc["cost"]["per_million_at_capacity"] == pytest.approx(per_million)
    assert doc["cost"]["per_month"] == pytest.approx(replicas["recommended"] * 2.0 * 730)
    scaling = doc["autoscaling"]
    assert scaling["consistency"]["recommended"] == replicas["recommended"]
    assert scaling["hpa"]["policy"]["target"] <= 0.8 * doc["capacity_rps"] + 1e-9
    keda = list(done.run_dir.glob("manifests/**/keda-scaledobject.yaml"))
    assert len(keda) == 1
    assert 'model_name=~"small|big"' in scaling["metric"]["query"]
    assert scaling["metric"]["query"] in keda[0].read_text()

    printed = " ".join(analyzed.stdout.split())
    capacity = f"{doc['capacity_rps']:,.1f} rps"
    assert f"One replica sustains {capacity} in all at this model mix under {slo}" in printed
    assert " ".join(sizing["sentence"].split()) in printed, analyzed.output()
    count = replicas["recommended"]
    assert f"For a peak of {PEAK:,.0f} rps: {count} replicas" in printed, analyzed.output()

    report = benchctl("report", run, cwd=tmp_path)
    assert report.returncode == 0, report.output()
    page = (done.run_dir / "report.html").read_text()
    assert escape(sizing["sentence"]) in page
    assert f"{count} replicas</span>" in page
