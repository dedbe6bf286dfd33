"""A split run's percentile verdicts and ``benchctl gate RUN@control RUN@arm`` decide the
same requests by one rule (trial 7, F8): a fail needs the whole interval past the
tolerance; an interval across it on fewer than the gate's min_samples is not decided.

Trial 7's real split run (tests/unit/data/trial7-split-steady: ``--split stable=70,canary=30``
on a launched KServe, canary cost_ms 10 against 1; 25 s at 30 req/s, 3 s warm-up) said
canary p99 ``fail`` with the interval [+2.963, +18.14] ms, whose lower end is below its own
3.12 ms tolerance (20% of the control's 15.6 ms p99), while gate said ``inconclusive``."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from benchctl.analysis.verdicts import split_summaries
from tests.unit.run_files import installed_benchctl

RUN = Path(__file__).parent / "data" / "trial7-split-steady" / "20261130T122008Z-steady-stable"
# the split's relative tolerances as gate rules: p50 +10%, p99 +20% of the control's value
RULES = "rules:\n  - {metric: p50_ms, max_increase: 10%}\n  - {metric: p99_ms, max_increase: 20%}\n"


def test_split_verdict_and_gate_agree_on_the_same_requests(tmp_path: Path) -> None:
    """Split: canary p50 +9.56 ms, interval [+9.05, +10.76] wholly past its 0.5 ms tolerance:
    fail; p99 +11.24 ms, interval [+2.963, +18.14] across its 3.12 ms tolerance with 201
    canary successes (under 1000): inconclusive, no longer fail. Gate on RUN@stable against
    RUN@canary (installed benchctl, fresh folder): p50 +301.7% [+230.5, +367.2] fail, p99
    +72.0% [+5.9, +inf] inconclusive. The same class for each percentile.

    Trial 8: the split's interval is widened, as gate's, to the exact order-statistic one
    below min_samples (each side at 97.5%): stable's 473 successes bound its p99 by ranks
    463 and 473 (0.99**473 = 0.0086 <= 0.0125): [14.051, 22.202] ms; canary's 201 only
    from below (rank 195: 23.504 ms; 0.99**201 = 0.133 > 0.0125: no upper bound). The
    difference: [23.504 - 22.202, +inf] = [+1.302, open] ms; gate's ratio 23.504 / 22.202
    - 1 = +5.9%."""
    runs = tmp_path / "runs"
    shutil.copytree(RUN, runs / RUN.name)
    info = json.loads((RUN / "run.json").read_text())
    split = split_summaries(RUN / "requests.parquet", info["plan"]["phases"], ["stable", "canary"])
    metrics = split["verdicts"]["canary"]["metrics"]
    p99 = metrics["latency_p99"]
    assert p99["bootstrap_ci"] == pytest.approx([2.963, 18.14], abs=0.01)
    assert p99["exact_ci"][0] == pytest.approx(23.504 - 22.202, abs=0.001)
    assert p99["exact_ci"][1] is None
    assert p99["ci"] == [p99["exact_ci"][0], None]
    assert p99["tolerance_ms"] == pytest.approx(0.2 * 15.606, abs=0.001)
    assert p99["class"] == "inconclusive"
    assert "tolerance with 201 successful requests" in p99["note"]
    assert metrics["latency_p50"]["class"] == "fail"
    (tmp_path / "gate.yaml").write_text(RULES)
    base, cand = f"runs/{RUN.name}@stable", f"runs/{RUN.name}@canary"
    done = installed_benchctl(
        "gate", "--baseline", base, "--candidate", cand, "--rules", "gate.yaml",
        "--json", "g.json", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr  # p50 fails
    gate = {
        r["metric"]: r["verdict"] for r in json.loads((tmp_path / "g.json").read_text())["rules"]
    }
    split_classes = {"p50_ms": metrics["latency_p50"]["class"], "p99_ms": p99["class"]}
    assert gate == split_classes == {"p50_ms": "fail", "p99_ms": "inconclusive"}
