"""A model mix that has only a bound, as a user meets it (installed ``benchctl``, a fresh
directory, default ``runs/``, the user's own target and capacity scenario in ./benchctl.d/,
one launched KServe serving the reference model at two costs).

Fresh-user trials: ``run steady --slo`` printed each search level as plain "good" (all
requests judged together) and then answered that the mix has no capacity figure, and
``benchctl compare`` showed "analyzed, no capacity in capacity.json" for that run. The
progress must say its verdicts are pooled, and compare must show the bound analyze found.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from markupsafe import escape

from benchctl.reports.html_format import fmt_rps
from tests.e2e.helpers import benchctl

TARGET = """\
kind: kserve
protocol: rest-v2
models:
  - {name: small, weight: 3}
  - {name: big, weight: 1}
launch:
  server: kserve
  models:
    small: {cost_ms: 2}
    big: {cost_ms: 60}
"""
# 12 s at most: one level, 8 req/s in all (~7 s, never past its 8 s max_hold), then no
# other fits; big is judged, and broken, there: all the bound and the level lines need.
CAPACITY = (
    "kind: capacity\nstart_rate: 8\nmax_rate: 64\nwindow: 2s\nwindow_samples: 10\n"
    "max_hold: 8s\nmax_duration: 12s\nsettle: 1s\ncooldown: 1s\n"
)


def test_run_slo_progress_is_pooled_and_compare_shows_the_bound(tmp_path: Path) -> None:
    """big costs 60 ms of CPU a request, over p50<=40ms: wherever big is judged its p50 is
    at least 60 ms, so it broke its own SLO at every level and the mix has no figure, only
    "less than Y rps in all" (bound upper; Y the lowest total where big was judged). All
    requests together (3 in 4 are small's 2 ms) can meet p50<=40ms at those same levels:
    so a level line may not say a bare "good" for the mix; it says its percentile and
    verdict are small+big pooled. compare then shows "< Y req/s in all", Y as in
    capacity.json, naming big, never "no capacity"."""
    folder = tmp_path / "benchctl.d"
    (folder / "targets").mkdir(parents=True)
    (folder / "scenarios").mkdir()
    (folder / "targets" / "kmix.yaml").write_text(TARGET)
    (folder / "scenarios" / "capacity.yaml").write_text(CAPACITY)
    done = benchctl(
        "run", "steady", "--target", "kmix", "--launch", "--rate", "8", "--duration", "6s",
        "--set", "warmup=1s", "--slo", "p50<=40ms", "--no-telemetry", cwd=tmp_path, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.output()
    doc = json.loads((done.run_dir / "capacity.json").read_text())
    assert doc["capacity_rps"] is None and doc["bound"] == "upper", doc["models"]["summary"]
    assert doc["models"]["sizing"]["limiting_model"] == "big"
    below = doc["capacity_band_rps"][1]

    printed = " ".join(done.stdout.split())  # the terminal wraps long lines
    levels = re.findall(r"level\d+@\S+: (p50 .*?) after \d+s", printed)
    assert levels, done.output()
    for line in levels:
        assert line.startswith("p50 of small+big pooled "), line
        assert re.search(r": (good|broke the SLO|unsettled, not judged) \(pooled\)$", line), line
    assert "No capacity figure for this model mix under p50<=40ms" in printed, done.output()
    assert f"less than {below:,.1f} rps in all" in printed

    linked = json.loads((done.run_dir / "run.json").read_text())["capacity_search"]["run"]
    search = done.run_dir.parent / linked  # the search's folder name, next to the run
    compared = benchctl("compare", str(search), str(done.run_dir), cwd=tmp_path, timeout=120)
    assert compared.returncode == 0, compared.output()
    shown = " ".join(compared.stdout.split())
    assert "no capacity" not in shown, compared.output()
    assert f"< {fmt_rps(below)} req/s in all at p50<=40ms" in shown, compared.output()
    assert f"capacity (unranked): B below {below:,.1f} rps in all under p50<=40ms" in shown
    (page,) = done.run_dir.glob("compare-*.html")
    cell = (
        f"< {fmt_rps(below)} req/s in all at p50<=40ms (upper bound: model big broke its "
        "own SLO at every level judged)"
    )
    html = page.read_text()
    assert str(escape(cell)) in html and "no capacity" not in html
    assert f"below {fmt_rps(below)} req/s in all" in html
