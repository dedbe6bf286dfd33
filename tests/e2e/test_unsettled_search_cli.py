"""`benchctl analyze` on a capacity search with a level that never became stable, as a user
runs it (installed executable, fresh directory, relative runs/): the level is unsettled,
neither met nor broke the SLO, so the answer rests on the other levels and says so; with no
settled level that met the SLO, the answer is refused in one line, exit 2 (fresh-user trial
6: a 40 s search's only level, never stable, was "good" and the answer "at least 10.1 rps").
The search run is test_search_judged_windows' synthetic one (known answers there)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.e2e.helpers import benchctl, refused
from tests.unit.test_search_judged_windows import _search_run


def _unsettle(run: Path, *names: str) -> None:
    """Mark the search.json levels ``names`` as never stable (good stays as the search said)."""
    search = json.loads((run / "search.json").read_text())
    for level in search["levels"]:
        if level["name"] in names:
            level["stable"] = False
            level["reason"] = "max_hold reached before the windows agreed; judged on all 3"
    (run / "search.json").write_text(json.dumps(search))


def test_an_unsettled_level_is_neither_met_nor_broken(tmp_path: Path) -> None:
    """step3@120rps (112.5 rps arrived, p99 80 ms) never settled: by hand the band runs
    from step2 (77.5 rps arrived of 80 offered, p99 40 ms, the best settled level that met
    p99<=100ms) to step4 (158.0 arrived of 160, which broke it), not from 112.5."""
    run = tmp_path / "runs" / "search"
    shutil.copytree(_search_run(tmp_path), run)
    _unsettle(run, "step3@120rps")
    done = benchctl("analyze", "runs/search", "--slo", "p99<=100ms", cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.output()
    doc = json.loads((run / "capacity.json").read_text())
    assert doc["capacity_band_rps"] == [77.5, 158.0]
    assert doc["capacity_band_offered_rps"] == [80.0, 160.0]
    assert doc["single_replica"]["unsettled_levels"] == ["step3@120rps"]
    text = " ".join(done.stdout.split())
    assert "1 level(s) of the capacity search unsettled: step3@120rps (p99 80.0 ms)" in text
    assert "which met it, and 158.0 rps, which broke it" in text
    assert "112.5 rps, which met it" not in text


def test_no_settled_level_met_the_slo_is_refused_in_one_line(tmp_path: Path) -> None:
    """step2 and step3 (the levels that met p99<=100ms) both unsettled: no level was judged
    to meet it, so there is no answer, not "at least" one: exit 2, one line naming them."""
    run = tmp_path / "runs" / "search"
    shutil.copytree(_search_run(tmp_path), run)
    _unsettle(run, "step2@80rps", "step3@120rps")
    done = benchctl("analyze", "runs/search", "--slo", "p99<=100ms", cwd=tmp_path, timeout=120)
    assert done.returncode == 2, done.output()
    line = refused(done)
    assert "no level of the capacity search was judged to meet p99<=100ms: step2@80rps " in line
    assert "(40.0 ms), step3@120rps (80.0 ms) stayed within it over all its windows" in line
    assert "but never became stable" in line
    assert not (run / "capacity.json").exists()
