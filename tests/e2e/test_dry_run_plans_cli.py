"""``--dry-run`` shows what will run (fresh-user trial 4, #5): with ``--slo`` it printed only
the scenario's "duration 1m, about 3,520 requests", never the capacity search that runs
first (over 2 min in the demo, up to 5 min 30 s), and a batch sweep's dry run showed only
"b=1 c=1 0s–5m", not its 6 settings. The installed executable from a fresh folder; nothing
is sent or launched, no run directory is made."""

from __future__ import annotations

from pathlib import Path

from benchctl.reports.terminal.search import climbing_levels
from tests.e2e.helpers import benchctl


def test_climbing_levels_and_the_longest_search():
    """Doubling from 10 to 5000: 10, 20, ..., 2560, then 5000 (the cap): 10 levels; from
    7 to 7: one level; from 100 to 150: 100, 150."""
    assert climbing_levels(10, 5000) == [10, 20, 40, 80, 160, 320, 640, 1280, 2560, 5000]
    assert climbing_levels(7, 7) == [7]
    assert climbing_levels(100, 150) == [100, 150]


def test_the_demo_dry_run_shows_the_search_first(tmp_path: Path) -> None:
    """make demo's command with --dry-run. By hand: scenarios/capacity.yaml's search climbs
    10..5000 rps (10 levels), holds a level at most 30 s, max_duration 5 min, so at most
    300 + 30 = 330 s = 5m30s; the spike at --time-scale 0.1 with periods=1 is 1 min; in all
    at most about 6m30s."""
    done = benchctl(
        "run", "spike", "--target", "kserve", "--launch", "--target-set", "launch.cost_ms=10",
        "--time-scale", "0.1", "--set", "periods=1", "--slo", "p99<=200ms", "--price",
        "2.48/h", "--dry-run", cwd=tmp_path, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.output()
    lines = done.stdout.splitlines()
    assert lines[0] == (
        "spike under p99<=200ms: a capacity search on the target first, then 1m of spike "
        "traffic, then the analysis and report: at most about 6m30s in all (the search at "
        "most 5m30s, launching the server not counted)"
    ), done.output()
    assert lines[1].startswith(
        "capacity search: up to 10 levels climbing at 10, 20, 40, 80, 160, 320, 640, 1,280, "
        "2,560, 5,000 rps until one breaks the SLO, then bisection"
    )
    assert lines[1].endswith(
        "the whole search at most 5m30s (max_duration 5m, and a last cooldown of at most 30s)"
    )
    assert any(line.startswith("duration 1m, about 3,520 requests") for line in lines)
    assert not (tmp_path / "runs").exists()


def test_a_batch_sweep_dry_run_lists_every_setting(tmp_path: Path) -> None:
    """scenarios/batch.yaml: batch_sizes [1, 8, 32] x concurrency [1, 4] = 6 settings;
    2,000 inputs are 2,000 requests at b=1, 250 at b=8, ceil(2000 / 32) = 63 at b=32;
    max_duration 5 min each: at most 30 min in all."""
    done = benchctl("run", "batch", "--target", "kserve", "--dry-run", cwd=tmp_path, timeout=60)
    assert done.returncode == 0, done.output()
    assert (
        "a sweep of 6 settings, one run each, in this order: b=1 c=1, b=1 c=4, b=8 c=1, "
        "b=8 c=4, b=32 c=1, b=32 c=4; each sends the set of 2,000 inputs (2,000 requests "
        "at b=1, 250 requests at b=8, 63 requests at b=32) and stops when it is sent or "
        "after 5m: at most 30m in all"
    ) in done.stdout.splitlines(), done.output()
    assert "b=1 c=1 0s–5m" not in done.stdout
    assert not (tmp_path / "runs").exists()
