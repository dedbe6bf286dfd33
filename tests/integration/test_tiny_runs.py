"""Runs of 1, 2, 3 requests and a 20-request trace against a real KServe (127.0.0.1),
through the installed ``benchctl`` from a fresh directory: throughput has a defined
measurement interval and a minimum, and gate rules on too few samples say so."""

import json
from pathlib import Path

import pytest

from benchctl.targets.launch import LaunchedServer

from ..e2e.helpers import benchctl
from .conftest import target_overrides


def _replay(server: LaunchedServer, cwd: Path, name: str, times: list[float]):
    (cwd / f"{name}.csv").write_text("time\n" + "".join(f"{t}\n" for t in times))
    (cwd / f"{name}.yaml").write_text(f"kind: replay\ntrace: {name}.csv\nwarmup: 0s\n")
    sets = [f"--target-set={item}" for item in target_overrides(server)]
    done = benchctl("run", f"{name}.yaml", "--target", "kserve", *sets, cwd=cwd)
    assert done.returncode == 0, done.output()
    return done


def test_tiny_runs_give_no_throughput_and_gate_says_too_few(kserve, tmp_path: Path):
    """1 arrival: plan 1 s (never 1e-9 s); 2 arrivals 1 s apart: plan 2 s; 3 arrivals: 3 s.
    With fewer than 10 requests summary.json's throughput is None with a note, and the
    gate's absolute p99 and throughput rules are inconclusive, not passed."""
    runs = {}
    for n in (1, 2, 3):
        done = _replay(kserve, tmp_path, f"tiny{n}", [i + 0.5 for i in range(n)])
        info = done.run_json()
        assert info["plan"]["duration"] == pytest.approx(float(n))
        overall = json.loads((done.run_dir / "summary.json").read_text())["overall"]
        assert overall["ok"] == n and overall["throughput_rps"] is None
        assert "needs at least 10" in overall["throughput_note"]
        assert "1000000000" not in done.stdout.replace(",", "")
        runs[n] = done.run_dir
    rules = tmp_path / "gate.yaml"
    rules.write_text(
        "rules:\n  - {metric: p99_ms, max: 250}\n  - {metric: throughput_rps, min: 0.5}\n"
    )
    gated = benchctl(
        "gate",
        "--baseline",
        str(runs[1]),
        "--candidate",
        str(runs[3]),
        "--rules",
        str(rules),
        "--json",
        "gate.json",
        cwd=tmp_path,
    )
    assert gated.returncode == 0, gated.output()
    verdicts = json.loads((tmp_path / "gate.json").read_text())["rules"]
    assert [r["verdict"] for r in verdicts] == ["inconclusive", "inconclusive"]
    assert "only 3 samples (needs 100 for p99_ms)" in verdicts[0]["message"]


def test_twenty_arrivals_half_a_second_apart_are_two_per_second(kserve, tmp_path: Path):
    """Arrivals at 0, 0.5, ..., 9.5 s: plan = span 9.5 s + median gap 0.5 s = 10 s, so
    throughput = 20 / 10 = 2.0 req/s (not 20 / 9.5 = 2.105), the last answer arriving
    well before 10 s (KServe answers in milliseconds; should it finish later, the interval
    ends at that last completion)."""
    done = _replay(kserve, tmp_path, "twenty", [i * 0.5 for i in range(20)])
    assert done.run_json()["plan"]["duration"] == pytest.approx(10.0)
    overall = json.loads((done.run_dir / "summary.json").read_text())["overall"]
    frame = done.requests()
    last = float((frame["t_intended"] + frame["latency_ms"] / 1000).max())
    # The interval runs to the last completion if that is later (a loaded machine).
    assert overall["ok"] == 20 and overall["seconds"] == pytest.approx(max(10.0, last))
    if last <= 10.0:
        assert overall["throughput_rps"] == pytest.approx(2.0)
