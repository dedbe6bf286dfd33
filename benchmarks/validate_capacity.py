"""Predicted vs measured capacity of two replicas, on a real launched KServe.

1. Measure one replica (1 KServe worker) with a step run; `benchctl analyze` gives its
   capacity under the SLO and its fitted saturation rate μ.
2. Predict two replicas: linearly (2 × capacity) and with the M/M/c model analyze uses
   (2 servers of rate μ, plus the fitted base latency).
3. Measure two replicas (2 KServe workers, the same model cost) the same way, and print
   predicted vs measured.

On a 2-core machine the generator shares the cores with the server, so two workers cannot
get two full cores: the measured ratio says how far this machine is from linear.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from scipy.optimize import brentq

from benchctl.analysis.queueing import mmc_response_quantile


def step_run(runs: Path, workers: int, rates: list[int], step_s: int, repeat: int) -> Path:
    before = set(runs.glob("*")) if runs.exists() else set()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "benchctl",
            "run",
            "step",
            "--target",
            "kserve",
            "--launch",
            "--target-set",
            f"launch.workers={workers}",
            "--target-set",
            f"launch.repeat={repeat}",
            "--set",
            f"rates={rates}",
            "--set",
            f"step_duration={step_s}s",
            "--set",
            "warmup=3s",
            "--runs-dir",
            str(runs),
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    (run_dir,) = set(runs.glob("*")) - before
    return run_dir


def analyze(run_dir: Path, slo: str) -> dict:
    subprocess.run(
        [sys.executable, "-m", "benchctl", "analyze", str(run_dir), "--slo", slo],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return json.loads((run_dir / "capacity.json").read_text())


def mmc_capacity(servers: int, mu: float, base_ms: float, quantile: float, slo_ms: float) -> float:
    """Highest arrival rate whose M/M/c response quantile (plus the base) meets the SLO."""

    def excess(rate: float) -> float:
        return base_ms + 1000 * mmc_response_quantile(servers, rate, mu, quantile) - slo_ms

    return brentq(excess, 1e-6, servers * mu * (1 - 1e-9))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slo", default="p99<=100ms")
    parser.add_argument("--repeat", type=int, default=40, help="reference model cost knob")
    parser.add_argument("--step-seconds", type=int, default=15)
    args = parser.parse_args()
    quantile = float(args.slo[1:].split("<")[0]) / 100
    slo_ms = float(args.slo.split("=")[-1].removesuffix("ms"))
    with tempfile.TemporaryDirectory(prefix="benchctl-validate-") as tmp:
        runs = Path(tmp)
        one = analyze(
            step_run(runs, 1, [20, 60, 100, 140, 180, 220], args.step_seconds, args.repeat),
            args.slo,
        )
        two = analyze(
            step_run(runs, 2, [40, 120, 200, 280, 340, 400], args.step_seconds, args.repeat),
            args.slo,
        )
    single = one["single_replica"]
    fit = single.get("fit") or {}
    linear = 2 * single["capacity_rps"]
    queueing = (
        mmc_capacity(2, fit["x_max"], fit["base_ms"], quantile, slo_ms) if fit else float("nan")
    )
    measured = two["single_replica"]
    print(f"SLO {args.slo}, reference model repeat={args.repeat}, KServe on this machine")
    print(
        f"1 replica measured: {single['capacity_rps']:.1f} rps (highest measured point "
        f"meeting the SLO: {single['measured_capacity_rps']:.1f}; fit r² "
        f"{fit.get('r2', float('nan')):.2f}, μ {fit.get('x_max', float('nan')):.1f} rps)"
    )
    print(f"2 replicas predicted: linear {linear:.1f} rps, M/M/2 {queueing:.1f} rps")
    print(
        f"2 replicas measured: {measured['capacity_rps']:.1f} rps (highest measured point "
        f"meeting the SLO: {measured['measured_capacity_rps']:.1f})"
    )
    print(
        f"measured / predicted: linear {measured['capacity_rps'] / linear:.2f}, "
        f"M/M/2 {measured['capacity_rps'] / queueing:.2f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
