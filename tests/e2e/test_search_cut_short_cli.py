"""A capacity search whose level max_duration cuts short, as a user runs it (installed
``benchctl``, fresh directory, relative runs/; the session's KServe on loopback).

Fresh-user trial 8b (MLServer, max_rate 40, max_duration 60 s): the last level was cut to
4.26 s by max_duration yet said "max_hold reached before the windows agreed" (max_hold was
30 s), and the search "reached max_rate 40 rps without breaking the SLO", so analyze gave no
warning that it stopped before its resolution. Here max_duration 8 s leaves the one level at
40 req/s at most 8 - 1 (settle) - 2.5 (flush lag) = 4.5 s of hold, less than the 3 windows
of 2 s it needs to be stable: it is cut short and says so, and the search stops on
max_duration. The warm-up row of summary.json covers the level's settle second and its tail
(sent after the decision until the engine stopped), so its rate is requests over that time.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchctl.targets.launch import LaunchedServer
from tests.e2e.helpers import benchctl


def test_a_level_cut_by_max_duration_says_so(tmp_path: Path, kserve: LaunchedServer) -> None:
    done = benchctl(
        "run", "capacity", "--target", "kserve", "--target-set", f"url={kserve.http_url}",
        "--target-set", f"grpc_address={kserve.grpc_address}", "--slo", "p99<=500ms",
        "--rate", "40", "--set", "max_rate=80", "--set", "max_duration=8s", "--no-telemetry",
        cwd=tmp_path, timeout=120,
    )  # fmt: skip
    assert done.run_dir is not None, done.output()
    search = json.loads((done.run_dir / "search.json").read_text())
    assert search["stop_reason"] == "max_duration 8s reached", done.output()
    (level,) = search["levels"]
    assert level["offered_rps"] == 40.0 and level["hold_s"] <= 4.5
    assert not level["stable"]
    assert level["reason"].startswith("cut short by max_duration 8s before the windows agreed")
    assert "max_hold" not in level["reason"]
    phases = done.run_json()["plan"]["phases"]
    spans = [p["end"] - p["start"] for p in phases if p["name"] == "warmup"]
    assert len(spans) == 2 and spans[0] == pytest.approx(1.0)  # settle, then the tail
    warmup = json.loads((done.run_dir / "summary.json").read_text())["phases"]["warmup"]
    assert warmup["seconds"] == pytest.approx(sum(spans))
    assert warmup["offered_rps"] == pytest.approx(warmup["requests"] / sum(spans))
