"""``benchctl gate`` as a user runs it (installed ``benchctl``, a fresh folder, default
``runs/``) on real runs against launched KServe servers: a run that sent nothing fails the
gate, naming the run, in the terminal, Markdown and JUnit; a short split run's slower canary
fails the gate's p50 rule as it fails the split run's own verdict (fresh-user trial 4: both
printed ``gate PASS``, exit 0, with every rule inconclusive)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

from benchctl.targets.launch import LaunchedServer
from tests.e2e.helpers import benchctl

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "gate.yaml"  # min_samples 1000


def _steady(server: LaunchedServer, rate: str, *extra: str) -> list[str]:
    return [
        "run", "steady", "--target", "kserve", "--target-set", f"url={server.http_url}",
        "--rate", rate, "--duration", "4s", "--set", "warmup=1s", "--no-telemetry", *extra,
    ]  # fmt: skip


def test_a_candidate_that_sent_nothing_fails_the_gate(
    kserve: LaunchedServer, tmp_path: Path
) -> None:
    """Baseline: 20 req/s for 4 s. Candidate: a completed run that sends nothing after its
    warm-up: 0.3 req/s with constant gaps for 4 s is a cumulative intensity of 1.2, so one
    arrival (the k-th is at intensity k - 1/2), at t = 0.5 / 0.3 = 1.67 s, inside a 2 s
    warm-up (a plan of fewer than 1 request is refused, so a 0.001 req/s run no longer
    exists). The example rules: the traffic check
    fails naming the candidate, ``p99_ms <= 250`` fails for lack of successes, throughput
    falls -100% (fail), no rule is inconclusive; exit 1."""
    base = benchctl(*_steady(kserve, "20", "--runs-dir", "base"), cwd=tmp_path)
    assert base.returncode == 0, base.output()
    quiet = ("--set", "arrivals=constant", "--set", "warmup=2s")
    zero = benchctl(*_steady(kserve, "0.3", *quiet), cwd=tmp_path)  # into runs/
    assert zero.returncode == 0, zero.output()
    assert zero.run_json()["status"] == "completed"
    sent = zero.requests()
    assert len(sent) == 1 and (sent["phase"] == "warmup").all()
    run_id = zero.run_dir.name
    gated = benchctl(
        "gate", "--baseline", "base", "--candidate", f"runs/{run_id}", "--rules", str(EXAMPLE),
        "--markdown", "gate.md", "--junit", "gate.xml", "--json", "gate.json", cwd=tmp_path,
    )  # fmt: skip
    assert gated.returncode == 1, gated.output()
    headline = f"FAIL (no successful requests: candidate {run_id})"
    assert f"gate {headline}" in " ".join(gated.stdout.split())
    assert (tmp_path / "gate.md").read_text().startswith(f"## benchctl gate: ❌ {headline}")
    suite = ET.parse(tmp_path / "gate.xml").getroot().find("testsuite")
    assert suite is not None
    props = {p.get("name"): p.get("value") for p in suite.find("properties") or []}
    assert props["verdict"] == headline and suite.get("skipped") == "0"
    rules = {r["name"]: r for r in json.loads((tmp_path / "gate.json").read_text())["rules"]}
    assert rules[f"candidate {run_id} served requests"]["verdict"] == "fail"
    assert rules["p99_ms <= 250"]["verdict"] == "fail"
    assert rules["p99_ms <= 250"]["message"].startswith("no successful requests")
    throughput = rules["throughput_rps decrease <= 5%"]
    assert throughput["verdict"] == "fail" and throughput["change"] == -1.0
    assert all(r["verdict"] != "inconclusive" for r in rules.values())


def test_a_short_split_runs_slow_canary_fails_gate_and_verdict_alike(tmp_path: Path) -> None:
    """The README's split run, short: two launched KServe servers (stable 1 ms of CPU a
    request, canary 10 ms), 50/50 at 20 req/s for 10 s (about 40 requests an arm after
    the warm-up, far under the example's min_samples 1000). The canary's p50 is at least
    10 ms against about 2-4 ms: the split verdict's latency_p50 fails, and the gate's
    ``p50_ms increase <= 10%`` is decided on its exact small-sample interval (wholly above
    +10%) and fails too; exit 1, headline FAIL (regression)."""
    folder = tmp_path / "benchctl.d" / "targets"
    folder.mkdir(parents=True)
    for name, cost in (("stable", 1), ("canary", 10)):
        (folder / f"{name}.yaml").write_text(
            f"kind: kserve\nprotocol: rest-v2\nlaunch: {{server: kserve, cost_ms: {cost}}}\n"
        )
    done = benchctl(
        "run", "steady", "--target", "stable", "--split", "stable=50,canary=50", "--launch",
        "--rate", "20", "--duration", "10s", "--no-telemetry", cwd=tmp_path, timeout=240,
    )  # fmt: skip
    assert done.returncode == 0, done.output()
    verdict = json.loads((done.run_dir / "summary.json").read_text())["split"]["verdicts"]
    assert verdict["canary"]["metrics"]["latency_p50"]["class"] == "fail", verdict
    run = done.run_dir.relative_to(tmp_path)
    gated = benchctl(
        "gate", "--baseline", f"{run}@stable", "--candidate", f"{run}@canary",
        "--rules", str(EXAMPLE), "--json", "gate.json", "--markdown", "gate.md", cwd=tmp_path,
    )  # fmt: skip
    assert gated.returncode == 1, gated.output()
    rules = {r["name"]: r for r in json.loads((tmp_path / "gate.json").read_text())["rules"]}
    p50 = rules["p50_ms increase <= 10%"]
    assert p50["verdict"] == "fail" and p50["ci_low"] > 0.10, p50
    assert p50["candidate_samples"] < 1000 and p50["exact_low"] is not None
    assert "gate FAIL (regression)" in " ".join(gated.stdout.split())
    assert (tmp_path / "gate.md").read_text().startswith("## benchctl gate: ❌ FAIL (regression)")
