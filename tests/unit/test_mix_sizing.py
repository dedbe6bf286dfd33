"""Sizing a model mix on one basis (analysis/mix_sizing.py), on runs with known answers.

The synthetic runs (``test_model_capacity.mix_run``) send one request in four to ``big``
and the rest to ``small`` at evenly spaced arrivals, three 20 s step levels of 40, 80 and
120 req/s in all, every request of a model at a level taking a set latency, so each
model's SLO percentile per level, and so the mix's capacity, is known by hand.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from markupsafe import escape

from benchctl.analysis.answer import capacity_sentence
from benchctl.analysis.capacity import AnalyzeOptions, analyze_run
from benchctl.analysis.mix_sizing import mix_service_rate
from benchctl.analysis.queueing import size_replicas
from benchctl.analysis.scaling_inputs import rate_query
from benchctl.analysis.slo import parse_slo
from benchctl.reports.html import write_report
from benchctl.store import RunDir
from tests.unit.test_model_capacity import mix_run

P50 = parse_slo("p50<=20ms")


def _as_user_ran(run_dir: Path) -> Path:
    """The run.json of a step scenario (40, 80, 120 req/s, 20 s a step) on a two-model
    target (small 3 : big 1), so the autoscalers have the run's own traffic to simulate."""
    info = json.loads((run_dir / "run.json").read_text())
    info["scenario"]["spec"] = {"kind": "step", "rates": [40, 80, 120], "step_duration": 20}
    info["target"]["spec"] = {
        "kind": "kserve",
        "model": "small",
        "models": [{"name": "small", "weight": 3}, {"name": "big", "weight": 1}],
    }
    (run_dir / "run.json").write_text(json.dumps(info))
    return run_dir


def _analyze(run_dir: Path, **options: Any) -> dict[str, Any]:
    return analyze_run(RunDir.open(run_dir), AnalyzeOptions(slo=P50, **options))


def test_the_mix_is_sized_on_its_limiting_model_not_on_all_requests_together(tmp_path: Path):
    """p50 <= 20 ms. small (3 in 4) takes 5, 5, 30 ms at 40, 80, 120 req/s in all; big (1
    in 4) 15, 25, 25 ms. All requests together: p50 is small's (3/4 of them), 5, 5, 30 ms,
    so the pooled headline met the SLO up to 80 req/s. big's own p50 broke at 80: the mix's
    capacity is 40 req/s in all (measured, band [40, 80]), limited by big.

    By hand, headroom 0.2, peak 120 (the scenario's): by_capacity = ceil(120 / (40 x 0.8))
    = ceil(3.75) = 4. M/M/c rate calibrated to 40 req/s: mu = 40 + ln 2 / 0.020 s =
    74.657 req/s. The table starts at floor(120 / 74.657) + 1 = 2; 2 and 3 replicas carry
    60 and 40 req/s each, above 0.8 x 40 = 32 (not within headroom); 4 carry 30: within,
    and M/M/4 at 120 / 74.657 = 1.61 Erlangs has p50 about ln 2 / 74.657 = 9.3 ms plus a
    short wait, under 20 ms: 4 recommended, the table's first acceptable row. Cost at
    2/h: 2 / (40 x 3600) x 1e6 = 13.89 per million; 4 x 2 x 730 = 5,840 a month. The HPA
    target per replica is at most 0.8 x 40 = 32 req/s and the KEDA query counts both models.
    """
    run_dir = _as_user_ran(mix_run(tmp_path, {"small": [5, 5, 30], "big": [15, 25, 25]}))
    doc = _analyze(run_dir, price_per_hour=2.0)
    assert doc["single_replica"]["pooled"]["capacity_rps"] >= 80.0  # what it was sized on
    sizing = doc["models"]["sizing"]
    assert (sizing["basis"], sizing["bound"]) == ("mix", "measured")
    assert sizing["limiting_model"] == "big"
    assert doc["capacity_rps"] == sizing["capacity_rps"] == pytest.approx(40.0)
    assert doc["capacity_band_rps"] == pytest.approx([40.0, 80.0])
    assert doc["bound"] == "measured" and doc["latency_model"] is None
    replicas = doc["replicas"]
    assert replicas["service_rate_rps"] == pytest.approx(40 + math.log(2) / 0.020)
    assert replicas["recommended"] == replicas["by_capacity"] == replicas["by_erlang_c"] == 4
    rows = {row["replicas"]: row for row in replicas["table"]}
    assert min(rows) == 2 and max(rows) == 7
    assert [rows[n]["within_headroom"] for n in (2, 3, 4)] == [False, False, True]
    assert rows[4]["meets_slo"] and rows[4]["predicted_quantile_ms"] < 20.0
    first_ok = min(n for n, row in rows.items() if row["meets_slo"] and row["within_headroom"])
    assert first_ok == replicas["recommended"]  # the table never contradicts the count
    assert doc["cost"]["per_million_at_capacity"] == pytest.approx(2 / (40 * 3600) * 1e6)
    assert doc["cost"]["per_month"] == pytest.approx(4 * 2 * 730)
    scaling = doc["autoscaling"]
    assert "skipped" not in scaling, scaling
    assert scaling["hpa"]["policy"]["target"] <= 0.8 * 40 + 1e-9
    assert scaling["consistency"]["recommended"] == 4
    assert 'model_name=~"small|big"' in scaling["metric"]["query"]
    keda = list(run_dir.glob("manifests/**/keda-scaledobject.yaml"))
    assert len(keda) == 1 and scaling["metric"]["query"] in keda[0].read_text()
    assert sizing["sentence"] in doc["models"]["summary"]
    assert capacity_sentence(doc).startswith(
        "One replica sustains 40.0 rps in all at this model mix under p50<=20ms"
    )
    written = json.loads((run_dir / "capacity.json").read_text())
    assert written["capacity_rps"] == written["single_replica"]["capacity_rps"] == 40.0
    page = write_report(run_dir).read_text()  # the report reads the same answer
    assert escape(sizing["sentence"]) in page and "4 replicas</span>" in page
    assert escape(capacity_sentence(doc)) in page


def test_the_pooled_headline_stays_when_every_model_meets_it(tmp_path: Path):
    """small 5 ms and big 15 ms at every level under p50 <= 20 ms: no model broke its own
    p50, so each met it up to the top level, 120 req/s in all, as all requests together
    did: the pooled headline (at least 120 req/s) holds for every model and stays the
    basis (no calibrated M/M/c rate), a lower bound."""
    run_dir = _as_user_ran(mix_run(tmp_path, {"small": [5, 5, 5], "big": [15, 15, 15]}))
    doc = _analyze(run_dir)
    assert doc["models"]["sizing"]["basis"] == "pooled"
    assert doc["single_replica"]["basis"] == "pooled"
    assert doc["capacity_rps"] == pytest.approx(120.0) and doc["bound"] == "lower"
    assert "service_rate_rps" not in doc["replicas"]
    assert doc["replicas"]["by_capacity"] == math.ceil(120 / (120 * 0.8))  # at most 2
    assert doc["replicas"]["is_upper_bound"]


def test_a_model_broken_at_every_level_leaves_a_bound_and_no_replica_count(tmp_path: Path):
    """big takes 25 ms at every level, over p50 <= 20 ms, while all requests together meet
    it up to 80 req/s (small's 5 ms): the mix's capacity is below the lowest level's 40
    req/s in all, not a number: no replica count, no autoscaler, no cost per million; the
    terminal's headline and the sizing line say so."""
    run_dir = _as_user_ran(mix_run(tmp_path, {"small": [5, 5, 30], "big": [25, 25, 25]}))
    doc = _analyze(run_dir, price_per_hour=2.0)
    assert doc["capacity_rps"] is None and doc["bound"] == "upper"
    assert doc["capacity_band_rps"] == pytest.approx([0.0, 40.0])
    assert doc["replicas"] is None
    assert doc["cost"]["per_million_at_capacity"] is None and "per_month" not in doc["cost"]
    assert "skipped" in doc["autoscaling"] and not (run_dir / "manifests").exists()
    assert capacity_sentence(doc).startswith("No capacity figure for this model mix")
    assert "less than 40.0 rps in all" in capacity_sentence(doc)
    assert doc["models"]["summary"][-1].startswith("Sizing: no replica count")
    page = write_report(run_dir).read_text()
    assert "No replica count: a model of the mix broke its SLO at every level" in page
    assert "&lt; 40.0" in page and escape(capacity_sentence(doc)) in page


def test_mix_service_rate_is_the_m_m_1_rate_whose_percentile_is_the_slo_at_capacity():
    """mu = C + ln(1 / (1 - q)) / SLO: C = 40, p50 <= 20 ms: 40 + 0.693147 / 0.02 =
    74.657; C = 50, p99 <= 50 ms: 50 + 4.605170 / 0.05 = 142.103. At C the M/M/1 response
    time, exponential with rate mu - C, has its q-quantile at exactly the SLO."""
    assert mix_service_rate(40.0, P50) == pytest.approx(74.65736, rel=1e-6)
    assert mix_service_rate(50.0, parse_slo("p99<=50ms")) == pytest.approx(142.10340, rel=1e-6)
    with pytest.raises(ValueError, match="capacity_rps"):
        mix_service_rate(0.0, P50)


def test_headroom_on_the_capacity_keeps_the_count_at_or_above_by_capacity():
    """peak 100 req/s, 10 ms service (mu = 100), p99 <= 100 ms, headroom 0.2. On the
    service rate: 2 replicas are at 50% <= 80% and M/M/2 (1 Erlang, C = 1/3) has
    P(T > 0.1 s) = (2/3) e^-10 + (1/3) e^-10 (1 + 10) < 1%: 2. With capacity 50 req/s a
    replica carries at most 0.8 x 50 = 40: 100 / 2 = 50 is not within, 100 / 3 = 33.3 is:
    3 = ceil(100 / 40)."""
    common = {"peak_rps": 100.0, "service_time_ms": 10.0, "slo_quantile": 0.99, "slo_ms": 100.0}
    assert size_replicas(**common)[0] == 2
    chosen, table = size_replicas(**common, capacity_rps=50.0)
    assert chosen == 3
    assert [row.within_headroom for row in table[:2]] == [False, True]  # rows 2 and 3
    with pytest.raises(ValueError, match="capacity_rps"):
        size_replicas(**common, capacity_rps=0.0)


def test_the_keda_query_of_a_mix_counts_every_model():
    """Two or more names: one regex matcher over them (PromQL anchors it), each name's
    metacharacters escaped for RE2 inside the double-quoted string; one name: as before."""
    assert rate_query("kserve", "small", "ml", 60, models=["small", "big"]) == (
        'sum(rate(request_predict_seconds_count{namespace="ml",model_name=~"small|big"}[60s]))'
    )
    assert rate_query("triton", "a.b", "ml", 30, models=["a.b", "c+d"]) == (
        'sum(rate(nv_inference_request_success{namespace="ml",model=~"a\\\\.b|c\\\\+d"}[30s]))'
    )
    assert rate_query("kserve", "m1", "ml", 60, models=["m1"]) == rate_query(
        "kserve", "m1", "ml", 60
    )
