"""How often `benchctl gate` cries wolf, and how often it catches a real slowdown.

On a real launched KServe (the bundled reference model, its per-request cost set with
``launch.cost_ms``), all through the installed ``benchctl``:

1. **False alarms.** N identical-configuration runs of the steady scenario (only the seed
   of the arrivals differs; each run launches its own server, as a nightly job does). Every
   leave-one-out gate: run i as the candidate, the other N-1 runs as the baseline folder
   (``--last N-1``), with the rules file (default ``examples/gate.yaml``). A false alarm is a
   gate that fails (exit 1). Also counted: p50/p99 intervals that exclude zero.
2. **Power.** The service time is planted 20% and 50% longer: the model's ``cost_ms`` is
   raised by that fraction of the baseline's median latency at this load (S0, the median of
   the N runs' p50, which at low utilisation is the service time plus a little queueing).
   M runs of each slowed configuration are gated against all N baseline runs; a detection is
   a gate that fails on a latency rule.

Prints one dated table (and writes it with every gate's numbers to ``--out``/calibration.json).
Rates come with exact 95% Clopper-Pearson intervals: with 8 runs, 0 false alarms out of 8
means "at most 37%", not "0%". The machine must be quiet: other load on it is run-to-run
noise, which is what this measures.

    .venv/bin/python benchmarks/gate_calibration.py                 # 8 runs, 2 x 8 slowed
    .venv/bin/python benchmarks/gate_calibration.py --runs 4 --slow-runs 2 --duration 15
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from statistics import median
from typing import Any

from scipy.stats import beta

ROOT = Path(__file__).resolve().parents[1]
BENCHCTL = Path(sys.executable).with_name("benchctl")
LATENCY_RULES = ("p50_ms", "p90_ms", "p95_ms", "p99_ms", "p99.9_ms")


def clopper_pearson(hits: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Exact binomial interval of a rate (Clopper and Pearson, Biometrika 1934)."""
    if n == 0:
        return 0.0, 1.0
    tail = (1 - level) / 2
    low = 0.0 if hits == 0 else float(beta.ppf(tail, hits, n - hits + 1))
    high = 1.0 if hits == n else float(beta.ppf(1 - tail, hits + 1, n - hits))
    return low, high


def one_run(folder: Path, args: argparse.Namespace, seed: int, cost_ms: float) -> Path:
    """One ``benchctl run steady`` on a freshly launched KServe; returns its run directory."""
    folder.mkdir(parents=True, exist_ok=True)
    before = set(folder.iterdir())
    command = [
        str(BENCHCTL), "run", "steady", "--target", "kserve", "--launch",
        "--set", f"rate={args.rate}", "--set", f"duration={args.duration}s",
        "--set", f"warmup={args.warmup}s", "--set", f"seed={seed}",
        "--target-set", f"launch.cost_ms={cost_ms:.3f}", "--runs-dir", str(folder),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=args.duration + 300)
    made = sorted(set(folder.iterdir()) - before)
    if done.returncode != 0 or len(made) != 1:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise SystemExit(f"benchctl run exited {done.returncode}: {' / '.join(tail)}")
    return made[0]


def completed_runs(folder: Path) -> list[Path]:
    """The run directories in ``folder`` whose run.json says ``completed``, oldest first."""
    if not folder.is_dir():
        return []
    done = []
    for run_dir in sorted(p for p in folder.iterdir() if (p / "run.json").is_file()):
        if json.loads((run_dir / "run.json").read_text()).get("status") == "completed":
            done.append(run_dir)
    return done


def make_runs(
    folder: Path, args: argparse.Namespace, count: int, first_seed: int, cost_ms: float
) -> list[Path]:
    """``count`` runs in ``folder`` (seeds first_seed, first_seed + 1, ...).

    Without ``--resume`` the folder starts empty. With it, the completed runs already there
    are kept (anything else is removed) and only the missing ones are made, with the seeds
    that follow theirs; a resumed run must use the same settings as the first attempt.
    """
    kept = completed_runs(folder) if args.resume else []
    if folder.exists():
        for stale in set(folder.iterdir()) - set(kept):
            shutil.rmtree(stale) if stale.is_dir() else stale.unlink()
    seeds = range(first_seed + len(kept), first_seed + count)
    return kept[:count] + [one_run(folder, args, seed, cost_ms) for seed in seeds]


def run_gate(baseline: Path, candidate: Path, args: argparse.Namespace, last: int) -> dict:
    """``benchctl gate`` with JSON output; the parsed JSON plus the exit code."""
    out = candidate.parent.parent / "gates" / f"{candidate.name}-vs-{baseline.name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    command = [
        str(BENCHCTL), "gate", "--baseline", str(baseline), "--candidate", str(candidate),
        "--rules", str(args.rules), "--last", str(last), "--json", str(out),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    if done.returncode not in (0, 1):
        raise SystemExit(f"benchctl gate exited {done.returncode}: {done.stderr.strip()}")
    return {**json.loads(out.read_text()), "exit": done.returncode}


def excludes_zero(gate: dict, metric: str) -> bool:
    rule = next(
        (r for r in gate["rules"] if r["metric"] == metric and r["ci_low"] is not None), None
    )
    return bool(rule) and (rule["ci_low"] > 0 or rule["ci_high"] < 0)


def latency_failed(gate: dict) -> bool:
    return any(r["verdict"] == "fail" and r["metric"] in LATENCY_RULES for r in gate["rules"])


def p50_of(run_dir: Path) -> float:
    return float(json.loads((run_dir / "summary.json").read_text())["overall"]["latency_ms"]["p50"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=8, help="identical runs (N, >= 3)")
    parser.add_argument("--slow-runs", type=int, default=8, help="runs per slowdown (M)")
    parser.add_argument("--slowdowns", default="0.2,0.5", help="service time growth")
    parser.add_argument("--rate", type=float, default=40.0, help="req/s")
    parser.add_argument("--duration", type=int, default=40, help="seconds after warm-up")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--cost-ms", type=float, default=8.0, help="reference model cost")
    parser.add_argument("--rules", type=Path, default=ROOT / "examples" / "gate.yaml")
    parser.add_argument("--out", type=Path, default=Path("gate-calibration"))
    parser.add_argument("--keep", action="store_true", help="keep the run directories")
    parser.add_argument(
        "--resume", action="store_true",
        help="keep the completed runs already in --out and make only the missing ones",
    )  # fmt: skip
    args = parser.parse_args()
    if args.runs < 3:
        parser.error("--runs must be at least 3 (leave-one-out needs 2 baseline runs)")
    slowdowns = [float(x) for x in args.slowdowns.split(",") if x.strip()]
    started = datetime.now(UTC)
    load_before = os.getloadavg()
    base = args.out / "base"
    t0 = time.monotonic()
    runs = make_runs(base, args, args.runs, first_seed=1, cost_ms=args.cost_ms)
    alarms = [run_gate(base, run, args, last=args.runs - 1) for run in runs]
    s0 = median(p50_of(run) for run in runs)
    power: dict[float, list[dict]] = {}
    for growth in slowdowns:
        folder = args.out / f"slow-{growth:g}"
        cost = args.cost_ms + growth * s0
        slow = make_runs(folder, args, args.slow_runs, first_seed=100, cost_ms=cost)
        power[growth] = [run_gate(base, run, args, last=args.runs) for run in slow]
    minutes = (time.monotonic() - t0) / 60
    false_alarms = sum(g["exit"] == 1 for g in alarms)
    lines = [
        f"gate calibration, {started:%Y-%m-%d %H:%M} UTC, {socket.gethostname()} "
        f"({os.cpu_count()} CPUs, load average {load_before[0]:.2f} before, "
        f"{os.getloadavg()[0]:.2f} after), {minutes:.0f} min",
        f"KServe (launched per run), reference model cost_ms {args.cost_ms:g}, steady "
        f"{args.rate:g} req/s for {args.duration} s (+{args.warmup} s warm-up), "
        f"rules {args.rules.name}",
        f"interval method: {alarms[0]['settings'].get('method', '?')}",
        "",
        f"{'measure':<44} {'count':>7} {'rate':>7}   95% CI",
    ]

    def row(name: str, hits: int, n: int) -> str:
        low, high = clopper_pearson(hits, n)
        return f"{name:<44} {hits:>3}/{n:<3} {hits / n:>7.0%}   [{low:.0%}, {high:.0%}]"

    lines.append(row("false alarms (gate failed), leave-one-out", false_alarms, len(alarms)))
    for metric in ("p50_ms", "p99_ms"):
        hits = sum(excludes_zero(g, metric) for g in alarms)
        lines.append(row(f"  {metric} interval excludes 0", hits, len(alarms)))
    lines.append(f"S0 (median of baseline p50s): {s0:.2f} ms")
    for growth, gates in power.items():
        detected = sum(latency_failed(g) for g in gates)
        lines.append(
            row(
                f"power: +{growth:.0%} service time (cost +{growth * s0:.2f} ms)",
                detected,
                len(gates),
            )
        )
    table = "\n".join(lines)
    print(table)
    args.out.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {
        "date": started.isoformat(timespec="seconds"),
        "table": table,
        "settings": {k: str(v) for k, v in vars(args).items()},
        "s0_ms": s0,
        "false_alarm_gates": alarms,
        "power_gates": {str(k): v for k, v in power.items()},
    }
    (args.out / "calibration.json").write_text(json.dumps(result, indent=2) + "\n")
    if not args.keep:
        for folder in [base, *(args.out / f"slow-{g:g}" for g in slowdowns)]:
            shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
