"""``benchctl compare`` says when an SLO verdict is not established (trial 5, finding 6),
through the installed executable from a fresh folder.

Trial 5: REST "no" (p99 56.3 ms) vs gRPC "yes" (14.6 ms) from one run each of 378 requests
on a busy host, the generator's send lag 47% of REST's p99, with no word of doubt; and
"cost #1: B" ranked a run with a price against one analyzed without."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from benchctl.analysis.gate.exact import quantile_bounds
from tests.e2e.helpers import benchctl
from tests.unit.test_gate import make_run


def _measured(run: Path) -> np.ndarray:
    """The successes' latencies after the warm-up (what the verdict is judged on)."""
    rows = pq.read_table(run / "requests.parquet").to_pandas()
    return rows[(rows["phase"] != "warmup") & rows["ok"]]["latency_ms"].to_numpy()


def _busy_windows(run: Path) -> None:
    """Host CPU 95% of 2 cores, server 10% and generator 5% of one: other processes used
    0.95 x 2 - 0.10 - 0.05 = 1.75 cores (contradictions.busy_host)."""
    t = np.arange(0.0, 65.0, 5.0)
    frame = pd.DataFrame(
        {
            "t": t,
            "host_cpu_percent": 95.0,
            "server_cpu_percent": 10.0,
            "generator_cpu_percent": 5.0,
        }
    )
    frame.to_parquet(run / "telemetry_windows.parquet")


def _capacity(run: Path, per_million: float | None) -> None:
    cost = {"currency": "USD", "per_million_at_capacity": per_million} if per_million else None
    document = {"slo": "p99<=30ms", "capacity_rps": 50.0, "bound": "measured", "cost": cost}
    (run / "capacity.json").write_text(json.dumps(document))


def test_unsure_verdicts_say_why_and_cost_ranks_only_priced(tmp_path: Path) -> None:
    """A: 1,000 requests (about 920 successes after the warm-up), median 10 ms, on a busy
    host, with a send-lag flag whose p99 (40 ms) exceeds any margin to the threshold here.
    The threshold is the midpoint of A's p99 95% order-statistic interval (the gate's
    quantile_bounds on A's own latencies), so that interval holds it by construction.
    B: 12,000 requests, median 2 ms (p99 about 2 x e^(2.326 x 0.5) = 6.4 ms), quiet: its
    interval lies below the threshold (checked), so its "yes" stands."""
    runs = tmp_path / "runs"
    lag = {"send_lag_ms": {"p50": 0.1, "p99": 40.0}, "send_lag_warning": "lag"}
    a = make_run(runs, "a", seed=1, requests=1_000, run={"generator": {"saturated": False, **lag}})
    b = make_run(runs, "b", seed=2, requests=12_000, scale=0.2)
    _busy_windows(a)
    values = _measured(a)
    low, high = quantile_bounds(values, 0.99, 0.95)
    threshold = float(round((low + high) / 2))
    assert low < threshold < high
    assert quantile_bounds(_measured(b), 0.99, 0.95)[1] < threshold
    _capacity(a, 0.12)
    _capacity(b, None)
    slo = f"p99<={threshold:g}ms"
    done = benchctl("compare", "runs/a", "runs/b", "--slo", slo, cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.output()
    text = " ".join(done.stdout.split())
    p99_a = float(np.sort(values)[int(np.ceil(0.99 * len(values))) - 1])  # nearest rank
    verdict_a = "yes" if p99_a <= threshold else "no"
    assert (
        f"A meets {slo}: {verdict_a}, not established: busy host (CPU 95%, other processes "
        f"about 1.75 of 2 cores); send lag p99 40 ms (the generator's own delay) is as large "
        f"as the {abs(p99_a - threshold):.3g} ms between its p99 and {threshold:g} ms; p99 95% "
        f"interval {low:.3g} ms to {high:.3g} ms from {len(values):,} requests holds "
        f"{threshold:g} ms"
    ) in text, done.output()
    meets = next(line for line in done.stdout.splitlines() if f"meets {slo}" in line)
    assert [c.strip() for c in meets.split("│")[2:4]] == [f"{verdict_a} (unsure)", "yes"], meets
    assert "B meets" not in text
    assert ("the runs' different verdicts are not an established difference" in text) == (
        verdict_a == "no"
    )
    # cost: A alone has a price: no "#1", and B is named as not ranked by cost
    assert "cost #1" not in text
    assert "cost (unranked): A 0.120 USD per million inferences" in text
    assert "cost: B analyzed without a price, so not ranked by cost" in text
    page = (runs / "b" / "compare-a_vs_b.html").read_text()
    ranking = page[page.index('id="rank-cost"') :]
    assert "<td>1</td>" not in ranking[: ranking.index("</table>")]
    assert "(unsure: busy host" in page


def test_an_established_verdict_has_no_doubt(tmp_path: Path) -> None:
    """Two quiet 12,000-request runs, median 10 ms (lognormal sigma 0.5: p99 about
    10 x e^(2.326 x 0.5) = 32 ms), SLO p99<=200ms: each p99 interval lies far below 200 ms,
    no flag: plain "yes", no "unsure", no doubt line."""
    runs = tmp_path / "runs"
    make_run(runs, "a", seed=1)
    make_run(runs, "b", seed=2)
    done = benchctl("compare", "runs/a", "runs/b", "--slo", "p99<=200ms", cwd=tmp_path)
    assert done.returncode == 0, done.output()
    assert "unsure" not in done.stdout and "not established" not in done.stdout, done.output()
    meets = next(line for line in done.stdout.splitlines() if "meets p99<=200ms" in line)
    assert [cell.strip() for cell in meets.split("│")[2:4]] == ["yes", "yes"], meets
