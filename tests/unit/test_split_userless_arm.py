"""A ``--users`` split in which no user hashed to an arm (fresh-user trial 7: 2 users,
shares 95/5, the canary got none): the arm's user count is 0 (not missing), the arms table
has a users column, and a line says why the arm has no verdict."""

from __future__ import annotations

import io
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from rich.console import Console

from benchctl.analysis.verdicts import split_summaries
from benchctl.reports.terminal.split import print_split, userless_lines


def _requests(path: Path) -> Path:
    """40 requests of 2 users, all to ``stable``, one per 0.25 s over 10 s, 5 ms each."""
    n = 40
    table = pa.table(
        {
            "t_intended": [i * 0.25 for i in range(n)],
            "latency_ms": [5.0] * n,
            "send_lag_ms": [0.01] * n,
            "ok": [True] * n,
            "error": [""] * n,
            "phase": ["steady"] * n,
            "arm": ["stable"] * n,
            "user": [i % 2 for i in range(n)],
        }
    )
    pq.write_table(table, path)
    return path


def test_an_arm_no_user_hashed_to_has_zero_users_and_says_why(tmp_path: Path) -> None:
    phases = [{"name": "steady", "start": 0.0, "end": 10.0}]
    split = split_summaries(_requests(tmp_path / "requests.parquet"), phases, ["stable", "canary"])
    assert split["arms"]["stable"]["users"] == 2
    assert split["arms"]["canary"]["users"] == 0
    assert userless_lines(split) == [
        "canary: no user hashed to it (2 users in all): no requests, not judged; raise --users"
    ]
    out = io.StringIO()
    print_split(Console(file=out, width=120), {"split": split})
    text = out.getvalue()
    assert "users" in text.splitlines()[2]  # the arms table's header row
    assert "canary: no user hashed to it" in " ".join(text.split())


def test_a_split_without_users_has_no_users_column_nor_line() -> None:
    split = {"arms": {"a": {"share": 0.5}, "b": {"share": 0.5}}, "verdicts": {}}
    assert userless_lines(split) == []
