"""benchctl vs NVIDIA perf_analyzer: one launched Triton, the same fixed request rate.

Run by hand: ``.venv/bin/python benchmarks/triton_vs_perf_analyzer.py [--rate 100]``.

On one real Triton (launched by benchctl, reference MLP, no batching), alternately
perf_analyzer (``--request-rate-range R``, HTTP, JSON tensors like benchctl's) and benchctl
``steady`` at rate R, ``--repeats`` times each (the order flips every repeat); prints the
medians and the differences. Both use constant gaps between intended sends, so the achieved
rate carries no Poisson count noise. Latency is defined differently:

* perf_analyzer: client-side, from the actual send to the response, over
  ``--request-count`` = rate x seconds requests (no stabilisation loop: same length as ours);
* benchctl ``latency_ms``: from the *intended* send time (no coordinated omission), and
  ``service_ms``: from the request's first byte written to its answer's last byte read,
  which is what to compare with perf_analyzer's (whose span also holds its own C++ client's
  work and thread hand-offs around the wire).

Triton's own mean request duration (from its metrics) is shown for each tool's runs, so a
client-side difference can be told apart from a server slowed by the machine being busy;
each tool's p50 minus that mean, run by run, is what the client adds to the server's time.
Goal (issue 17): the p50 each tool reports within 5% (benchctl's ``latency_ms``, from the
intended send, against perf_analyzer's), achieved rate within 2%; ``service_ms`` is shown too.
Needs ``libb64-0d`` (Debian: ``apt-get install -y libb64-0d``); perf_analyzer itself
(tritonclient[all]==2.51.0, newer wheels need glibc 2.38) and the CUDA runtime it links
against are installed into a cached venv on first use.
"""

from __future__ import annotations

import argparse
import csv
import ctypes.util
import io
import os
import re
import statistics
import subprocess
import sys
import tempfile
import urllib.request
from collections.abc import Callable
from pathlib import Path

import psutil
import pyarrow.parquet as pq
from rich.console import Console

from benchctl.run import RunOptions, run
from benchctl.targets.launch import LaunchedServer, server_venv
from benchctl.targets.launch_triton import launch_triton
from benchctl.telemetry.session import TelemetryOptions

PA_REQUIREMENTS = ["tritonclient[all]==2.51.0", "nvidia-cuda-runtime-cu12==12.6.77"]
MODEL = "mlp"
QUIET = Console(file=io.StringIO(), width=120)
_HTTP = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def triton_totals(server: LaunchedServer) -> tuple[float, float]:
    """Triton's (successful requests, their summed duration in µs) for the model."""
    assert server.metrics_url
    text = _HTTP.open(server.metrics_url, timeout=10).read().decode()

    def total(name: str) -> float:
        pattern = rf'^{name}\{{[^}}]*model="{MODEL}"[^}}]*\}} (\S+)$'
        return sum(float(v) for v in re.findall(pattern, text, re.MULTILINE))

    return total("nv_inference_request_success"), total("nv_inference_request_duration_us")


def with_server_side(
    server: LaunchedServer, measure: Callable[[], dict[str, float]]
) -> dict[str, float]:
    """``measure()`` plus ``server_ms``: Triton's mean request duration during it."""
    count0, us0 = triton_totals(server)
    row = measure()
    count1, us1 = triton_totals(server)
    return {**row, "server_ms": (us1 - us0) / max(1.0, count1 - count0) / 1000}


def perf_analyzer(venv: Path) -> tuple[Path, dict[str, str]]:
    """The perf_analyzer binary and an environment in which its libraries load."""
    (cudart,) = venv.glob("lib/python*/site-packages/nvidia/cuda_runtime/lib")
    env = dict(os.environ)
    env["LD_LIBRARY_PATH"] = os.pathsep.join(
        p for p in (str(cudart), env.get("LD_LIBRARY_PATH", "")) if p
    )
    return venv / "bin" / "perf_analyzer", env


def run_perf_analyzer(
    server: LaunchedServer, rate: float, seconds: int, work: Path, venv: Path
) -> dict[str, float]:
    binary, env = perf_analyzer(venv)
    report = work / "perf_analyzer.csv"
    command = [
        str(binary), "-m", MODEL, "-u", server.http_url.removeprefix("http://"), "-i", "http",
        "--shape", "input-0:1,64", "--input-tensor-format", "json",
        "--output-tensor-format", "json", "--request-rate-range", f"{rate:g}",
        "--request-distribution", "constant", "--request-count", str(round(rate * seconds)),
        "--percentile", "50", "-f", str(report),
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if result.returncode != 0 or not report.exists():
        tail = (result.stdout + result.stderr).strip().splitlines()[-3:]
        raise SystemExit(f"perf_analyzer failed ({result.returncode}): {' | '.join(tail)}")
    (row,) = csv.DictReader(report.open())
    return {
        "p50_ms": float(row["p50 latency"]) / 1000,
        "p99_ms": float(row["p99 latency"]) / 1000,
        "rate": float(row["Inferences/Second"]),
    }


def run_benchctl(
    server: LaunchedServer, rate: float, seconds: int, work: Path, telemetry: bool = True
) -> dict[str, float]:
    result = run(
        RunOptions(
            scenario="steady",
            target="triton",
            rate=rate,
            duration=f"{seconds}s",
            overrides=("warmup=0", "arrivals=constant"),
            target_overrides=(
                f"url={server.http_url}",
                f"grpc_address={server.grpc_address}",
                f"metrics_url={server.metrics_url}",
            ),
            runs_dir=work / "runs",
            telemetry=TelemetryOptions(enabled=telemetry),
        ),
        console=QUIET,
    )
    if result.status != "completed" or result.summary is None or result.run_dir is None:
        raise SystemExit(f"benchctl run {result.status}: {result.reason}")
    frame = pq.read_table(result.run_dir / "requests.parquet").to_pandas()
    measured = frame[frame["ok"]]
    overall = result.summary["overall"]
    ends = measured["t_start"] + measured["service_ms"] / 1000
    return {
        "p50_ms": float(measured["service_ms"].median()),
        "p99_ms": float(measured["service_ms"].quantile(0.99)),
        "latency_p50_ms": float(overall["latency_ms"]["p50"]),
        # like perf_analyzer's: completed requests / (last response - first send)
        "rate": len(measured) / float(ends.max() - measured["t_start"].min()),
        "errors": float(overall["errors"] + overall["dropped"]),
    }


def median(rows: list[dict[str, float]], key: str) -> float:
    return statistics.median(row[key] for row in rows)


def report(rate: float, pa: list[dict[str, float]], ours: list[dict[str, float]]) -> None:
    print(f"\nTriton, reference MLP, {rate:g} req/s constant, medians of {len(pa)} repeats")
    print(f"{'':34}{'perf_analyzer':>14}{'benchctl':>10}{'diff':>9}")
    pairs = [
        ("p50 ms (actual send -> response)", "p50_ms", "p50_ms"),
        ("p99 ms (actual send -> response)", "p99_ms", "p99_ms"),
        ("achieved rate req/s", "rate", "rate"),
        ("Triton's mean request ms (server)", "server_ms", "server_ms"),
    ]
    for label, pa_key, our_key in pairs:
        a, b = median(pa, pa_key), median(ours, our_key)
        print(f"{label:34}{a:14.3f}{b:10.3f}{(b - a) / a:+9.1%}")
    # what each tool prints as its p50: perf_analyzer's from its request's start (its own
    # client work included), benchctl's latency_ms from the intended send time (its send lag
    # and client work included): the comparison issue 17's goal reads
    a, b = median(pa, "p50_ms"), median(ours, "latency_p50_ms")
    print(f"{'p50 ms as each tool reports it':34}{a:14.3f}{b:10.3f}{(b - a) / a:+9.1%}")
    # Triton's own duration moves from run to run with the machine; a client's p50 minus the
    # server's mean in the same run is (about) what the client adds: wire, wake-ups, its code
    a, b = (statistics.median(r["p50_ms"] - r["server_ms"] for r in rows) for rows in (pa, ours))
    print(f"{'p50 minus Triton own mean ms':34}{a:14.3f}{b:10.3f}{(b - a) / a:+9.1%}")
    for label, our_key in (("actual send", "p50_ms"), ("as reported", "latency_p50_ms")):
        paired = sorted(b[our_key] / a["p50_ms"] - 1 for a, b in zip(pa, ours, strict=True))
        print(
            f"p50 difference ({label}) repeat by repeat: median {statistics.median(paired):+.1%}"
            f", range {paired[0]:+.1%} .. {paired[-1]:+.1%}"
        )
    print(f"benchctl errors + dropped per run: {[int(r['errors']) for r in ours]}")


def alternate(
    server: LaunchedServer, args: argparse.Namespace, work: Path, venv: Path
) -> tuple[list[dict[str, float]], list[dict[str, float]]]:
    """perf_analyzer and benchctl in turn, the first of each pair flipping every repeat."""
    pa: list[dict[str, float]] = []
    ours: list[dict[str, float]] = []

    def run_pa() -> dict[str, float]:
        return run_perf_analyzer(server, args.rate, args.seconds, work, venv)

    def run_ours() -> dict[str, float]:
        return run_benchctl(server, args.rate, args.seconds, work, not args.no_telemetry)

    for i in range(args.repeats):
        if i % 2 == 0:
            pa.append(with_server_side(server, run_pa))
        ours.append(with_server_side(server, run_ours))
        if i % 2 == 1:
            pa.append(with_server_side(server, run_pa))
        print(
            f"repeat {i + 1}: perf_analyzer {_short(pa[-1])}; benchctl {_short(ours[-1])}",
            flush=True,
        )
    return pa, ours


def _short(row: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:.3f}" for k, v in row.items())


def pin_apart(server: LaunchedServer) -> None:
    """Triton's process tree on CPU 0, this process (and so every client it starts) on the
    rest. Raises SystemExit on a one-CPU machine."""
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        raise SystemExit("--pin needs at least 2 CPUs")
    root = psutil.Process(server.pid)
    for proc in [root, *root.children(recursive=True)]:
        for thread in proc.threads():
            os.sched_setaffinity(thread.id, {cpus[0]})
    os.sched_setaffinity(0, set(cpus[1:]))
    print(f"pinned: Triton on CPU {cpus[0]}, clients on {cpus[1:]}", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=15, help="length of every run")
    parser.add_argument(
        "--no-telemetry", action="store_true",
        help="benchctl samples no telemetry (as `run --no-telemetry`): its CLI's samplers "
        "share the CPU with the client and the server",
    )  # fmt: skip
    parser.add_argument(
        "--pin", action="store_true",
        help="Triton (every thread, and its Python backend stub) on the first CPU, both "
        "clients on the others: client and server stop taking each other's core",
    )  # fmt: skip
    args = parser.parse_args()
    if ctypes.util.find_library("b64") is None:
        print("perf_analyzer needs libb64: apt-get install -y libb64-0d", file=sys.stderr)
        return 2
    venv = server_venv("perf-analyzer", PA_REQUIREMENTS)
    with tempfile.TemporaryDirectory(prefix="benchctl-pa-") as tmp:
        work = Path(tmp)
        server = launch_triton(log_dir=work / "triton")
        try:
            if args.pin:
                pin_apart(server)
            pa, ours = alternate(server, args, work, venv)
        finally:
            server.stop()
    report(args.rate, pa, ours)
    return 0


if __name__ == "__main__":
    sys.exit(main())
