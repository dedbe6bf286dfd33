"""False-positive rate of the canary judge: A/A split runs on one real server.

One KServe is launched (reference model, 1 worker); two target profiles ``a`` and ``b``
both point at it. The installed benchctl runs ``steady --split a=50,b=50`` ``--repeats``
times, each with its own scenario seed (``--set seed=N``: other arrival times and another
assignment of requests to arms), and reads each run's verdict for ``b`` from summary.json.
The arms are identical, so every ``fail``/``marginal`` verdict is a false positive.

Prints one line per run and a dated summary: runs, verdicts (pass / marginal / fail /
inconclusive: an arm with too few requests for a percentile is not judged on it), the share
of runs without a false alarm (verdict ``pass`` or ``inconclusive``) with its 95%
Clopper-Pearson interval, and how often each metric was flagged.

    .venv/bin/python benchmarks/split_false_positives.py --repeats 40 --rate 40 --duration 6s
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from scipy.stats import beta

from benchctl.targets.launch import launch_kserve

BENCHCTL = Path(sys.executable).with_name("benchctl")


def clopper_pearson(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Exact binomial interval for k successes in n trials."""
    a = (1 - level) / 2
    low = 0.0 if k == 0 else float(beta.ppf(a, k, n - k + 1))
    high = 1.0 if k == n else float(beta.ppf(1 - a, k + 1, n - k))
    return low, high


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=40)
    parser.add_argument("--rate", default="40")
    parser.add_argument("--duration", default="6s")
    parser.add_argument("--users", type=int, default=0, help="sticky users (0: none)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="benchctl-aa-"))
    server = launch_kserve(log_dir=work, log=lambda _: None)
    verdicts: Counter[str] = Counter()
    flagged: Counter[str] = Counter()
    try:
        folder = work / "benchctl.d" / "targets"
        folder.mkdir(parents=True)
        for name in ("a", "b"):
            (folder / f"{name}.yaml").write_text(
                f"kind: kserve\nprotocol: rest-v2\nurl: {server.http_url}\n"
            )
        for seed in range(1, args.repeats + 1):
            command = [
                str(BENCHCTL), "run", "steady", "--target", "a", "--split", "a=50,b=50",
                "--rate", args.rate, "--duration", args.duration, "--set", "warmup=1s",
                "--set", f"seed={seed}", "--no-telemetry",
                *(["--users", str(args.users)] if args.users else []),
            ]  # fmt: skip
            done = subprocess.run(command, cwd=work, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                print(f"seed {seed}: exit {done.returncode}: {done.stderr.strip()[-200:]}")
                continue
            run_dir = sorted((work / "runs").iterdir())[-1]
            summary = json.loads((run_dir / "summary.json").read_text())["split"]
            verdict = summary["verdicts"]["b"]
            verdicts[verdict["verdict"]] += 1
            bad = [m for m, v in verdict["metrics"].items() if v["class"] == "fail"]
            flagged.update(bad)
            sent = sum(a["sent"] for a in summary["arms"].values())
            print(f"seed {seed}: {verdict['verdict']} ({verdict['score']:.0f}%) "
                  f"{sent} requests; flagged: {', '.join(bad) or '-'}", flush=True)  # fmt: skip
    finally:
        server.stop()
    runs = sum(verdicts.values())
    passed = verdicts["pass"] + verdicts["inconclusive"]  # no false alarm
    low, high = clopper_pearson(passed, runs) if runs else (0.0, 1.0)
    print(f"\n{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, A/A on one KServe, rate {args.rate}/s, "
          f"{args.duration} + 1 s warm-up per run, users {args.users or 'none'}")  # fmt: skip
    print(f"runs {runs}: pass {verdicts['pass']}, inconclusive {verdicts['inconclusive']}, "
          f"marginal {verdicts['marginal']}, fail {verdicts['fail']}, "
          f"nodata {verdicts['nodata']}")  # fmt: skip
    if runs:
        print(f"no false alarm in {passed / runs:.1%} of runs (95% CI {low:.1%} - {high:.1%})")
    print("metrics flagged: " + (", ".join(f"{m} {n}" for m, n in flagged.items()) or "none"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
