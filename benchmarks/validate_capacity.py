"""Predicted vs measured capacity of two replicas, on a real launched KServe.

1. Measure one replica (1 KServe worker) with a capacity search (`benchctl run capacity
   --slo`): its capacity under the SLO, with its bound, and its saturation rate μ.
2. Predict two replicas: linearly (2 × capacity) and with the M/M/c model analyze uses
   (2 servers of rate μ, plus the fitted base latency).
3. Measure two replicas (2 KServe workers, the same model cost) the same way, and print
   predicted vs measured. (Before the search existed this used step runs; the README's
   table of 2026-11-22 was measured that way.)

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


def search(runs: Path, workers: int, repeat: int, slo: str) -> dict:
    """A capacity search on a freshly launched KServe; its capacity.json."""
    before = set(runs.glob("*")) if runs.exists() else set()
    subprocess.run(
        [
            sys.executable, "-m", "benchctl", "run", "capacity",
            "--target", "kserve", "--launch",
            "--target-set", f"launch.workers={workers}",
            "--target-set", f"launch.repeat={repeat}",
            "--slo", slo, "--rate", "20", "--runs-dir", str(runs),
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    (run_dir,) = set(runs.glob("*")) - before
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
    args = parser.parse_args()
    quantile = float(args.slo[1:].split("<")[0]) / 100
    slo_ms = float(args.slo.split("=")[-1].removesuffix("ms"))
    with tempfile.TemporaryDirectory(prefix="benchctl-validate-") as tmp:
        runs = Path(tmp)
        one = search(runs, 1, args.repeat, args.slo)
        two = search(runs, 2, args.repeat, args.slo)
    single = one["single_replica"]
    fit = single.get("fit") or {}
    mu = single.get("saturation_rps") or fit.get("x_max")
    linear = 2 * single["capacity_rps"]
    queueing = (
        mmc_capacity(2, mu, fit.get("base_ms", 0.0), quantile, slo_ms) if mu else float("nan")
    )
    measured = two["single_replica"]
    print(f"SLO {args.slo}, reference model repeat={args.repeat}, KServe on this machine")
    print(
        f"1 replica measured by the search: {single['capacity_rps']:.1f} rps ({one['bound']}, "
        f"band {one['capacity_band_rps'][0]:.1f}-{one['capacity_band_rps'][1]:.1f}; "
        f"saturation μ {mu or float('nan'):.1f} rps from {single.get('saturation_source')})"
    )
    print(f"2 replicas predicted: linear {linear:.1f} rps, M/M/2 {queueing:.1f} rps")
    print(
        f"2 replicas measured by the search: {measured['capacity_rps']:.1f} rps "
        f"({two['bound']}, band {two['capacity_band_rps'][0]:.1f}-"
        f"{two['capacity_band_rps'][1]:.1f})"
    )
    print(
        f"measured / predicted: linear {measured['capacity_rps'] / linear:.2f}, "
        f"M/M/2 {measured['capacity_rps'] / queueing:.2f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
