"""``benchctl telemetry`` of a split run (trial 7 F15), through the installed ``benchctl``
from a fresh folder: the table's server count is the control arm's server, so the sent row
beside it and the self-check are that arm's too, and every other arm's own self-check is
said. The run is trial 7's real ``--split stable=70,canary=30`` run against two launched
KServe servers (tests/unit/data/trial7-split-steady)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow.parquet as pq

from tests.e2e.helpers import benchctl

RUN = Path(__file__).parents[1] / "unit/data/trial7-split-steady/20261130T122008Z-steady-stable"


def test_split_run_counts_and_self_check_have_one_scope(tmp_path: Path) -> None:
    shutil.copytree(RUN, tmp_path / "runs" / RUN.name)
    rows = pq.read_table(RUN / "requests.parquet", columns=["arm"]).to_pandas()
    sent = rows["arm"].value_counts()  # no dropped row: every row was sent
    assert (sent["stable"], sent["canary"]) == (529, 226)
    done = benchctl("telemetry", f"runs/{RUN.name}", cwd=tmp_path)
    assert done.returncode == 0, done.output()
    lines = [line.strip("│ ").split("│") for line in done.stdout.splitlines()]
    table = {cells[0].strip(): cells[1].strip() for cells in lines if len(cells) > 2}
    assert table["server-side requests finished (stable)"] == "529"
    assert table["requests sent by benchctl to stable"] == f"{sent['stable']}"
    notes = done.stdout.splitlines()
    assert "self-check (stable): server-side count 529 agrees with 529 sent (allowed ±6)" in notes
    assert "self-check (canary): server-side count 226 agrees with 226 sent (allowed ±3)" in notes
