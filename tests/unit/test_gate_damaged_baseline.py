"""A baseline folder where one run's requests.parquet is damaged: the gate passes over that
run with a one-line warning naming it (as it does an interrupted run) and pools the others,
instead of refusing every later gate (exit 2). The installed benchctl, from a fresh folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.unit.test_gate import make_run

BENCHCTL = Path(sys.executable).parent / "benchctl"


def test_a_damaged_baseline_run_is_passed_over_with_a_warning(tmp_path: Path) -> None:
    """Nights 1-3 in nightly/, night 3's requests.parquet cut to its first 100 bytes (no
    footer); --last 2 then takes nights 1 and 2 (the newest two that read) and names 3."""
    for day in (1, 2, 3, 4):
        folder = "nightly" if day < 4 else "runs"
        name = f"night-{day}" if day < 4 else "tonight"
        make_run(tmp_path / folder, name, seed=day, requests=2000, started=f"2026-11-0{day}T01")
    requests = tmp_path / "nightly" / "night-3" / "requests.parquet"
    requests.write_bytes(requests.read_bytes()[:100])
    (tmp_path / "gate.yaml").write_text("rules:\n  - {metric: status, equals: completed}\n")
    done = subprocess.run(
        [str(BENCHCTL), "gate", "--baseline", "nightly", "--candidate", "runs/tonight",
         "--rules", "gate.yaml", "--last", "2"],
        cwd=tmp_path, env={**os.environ, "COLUMNS": "200"}, capture_output=True, text=True,
        timeout=120, stdin=subprocess.DEVNULL, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    warned = [line for line in done.stdout.splitlines() if "night-3" in line]
    assert warned == ["warning: baseline runs passed over: night-3 (requests.parquet unreadable)"]
    assert "a baseline of 2 pooled runs (night-1 … night-2)" in done.stdout
    assert "Traceback" not in done.stderr
