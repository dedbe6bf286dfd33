"""Payload pools as a user runs them (installed ``benchctl``, fresh directory, default
``runs/``) against a real KServe launched with the reference model's answer cache."""

from __future__ import annotations

import json
from pathlib import Path

from tests.e2e.helpers import Finished, benchctl

COST_MS = 10.0  # a cache miss keeps the one worker busy this long (wall clock)
CACHE = 50  # answers the server keeps (LRU on input bytes)
POOL = 500


def _pool_run(cwd: Path, law: str) -> Finished:
    done = benchctl(
        "run", "steady", "--target", "kserve", "--launch", "--rate", "40",
        "--duration", "8s", "--set", "warmup=2s", "--no-telemetry",
        "--target-set", f"launch.cost_ms={COST_MS}",
        "--target-set", f"launch.cache_size={CACHE}",
        "--target-set", f"payload.pool={POOL}",
        "--target-set", f"payload.popularity={law}",
        "--target-set", "payload.zipf_s=1.5",
        cwd=cwd, timeout=180,
    )  # fmt: skip
    assert done.returncode == 0, done.output()
    return done


def _p50(done: Finished) -> float:
    summary = json.loads((done.run_dir / "summary.json").read_text())
    return float(summary["phases"]["steady"]["latency_ms"]["p50"])


def test_zipf_pool_has_lower_median_than_uniform_on_a_caching_server(tmp_path: Path) -> None:
    """Known bounds, not tuned numbers. Uniform over 500 inputs with 50 cached: at most
    50/500 = 10% hits, so the median request is a miss and pays cost_ms: p50 >= 10 ms.
    Zipf s = 1.5 over 500: H(500, 1.5) ~ zeta(1.5) - 2/sqrt(500) ~ 2.612 - 0.089 = 2.52, and
    the 5 most popular inputs carry (1 + 2^-1.5 + 3^-1.5 + 4^-1.5 + 5^-1.5) / 2.52
    ~ 1.76 / 2.52 ~ 70% of requests; each recurs every 1 / p <= 2.52 / 5^-1.5 ~ 28 requests
    on average, well inside an LRU of 50 distinct inputs, so they are hits, answered without
    the 10 ms: more than half the requests skip the cost, p50 < 10 ms."""
    zipf = _pool_run(tmp_path, "zipf")
    uniform = _pool_run(tmp_path, "uniform")
    assert _p50(zipf) < COST_MS <= _p50(uniform), (_p50(zipf), _p50(uniform))

    # every request says which input it carried: the hot input is the fast one
    rows = zipf.requests()
    steady = rows[(rows.phase == "steady") & rows.ok]
    assert steady.input_id.between(0, POOL - 1).all()
    assert set(steady.model.astype(str)) == {"mlp"}
    hot = steady[steady.input_id == 0].latency_ms.median()
    cold = steady[steady.input_id >= CACHE].latency_ms.median()  # ~8% of requests
    assert hot < COST_MS <= cold, (hot, cold)
    # summary.json: the 10 most requested inputs (mostly cached) answer under the cost
    inputs = json.loads((zipf.run_dir / "summary.json").read_text())["inputs"]
    assert inputs["distinct"] > 10 and inputs["hot"]["latency_ms"]["p50"] < COST_MS
    uniform_rows = uniform.requests()
    assert uniform_rows.input_id.nunique() > rows.input_id.nunique()
