"""write_report on synthetic run directories with known numbers."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from benchctl.analysis.capacity import AnalyzeOptions, analyze_run
from benchctl.analysis.fits import fit_usl
from benchctl.analysis.slo import parse_slo
from benchctl.errors import InputError
from benchctl.load.records import RecordBuffer, to_table
from benchctl.reports.figures import window_width
from benchctl.reports.html import write_report
from benchctl.store import RunDir
from benchctl.telemetry.session import WINDOWS
from tests.unit.test_analyze import mm1_step_run

PHASES = [("warmup", 0.0, 2.0), ("base", 2.0, 10.0), ("burst", 10.0, 20.0), ("base", 20.0, 30.0)]
NAMES = ["warmup", "base", "burst"]
XSS = "<script>alert(1)</script>"


def _stats(requests: int, throughput: float, p99: float, **extra: Any) -> dict[str, Any]:
    return {
        "requests": requests,
        "sent": requests - 7,
        "ok": requests - 10,
        "errors": 3,
        "dropped": 7,
        "error_rate": 0.005,
        "drop_rate": 0.0117,
        "seconds": 28.0,
        "offered_rps": 21.4,
        "throughput_rps": throughput,
        "latency_ms": {
            "p50": 3.214,
            "p90": 9.0,
            "p95": 12.34,
            "p99": p99,
            "p99.9": 1234.6,
            "max": 2000.0,
            "mean": 5.0,
        },
        "send_lag_ms": {"p50": 0.1, "p99": 0.9, "max": 2.0, "mean": 0.2},
        **extra,
    }


SUMMARY = {
    "measured_seconds": 28.0,
    "overall": _stats(600, 123.4, 45.67),
    "phases": {
        "warmup": _stats(40, 19.5, 8.0),
        "base": _stats(360, 20.1, 6.5),
        "burst": _stats(200, 39.9, 88.8),
    },
    "errors": {"http_5xx": 3, "dropped": 7},
}


def _run_json(**fields: Any) -> dict[str, Any]:
    run = {
        "schema_version": 1,
        "id": "20261122T034000Z-spike-kserve",
        "status": "completed",
        "reason": "",
        "command": ["benchctl", "run", "spike", "--target", "kserve", "--launch"],
        "scenario": {
            "name": "spike",
            "file": "scenarios/spike.yaml",
            "time_scale": 0.1,
            "spec": {"kind": "spike", "description": "A burst of 2x", "base_rate": 20},
        },
        "target": {
            "name": "kserve",
            "file": "targets/kserve.yaml",
            "spec": {
                "protocol": "rest-v2",
                "url": "http://127.0.0.1:8080",
                "model": "mlp",
                "headers": {"Authorization": "<redacted>"},
            },
            "launched": {"kind": "kserve", "http_url": "http://127.0.0.1:8080", "pid": 123},
        },
        "plan": {
            "duration": 30.0,
            "expected_requests": 600.0,
            "open_loop": True,
            "phases": [{"name": n, "start": s, "end": e} for n, s, e in PHASES],
            "curve": [[t, 40.0 if 10 <= t < 20 else 20.0] for t in np.arange(0, 30, 0.5)],
        },
        "engine": {
            "workers": 0,
            "remote_workers": 0,
            "t0": 1795318803.36,
            "started_at": "2026-11-22T03:40:03Z",
            "ended_at": "2026-11-22T03:40:33Z",
        },
        "versions": {"benchctl": "0.1.0", "locust": "2.47.0", "python": "3.11.7"},
        "host": {"hostname": "box", "cpus": 2, "memory_gb": 24.0, "platform": "Linux"},
        "counts": {"sent": 593, "dropped": 7, "rows": 600},
        "generator": {
            "saturated": False,
            "cpu_max": 35.0,
            "saturated_seconds": 0,
            "threshold": 80.0,
        },
    }
    run.update(fields)
    return run


def _write_requests(path: Path) -> None:
    """20 req/s for 30 s: 5 ms latency, 40 ms in the burst, a few errors and drops."""
    buffer = RecordBuffer()
    times = np.arange(0.025, 30.0, 0.05)
    for i, t in enumerate(times):
        if i % 97 == 50:
            buffer.add_dropped(t)
            continue
        latency = 0.040 if 10 <= t < 20 else 0.005
        error = "http_5xx" if i % 199 == 0 else ""
        buffer.add(t, t + 0.0001, t + latency, 500 if error else 200, error, 100, 200)
    starts = np.array([s for _, s, _ in PHASES])
    index = np.array(
        [NAMES.index(PHASES[k][0]) for k in np.searchsorted(starts, times, "right") - 1]
    )
    pq.write_table(to_table(buffer.drain(), NAMES, index), path)


def _run_dir(tmp_path: Path, *, summary: bool = True, requests: bool = True, **fields: Any) -> Path:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "run.json").write_text(json.dumps(_run_json(**fields)))
    if summary:
        (run_dir / "summary.json").write_text(json.dumps(SUMMARY))
    if requests:
        _write_requests(run_dir / "requests.parquet")
    return run_dir


def _render(run_dir: Path) -> str:
    path = write_report(run_dir)
    assert path == run_dir / "report.html"
    return path.read_text()


def test_complete_run_has_numbers_figures_and_no_external_resources(tmp_path: Path) -> None:
    page = _render(_run_dir(tmp_path))
    assert page.lower().startswith("<!doctype html>")
    for number in ("123.4", "3.21", "12.3", "45.7", "1,235", "0.50%", "88.8"):
        assert number in page
    assert page.count("<svg ") == 3
    for external in ('src="http', 'href="http', "@import", "<script src", "url(http"):
        assert external not in page
    assert "warmup (excluded)" in page
    assert "http_5xx" in page
    assert "benchctl run spike --target kserve --launch" in page
    assert "&lt;redacted&gt;" in page
    assert "banner-" not in page
    assert not list((tmp_path / "run").glob(".*.tmp"))


def test_scenario_description_is_escaped(tmp_path: Path) -> None:
    run = _run_json()
    run["scenario"]["spec"]["description"] = XSS
    run_dir = _run_dir(tmp_path)
    (run_dir / "run.json").write_text(json.dumps(run))
    page = _render(run_dir)
    assert XSS not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script" not in page


def test_interrupted_and_saturated_runs_say_so(tmp_path: Path) -> None:
    generator = {"saturated": True, "cpu_max": 99.0, "saturated_seconds": 12, "threshold": 80.0}
    run_dir = _run_dir(tmp_path, status="interrupted", reason="Ctrl-C", generator=generator)
    page = _render(run_dir)
    assert 'id="banner-interrupted"' in page and "Ctrl-C" in page
    assert 'id="banner-generator-saturated"' in page
    assert "the generator&#39;s, not the server&#39;s" in page
    assert page.count("<svg ") == 3


def test_failed_run_with_only_run_json_renders_and_says_what_is_absent(tmp_path: Path) -> None:
    run = {
        "id": "x",
        "status": "failed",
        "reason": "target did not start",
        "scenario": {"name": "steady"},
        "target": {"name": "triton"},
    }
    run_dir = tmp_path / "failed"
    run_dir.mkdir()
    (run_dir / "run.json").write_text(json.dumps(run))
    page = _render(run_dir)
    assert 'id="banner-failed"' in page and "target did not start" in page
    assert "requests.parquet is absent" in page
    assert "summary.json is absent" in page
    assert "<svg" not in page


def test_missing_summary_is_computed_from_requests(tmp_path: Path) -> None:
    page = _render(_run_dir(tmp_path, summary=False))
    assert "computed from requests.parquet" in page
    assert page.count("<svg ") == 3
    assert "http_5xx" in page and "burst" in page


def test_closed_loop_run_plots_planned_concurrency(tmp_path: Path) -> None:
    run = _run_json()
    run["plan"].update(open_loop=False, curve=[[0.0, 1.0], [10.0, 4.0], [20.0, 16.0]])
    run_dir = _run_dir(tmp_path)
    (run_dir / "run.json").write_text(json.dumps(run))
    page = _render(run_dir)
    assert "planned concurrency (right axis)" in page
    assert page.count("<svg ") == 3


def test_output_elsewhere(tmp_path: Path) -> None:
    output = tmp_path / "reports" / "one.html"
    assert write_report(_run_dir(tmp_path), output=output) == output
    assert output.read_text().lower().startswith("<!doctype html>")


def test_not_a_run_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not a run directory"):
        write_report(tmp_path)
    with pytest.raises(InputError):
        write_report(tmp_path / "missing")


@pytest.mark.parametrize(
    ("duration", "width"), [(30, 1), (180, 1), (600, 5), (10_800, 60), (86_400, 600)]
)
def test_window_width_gives_at_most_200_windows(duration: float, width: float) -> None:
    assert window_width(duration) == width


# --------------------------------------------------------------------------- capacity report


def write_telemetry_windows(run_dir: Path, seconds: float = 300.0) -> None:
    """Per-5 s telemetry that follows the mm1 step run's load; GPU memory left out (no GPU)."""
    t = np.arange(-5.0, seconds, 5.0)
    rate = np.interp(t, [0, 60, 120, 180, 240], [40, 80, 120, 160, 180])
    frame = pd.DataFrame(
        {
            "t": t,
            "server_requests": rate * 5,
            "server_queue_ms": 0.5 + 1000 / (200 - rate),
            "server_compute_ms": np.full(len(t), 5.0),
            "host_cpu_percent": 10 + rate * 0.3,
            "host_memory_used_bytes": np.full(len(t), 4e9),
            "server_cpu_percent": rate * 0.9,
            "server_rss_bytes": 1.5 * 1024**3 + rate * 1e6,
            "server_processes": np.full(len(t), 3.0),
            "gpu_utilization_percent": np.full(len(t), np.nan),
            "gpu_memory_used_bytes": np.full(len(t), np.nan),
            "gpu_power_watts": np.full(len(t), np.nan),
            "generator_cpu_percent": 5 + rate * 0.2,
        }
    )
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), run_dir / WINDOWS)


def analyzed_run(tmp_path: Path) -> Path:
    """The M/M/1 step run with telemetry, analyzed for p99<=100ms at a 600 rps peak."""
    run_dir = mm1_step_run(tmp_path)
    write_telemetry_windows(run_dir)
    options = AnalyzeOptions(slo=parse_slo("p99<=100ms"), peak_rps=600, price_per_hour=2.0)
    analyze_run(RunDir.open(run_dir), options)
    return run_dir


def _capacity(run_dir: Path) -> dict[str, Any]:
    return json.loads((run_dir / "capacity.json").read_text())


def test_analyzed_run_renders_every_capacity_section(tmp_path: Path) -> None:
    run_dir = analyzed_run(tmp_path)
    doc = _capacity(run_dir)
    page = _render(run_dir)
    replicas = doc["replicas"]["recommended"]
    capacity = f"{doc['single_replica']['capacity_rps']:.1f}"
    assert page.index('id="capacity"') < page.index("Key numbers")  # the answer first
    assert f"{replicas} replicas</span> for a peak of 600.0 req/s" in page
    assert f"One replica sustains {capacity} rps under p99&lt;=100ms (measured" in page
    assert 'data-bound="measured"' in page
    assert f"{doc['cost']['per_month']:,.0f}" in page and "3.59" in page  # month, million
    assert 'id="confidence"' in page and doc["confidence"]["level"] in page
    hpa, kpa = doc["autoscaling"]["hpa"]["reason"], doc["autoscaling"]["kpa"]["reason"]
    assert html.escape(hpa) in page and html.escape(kpa) in page
    # timeline + replicas + latency curve + telemetry (CPU, server time, memory)
    assert page.count("<svg ") == 3 + 1 + 1 + 3
    for section in ("figure-replicas", "figure-curve-1", "figure-telemetry-3", "replicas-table"):
        assert f'id="{section}"' in page
    assert f"{replicas} (recommended)" in page
    assert "GPU utilization (mean" not in page and "GPU memory used" not in page  # absent
    blocks = re.findall(
        r'<pre class="manifest" id="manifest-\d"><code>(.*?)</code></pre>', page, re.S
    )
    files = sorted((run_dir / "manifests").glob("*.yaml"))
    assert [html.unescape(block) for block in blocks] == [f.read_text() for f in files]
    assert "No capacity analysis" not in page and f"benchctl analyze {run_dir}" not in page
    assert 'class="flag ok">confidence' in page


def test_run_without_analysis_names_the_commands_that_produce_it(tmp_path: Path) -> None:
    run_dir = _run_dir(tmp_path)
    page = _render(run_dir)
    command = f"benchctl analyze {run_dir} --slo &#39;p99&lt;=200ms&#39;"
    assert "No capacity analysis: capacity.json is absent." in page
    assert page.count(command) >= 3  # the answer, the curves, the recommendations
    assert "No telemetry: telemetry_windows.parquet is absent" in page
    assert "<code>--no-telemetry</code>" in page
    assert "No autoscaler simulation: autoscale.parquet is absent" in page
    assert "No manifests" in page
    assert 'class="flag warn">capacity analysis: <b>absent' in page
    assert page.count("<svg ") == 3


def test_warnings_spike_advice_and_usl_are_shown(tmp_path: Path) -> None:
    run_dir = analyzed_run(tmp_path)
    doc = _capacity(run_dir)
    doc["single_replica"]["bound"] = doc["bound"] = "lower"
    doc["upper_bound_source"] = "none"
    doc["extrapolated"] = {"capacity_rps": 999.0, "band_rps": [500.0, 2000.0]}
    doc["warnings"] = ["generator_saturated: latencies include the load generator's own delay"]
    doc["confidence"] = {"level": "low", "reasons": ["extrapolated beyond measured load"]}
    doc["autoscaling"]["spike_advice"] = "Reactive HPA scaling cannot keep up: pre-scale."
    doc["service_demand"] = {
        "server_cpu": {"ms_per_request": 4.5, "capacity_units": 2.0, "saturates_at_rps": 444.0},
        "saturates_first": "server_cpu",
    }
    concurrency = np.array([1.0, 2, 4, 8, 16])
    throughput = 100 * concurrency / (1 + 0.05 * (concurrency - 1) + 0.002 * concurrency**2)
    doc["points"] = {
        "source": "levels",
        "labels": [f"c={n:g}" for n in concurrency],
        "throughput_rps": throughput.tolist(),
        "latency_ms": (concurrency / throughput * 1000).tolist(),
    }
    fit = fit_usl(concurrency, throughput)
    doc["usl"] = {"lambda_": fit.lambda_, "sigma": fit.sigma, "kappa": fit.kappa, "r2": fit.r2}
    doc["usl"] |= {"peak_concurrency": fit.peak_concurrency, "measured_max_concurrency": 16}
    (run_dir / "capacity.json").write_text(json.dumps(doc))
    (run_dir / "manifests" / "hpa.yaml").write_text(f"# {XSS}\nkind: HorizontalPodAutoscaler\n")
    page = _render(run_dir)
    assert 'id="banner-analysis-generator-saturated"' in page
    # a lower bound says "at least"; the fit's extrapolation is secondary, never the headline
    assert "One replica sustains at least" in page and 'data-bound="lower"' in page
    assert "extrapolates 999.0 rps: not measured, not used" in page
    assert 'class="flag warn">capacity: <b>lower bound (at least)' in page
    assert 'id="spike-advice"' in page and "cannot keep up" in page
    assert (
        "server_cpu service demand: 4.50 ms per request; upper bound 444.0 rps with all 2 host"
        " cores busy."
    ) in page
    assert 'class="tile bad" id="confidence"' in page
    assert "Throughput vs concurrency: Universal Scalability Law" in page
    assert 'id="figure-curve-2"' in page
    assert XSS not in page and "<script" not in page


def test_unreadable_analysis_files_are_named_not_fatal(tmp_path: Path) -> None:
    run_dir = _run_dir(tmp_path)
    (run_dir / "capacity.json").write_text("{not json")
    (run_dir / "autoscale.parquet").write_text("not parquet")
    (run_dir / WINDOWS).write_text("not parquet")
    page = _render(run_dir)
    assert "capacity.json could not be read" in page
    assert "autoscale.parquet could not be read" in page
    assert "telemetry_windows.parquet could not be read" in page
    assert page.count("<svg ") == 3
