"""The gate carries the runs' busy-host flag into its verdict (trial 7, F12): two runs
measured while other processes kept the host busy gave ``gate FAIL (regression)`` while
``analyze`` and ``compare`` on the same runs said "busy host". A rule that would fail on
such runs is inconclusive, named in the headline, and each flagged run is a warning.

Synthetic runs (tests/unit/test_gate.make_run) with a telemetry_windows.parquet, gated by
the installed ``benchctl`` from a fresh folder."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from tests.unit.run_files import installed_benchctl
from tests.unit.test_gate import make_run

RULES = "rules:\n  - {metric: p99_ms, max_increase: 10%}\n  - {metric: status, equals: completed}\n"


def telemetry(run: Path, host_percent: float) -> None:
    """telemetry_windows.parquet for ``run``: 5 s windows over its 65 s, the host's CPU at
    ``host_percent`` (mean over its 2 cores), the server at 5% and the generator at 3% of a
    core. At 97%: other processes used 0.97 x 2 - 0.05 - 0.03 = 1.86 cores, at least the
    quarter of 2 cores (0.5) and the host above 80%: a busy host. At 30%: quiet."""
    t = np.arange(0.0, 65.0, 5.0)
    frame = pd.DataFrame(
        {
            "t": t,
            "host_cpu_percent": np.full(len(t), host_percent),
            "server_cpu_percent": np.full(len(t), 5.0),
            "generator_cpu_percent": np.full(len(t), 3.0),
        }
    )
    frame.to_parquet(run / "telemetry_windows.parquet")


def _gate(cwd: Path, rules: str, *extra: str) -> tuple[int, str, dict]:
    (cwd / "gate.yaml").write_text(rules)
    args = ["--baseline", "runs/base", "--candidate", "runs/cand", "--rules", "gate.yaml"]
    done = installed_benchctl("gate", *args, "--json", "g.json", *extra, cwd=cwd)
    assert done.stderr == "", done.stderr
    return done.returncode, " ".join(done.stdout.split()), json.loads((cwd / "g.json").read_text())


def test_a_regression_on_a_busy_host_is_inconclusive_and_said(tmp_path: Path) -> None:
    """A candidate 1.3x slower (lognormal latencies, 12,000 requests a side): p99 +30%,
    wholly above the 10% allowed. On a quiet host: FAIL, exit 1. With the candidate measured
    on a busy host (97% CPU, others 1.86 cores): the same rule is inconclusive, exit 0, the
    headline ``PASS (inconclusive, busy host: 1 rule would fail)``, a warning names the run
    and its numbers. Under ``strict: true``: exit 1, ``FAIL (strict: busy host: regression
    not established)``."""
    make_run(tmp_path / "runs", "base", seed=1)
    cand = make_run(tmp_path / "runs", "cand", seed=2, scale=1.3)
    telemetry(cand, 30.0)
    code, out, document = _gate(tmp_path, RULES)
    assert code == 1 and document["verdict"] == "FAIL (regression)"
    assert "busy host" not in out
    telemetry(cand, 97.0)
    code, out, document = _gate(tmp_path, RULES)
    assert code == 0
    assert document["verdict"] == "PASS (inconclusive, busy host: 1 rule would fail)"
    assert out.startswith("gate PASS (inconclusive, busy host: 1 rule would fail)")
    rule = next(r for r in document["rules"] if r["metric"] == "p99_ms")
    assert rule["verdict"] == "inconclusive" and rule["doubt"] == "busy host"
    assert rule["ci_low"] > 0.10  # the interval itself still excludes the limit
    assert "warning: candidate cand: busy host: host CPU averaged 97% of 2 cores" in out
    assert "other processes used about 1.86 cores" in out
    code, out, document = _gate(tmp_path, "strict: true\n" + RULES)
    assert code == 1
    assert document["verdict"] == "FAIL (strict: busy host: regression not established)"


def test_a_candidate_that_served_nothing_still_fails_on_a_busy_host(tmp_path: Path) -> None:
    """Every candidate request failed (error_rate 1): no host load explains zero successes,
    so the fail stands (exit 1) on a busy host too."""
    make_run(tmp_path / "runs", "base", seed=1)
    cand = make_run(tmp_path / "runs", "cand", seed=2, error_rate=1.0)
    telemetry(cand, 97.0)
    code, _, document = _gate(tmp_path, RULES)
    assert code == 1 and document["verdict"].startswith("FAIL (no successful requests")


def test_arms_of_one_split_run_are_not_doubted_by_a_busy_host(tmp_path: Path) -> None:
    """RUN@stable against RUN@canary of one split run (tests/unit/test_gate_offered
    ``split_run``: canary 15 ms, stable 5 ms, every request) whose host was busy: the arms'
    requests were interleaved at the same moments, so the load moved both alike; p50 +200%
    stays a fail (exit 1), the busy host only a warning."""
    from tests.unit.test_gate_offered import split_run

    run = split_run(tmp_path / "runs")
    (run / "arm-canary").mkdir()
    telemetry(run, 97.0)
    telemetry(run / "arm-canary", 97.0)
    (tmp_path / "gate.yaml").write_text("rules:\n  - {metric: p50_ms, max_increase: 10%}\n")
    args = ["--baseline", f"runs/{run.name}@stable", "--candidate", f"runs/{run.name}@canary"]
    done = installed_benchctl("gate", *args, "--rules", "gate.yaml", cwd=tmp_path)
    assert done.returncode == 1, done.stdout
    out = " ".join(done.stdout.split())
    assert out.startswith("gate FAIL (regression)")
    assert "busy host: host CPU averaged 97%" in out
    assert "the arms of one run shared those moments" in out


def test_a_busy_host_doubts_only_a_candidate_busier_than_its_baseline(tmp_path: Path) -> None:
    """Trial 8: baseline and candidate both on a busy host (other processes 1.41 and 1.23
    cores), p50 +141% was called inconclusive. A host load explains a change only when the
    candidate's host was the busier, by at least a quarter of its cores (0.25 x 2 = 0.50).
    The candidate 1.3x slower (p99 +30% > 10%), its host at 97% (others 0.97 x 2 - 0.08 =
    1.86 cores):

    - baseline at 90% (others 0.90 x 2 - 0.08 = 1.72): 1.86 - 1.72 = 0.14 < 0.50, alike
      busy: FAIL (regression), exit 1, a warning giving both loads;
    - baseline at 30% (others 0.30 x 2 - 0.08 = 0.52): 1.86 - 0.52 = 1.34 >= 0.50: the
      trial-7 case, inconclusive, exit 0."""
    base = make_run(tmp_path / "runs", "base", seed=1)
    cand = make_run(tmp_path / "runs", "cand", seed=2, scale=1.3)
    telemetry(cand, 97.0)
    telemetry(base, 90.0)
    code, out, document = _gate(tmp_path, RULES)
    assert code == 1 and document["verdict"] == "FAIL (regression)"
    rule = next(r for r in document["rules"] if r["metric"] == "p99_ms")
    assert rule["verdict"] == "fail" and rule["doubt"] is None
    assert "other processes used about 1.72 cores in the baseline and 1.86 in the candidate" in out
    assert "not busier by 0.50 cores" in out
    telemetry(base, 30.0)
    code, out, document = _gate(tmp_path, RULES)
    assert code == 0
    assert document["verdict"] == "PASS (inconclusive, busy host: 1 rule would fail)"
    assert "the candidate's host was the busier by 1.34 cores" in out


def test_a_busier_baseline_does_not_excuse_a_slower_candidate(tmp_path: Path) -> None:
    """Only the baseline on a busy host (97%, others 1.86 cores), the candidate quiet (30%,
    0.52) and 1.3x slower: the baseline's load would slow the baseline, not the candidate,
    so p99 +30% is a fail, exit 1, and so is an absolute p99 bound below the candidate's
    value (judged on the candidate alone, which was quiet)."""
    base = make_run(tmp_path / "runs", "base", seed=1)
    cand = make_run(tmp_path / "runs", "cand", seed=2, scale=1.3)
    telemetry(base, 97.0)
    telemetry(cand, 30.0)
    code, out, document = _gate(tmp_path, RULES + "  - {metric: p50_ms, max: 1}\n")
    assert code == 1 and document["verdict"] == "FAIL (regression)"
    assert [r["verdict"] for r in document["rules"]] == ["fail", "pass", "fail"]
    assert "warning: baseline base: busy host" in out
