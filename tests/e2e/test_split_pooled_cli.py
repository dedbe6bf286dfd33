"""A split run's pooled numbers are labelled as such wherever they are shown, and analyze
refuses to size one replica from them (trial-6 findings 1 and 6): the installed
``benchctl`` from a fresh folder, default ``runs/``, two launched KServe servers (1 ms and
10 ms of CPU a request), so the pooled figures mix two servers' latencies."""

from __future__ import annotations

import json
from pathlib import Path

from tests.e2e.helpers import benchctl, refused

PROFILE = "kind: kserve\nprotocol: rest-v2\nlaunch:\n  server: kserve\n  cost_ms: {cost}\n"


def test_split_run_pooled_labels_and_analyze_refusal(tmp_path: Path) -> None:
    folder = tmp_path / "benchctl.d" / "targets"
    folder.mkdir(parents=True)
    (folder / "stable.yaml").write_text(PROFILE.format(cost=1.0))
    (folder / "canary.yaml").write_text(PROFILE.format(cost=10.0))
    done = benchctl(
        "run", "steady", "--target", "stable", "--split", "stable=70,canary=30",
        "--launch", "--rate", "20", "--duration", "6s", cwd=tmp_path, timeout=240,
    )  # fmt: skip
    assert done.returncode == 0, done.output()
    run = done.run_dir
    assert run is not None
    # the phase table's title says its rows pool both arms
    assert (
        "phase rows and overall: both arms pooled (requests of every arm's server); "
        "each arm's own numbers: the arms table below\n" in done.stdout
    ), done.stdout
    # the per-arm telemetry table names the control's server as README does
    assert "control's server" in done.stdout and "run's server" not in done.stdout
    # benchctl runs: the row is flagged as a split whose numbers pool both arms
    listed = benchctl("runs", cwd=tmp_path)
    assert listed.returncode == 0, listed.output()
    row = next(line for line in listed.stdout.splitlines() if run.name[:12] in line)
    assert "split: both arms pooled" in row, listed.stdout
    # the report's Key numbers and By phase headings carry the label
    assert benchctl("report", f"runs/{run.name}", cwd=tmp_path).returncode == 0
    html = (run / "report.html").read_text()
    assert "<h2>Key numbers (both arms pooled)</h2>" in html
    assert "<h2>By phase (both arms pooled)</h2>" in html
    # analyze refuses, in one line, exit 2, naming the per-arm commands; nothing written
    line = refused(benchctl("analyze", f"runs/{run.name}", "--slo", "p90<=50ms", cwd=tmp_path))
    assert line.startswith(f"benchctl: error: runs/{run.name}: a split run (arms stable, canary)")
    assert f"`benchctl compare runs/{run.name}@stable runs/{run.name}@canary --slo ...`" in line
    assert not (run / "capacity.json").exists() and not (run / "manifests").exists()
    assert json.loads((run / "run.json").read_text())["arms"]["control"] == "stable"
