"""One percentile definition everywhere: nearest rank (HdrHistogram, wrk2), known sets."""

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from benchctl.analysis.gate import PASS, absolute_minimum, gate
from benchctl.analysis.percentiles import grouped_quantile, nearest_rank, rank
from benchctl.analysis.summary import read_requests, summarize
from benchctl.analysis.windows import request_windows

from ..e2e.helpers import benchctl
from .test_gate import PHASES, make_run

# 990 × 10 ms and 10 × 1000 ms: exactly 99% of requests took 10 ms.
KNOWN = np.array([10.0] * 990 + [1000.0] * 10)


def test_known_set_p99_is_10_ms_not_19_9():
    """rank = ceil(0.99 · 1000) = 990 → the 990th value, 10 ms (linear interpolation gives
    19.9 ms, a latency no request had). p99.9: ceil(999) = 999th → 1000 ms. p50 of 1..4:
    ceil(2) = 2nd → 2."""
    assert nearest_rank(KNOWN, (99, 99.9)).tolist() == [10.0, 1000.0]
    assert nearest_rank(np.array([4.0, 1, 3, 2]), (50, 100)).tolist() == [2.0, 4.0]
    assert rank(0.999, 1000) == 998 and rank(0.99, 1000) == 989 and rank(0.5, 1) == 0
    assert nearest_rank(KNOWN, (99,))[0] == np.percentile(KNOWN, 99, method="inverted_cdf")


def test_grouped_quantile_per_window():
    """Window 0: 1..10 → p90 = 9th = 9; window 1: 100, 200 → p90 = ceil(1.8) = 2nd = 200."""
    values = np.array([*range(1, 11), 100, 200, np.nan], dtype=float)
    groups = np.array([0] * 10 + [1, 1, 1])
    assert grouped_quantile(values, groups, 0.9).to_dict() == {0: 9.0, 1: 200.0}


def _known_run(base: Path, name: str, outliers: bool, seed: int) -> Path:
    """A steady run of 10,000 successful requests at 10 ms; with ``outliers``, exactly
    floor(m / 100) of the m measured (post-warm-up) requests take 1000 ms instead, spread
    evenly in time."""
    path = make_run(base, name, seed=seed, requests=10_000, error_rate=0.0)
    table = pq.read_table(path / "requests.parquet")
    n = table.num_rows
    latency = np.full(n, 10.0)
    measured = np.flatnonzero(table.column("phase").to_numpy() != "warmup")
    if outliers:
        latency[measured[np.linspace(0, len(measured) - 1, len(measured) // 100).astype(int)]] = (
            1000.0
        )
    for column, values in (
        ("latency_ms", pa.array(latency)),
        ("ok", pa.array(np.ones(n, dtype=bool))),
        ("error", pa.array([""] * n)),
    ):
        table = table.set_column(table.schema.get_field_index(column), column, values)
    pq.write_table(table, path / "requests.parquet")
    phases = [{"name": n_, "start": s, "end": e} for n_, s, e in PHASES]
    summary = summarize(read_requests(path / "requests.parquet"), phases)
    (path / "summary.json").write_text(json.dumps(summary))
    return path


def test_summary_windows_and_gate_use_the_same_definition(tmp_path: Path):
    """Baseline: every request 10 ms; candidate: 1% of the m measured requests (m // 100)
    take 1000 ms. Candidate p99 = the ceil(0.99 m)-th value <= the (m - m // 100)-th = 10 ms
    in summary.json and in the gate, so ``p99_ms max: 15`` passes, and the relative change is
    +0.0% (its interval comes from the same definition in the bootstrap)."""
    base = _known_run(tmp_path, "base", False, seed=1)
    cand = _known_run(tmp_path, "cand", True, seed=2)
    summary = json.loads((cand / "summary.json").read_text())
    assert summary["overall"]["latency_ms"]["p99"] == 10.0
    assert summary["overall"]["latency_ms"]["max"] == 1000.0
    rules = tmp_path / "gate.yaml"
    rules.write_text(
        "rules:\n  - {metric: p99_ms, max: 15}\n  - {metric: p99_ms, max_increase: 10%}\n"
    )
    result = gate(baseline=base, candidate=cand, rules=rules)
    absolute, relative = result.rules
    assert (absolute.verdict, absolute.candidate) == (PASS, 10.0)
    assert relative.change == pytest.approx(0.0) and relative.verdict == PASS
    cli = benchctl(
        "gate",
        "--baseline",
        str(base),
        "--candidate",
        str(cand),
        "--rules",
        str(rules),
        "--json",
        "gate.json",
        cwd=tmp_path,
    )
    assert cli.returncode == 0, cli.output()
    written = json.loads((tmp_path / "gate.json").read_text())["rules"]
    assert [(r["verdict"], r["candidate"]) for r in written] == [(PASS, 10.0), (PASS, 10.0)]
    columns = ["t_intended", "t_start", "latency_ms", "ok", "error", "phase"]
    windows = request_windows(read_requests(cand / "requests.parquet", columns), 60.0, (0.5,))
    assert set(windows["p50"].dropna()) == {10.0}


def test_absolute_rule_minimums():
    """ceil(1/(1 - p)): p50 → 2, p95 → 20, p99 → 100, p99.9 → 1000; rates → 10."""
    assert [absolute_minimum(m) for m in ("p50_ms", "p95_ms", "p99_ms", "p99.9_ms")] == [
        2,
        20,
        100,
        1000,
    ]
    assert absolute_minimum("throughput_rps") == absolute_minimum("error_rate") == 10
