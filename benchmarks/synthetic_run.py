"""A synthetic step run with a known capacity, of any size, in bounded memory.

The run is what ``benchctl run step`` leaves behind (run.json with its plan, requests.parquet
with every column of ``benchctl.load.records.SCHEMA``) for a server that is an exact M/M/1
queue with service rate ``mu`` (req/s):

* arrivals are a Poisson process at each level's rate (per chunk of time: a Poisson count,
  then that many uniform times, sorted: the same process);
* each latency is an M/M/1 response time in equilibrium, Exp(mu - rate) seconds, counted from
  the intended time; the send lag is Exp(mean 0.2 ms) and is part of it;
* levels are phases ``step{i}@{rate}rps`` after a ``warmup`` phase, as the step scenario plans.

The known answer: under an SLO ``p(q) <= T`` one replica sustains the rate lambda where
P(R > T) = exp(-(mu - lambda) T) = 1 - q, i.e. ``lambda = mu + ln(1 - q) / T``
(``known_capacity``).

Rows are made and written one chunk at a time (``chunk_rows``, 1 Mi by default) through the
project's own writer (``records.to_table`` -> ``PartWriter`` parts -> ``merge_parts``, which
writes row groups of 1 Mi rows), so 10 million rows never sit in memory at once.

    python benchmarks/synthetic_run.py OUT_DIR --rows 1000000
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from benchctl.load.records import PartWriter, merge_parts, to_table
from benchctl.plan.shapes import WARMUP

MU = 1000.0  # service rate of the synthetic M/M/1 server (req/s)
RATES = (250.0, 500.0, 650.0, 800.0, 900.0, 950.0)
WARMUP_S = 10.0
SEND_LAG_MS = 0.2  # mean of the exponential send lag


def known_capacity(mu: float, quantile: float, threshold_ms: float) -> float:
    """Capacity (req/s) of one M/M/1 replica under ``p(quantile) <= threshold_ms``:
    ``mu + ln(1 - quantile) / T`` (T in seconds), from P(R > T) = exp(-(mu - lambda) T)."""
    return mu + math.log(1.0 - quantile) / (threshold_ms / 1000.0)


def step_seconds(rows: int, rates: tuple[float, ...] = RATES) -> float:
    """Hold per level (s) so that the levels together expect ``rows`` requests."""
    return rows / sum(rates)


def phases_of(rates: tuple[float, ...], step_s: float, warmup_s: float) -> list[dict]:
    """The plan's phases, as ``plan_scenario`` makes them for a step scenario."""
    phases = [{"name": WARMUP, "start": 0.0, "end": warmup_s}] if warmup_s > 0 else []
    for i, rate in enumerate(rates):
        start, end = i * step_s, (i + 1) * step_s
        if end > warmup_s:
            phases.append(
                {"name": f"step{i + 1}@{rate:g}rps", "start": max(start, warmup_s), "end": end}
            )
    return phases


def _chunks(
    rng: np.random.Generator, rates: tuple[float, ...], step_s: float, chunk_rows: int
) -> Iterator[tuple[np.ndarray, float]]:
    """(sorted arrival times, rate) per chunk of time, in time order."""
    for i, rate in enumerate(rates):
        start, end = i * step_s, (i + 1) * step_s
        piece = max(chunk_rows / rate, 1e-3)
        t = start
        while t < end:
            stop = min(t + piece, end)
            count = rng.poisson(rate * (stop - t))
            yield np.sort(rng.uniform(t, stop, count)), rate
            t = stop


def write_step_run(
    run_dir: Path,
    *,
    rows: int,
    mu: float = MU,
    rates: tuple[float, ...] = RATES,
    warmup_s: float = WARMUP_S,
    seed: int = 1,
    chunk_rows: int = 1 << 20,
) -> Path:
    """Write a completed step run of about ``rows`` requests into ``run_dir`` (created).

    Inputs: rows (expected count; the Poisson total varies by about sqrt(rows)), ``mu`` and
    ``rates`` in req/s (every rate below mu), warm-up seconds, seed, rows per written chunk.
    Output: ``run_dir``. ValueError if a rate is not below mu."""
    if any(rate >= mu for rate in rates):
        raise ValueError(f"every rate must be below mu={mu:g} req/s for a stable M/M/1 level")
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=False)
    step_s = step_seconds(rows, rates)
    warmup_s = min(warmup_s, step_s / 2)  # as the planner: at most half the first phase
    phases = phases_of(rates, step_s, warmup_s)
    names = [p["name"] for p in phases]
    bounds = np.array([p["end"] for p in phases])
    rng = np.random.default_rng(seed)
    writer = PartWriter(run_dir / "requests.parts")
    for intended, rate in _chunks(rng, rates, step_s, chunk_rows):
        n = len(intended)
        if not n:
            continue
        latency_ms = rng.exponential(1000.0 / (mu - rate), n)
        lag_ms = np.minimum(rng.exponential(SEND_LAG_MS, n), latency_ms)
        columns = {
            "t_intended": intended,
            "t_start": intended + lag_ms / 1000.0,
            "latency_ms": latency_ms,
            "service_ms": latency_ms - lag_ms,
            "send_lag_ms": lag_ms,
            "status": np.full(n, 200, dtype=np.int32),
            "ok": np.ones(n, dtype=bool),
            "error": [""] * n,
            "bytes_sent": np.full(n, 310, dtype=np.int32),
            "bytes_received": np.full(n, 180, dtype=np.int32),
            "worker": rng.integers(0, 2, n, dtype=np.int16),
        }
        phase_index = np.minimum(np.searchsorted(bounds, intended, side="right"), len(names) - 1)
        writer.write(to_table(columns, names, phase_index.astype(np.int8)))
    merge_parts(run_dir / "requests.parts", run_dir / "requests.parquet")
    duration = step_s * len(rates)
    info = {
        "schema_version": 1,
        "id": run_dir.name,
        "status": "completed",
        "reason": "",
        "scenario": {
            "name": "step",
            "time_scale": 1.0,
            "spec": {
                "kind": "step",
                "rates": list(rates),
                "step_duration": step_s,
                "warmup": warmup_s,
            },
        },
        "target": {"name": "synthetic-mm1", "spec": {"kind": "kserve"}},
        "plan": {
            "duration": duration,
            "open_loop": True,
            "phases": phases,
            "curve": [[i * step_s, rate] for i, rate in enumerate(rates)],
        },
        "host": {"cpus": 2},
        "generator": {"saturated": False},
        "synthetic": {"model": "M/M/1", "mu_rps": mu, "seed": seed},
    }
    (run_dir / "run.json").write_text(json.dumps(info, indent=1))
    return run_dir


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--mu", type=float, default=MU)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    write_step_run(args.run_dir, rows=args.rows, mu=args.mu, seed=args.seed)
    print(args.run_dir)


if __name__ == "__main__":
    main()
