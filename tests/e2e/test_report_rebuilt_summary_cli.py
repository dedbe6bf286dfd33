"""``benchctl report`` on a run whose summary.json is damaged or absent says, as ``compare``
does, that the report's numbers were computed from requests.parquet (one warning line;
trial data run 20261130T122008Z, copied so the repository's copy stays intact)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from .helpers import benchctl

DATA = Path(__file__).parents[1] / "unit" / "data" / "trial7-split-steady"
RUN = "20261130T122008Z-steady-stable"


@pytest.mark.parametrize(
    ("damage", "words"),
    [
        ("", "is damaged (Expecting value: line 1 column 1 (char 0))"),
        (None, "is absent"),
    ],
)  # fmt: skip
def test_report_warns_like_compare(tmp_path: Path, damage: str | None, words: str):
    run = tmp_path / "runs" / RUN
    shutil.copytree(DATA / RUN, run)
    if damage is None:
        (run / "summary.json").unlink()
    else:
        (run / "summary.json").write_text(damage)
    reported = benchctl("report", f"runs/{RUN}", cwd=tmp_path)
    assert reported.returncode == 0, reported.output()
    line = (
        f"warning: runs/{RUN}: summary.json {words}: its numbers were computed from "
        "requests.parquet"
    )
    assert line in reported.stdout.splitlines(), reported.output()
    assert (run / "report.html").is_file()
    compared = benchctl("compare", f"runs/{RUN}", f"runs/{RUN}", cwd=tmp_path)
    assert line in compared.stdout.splitlines(), compared.output()  # the same words


def test_report_with_its_summary_says_nothing_of_it(tmp_path: Path):
    shutil.copytree(DATA / RUN, tmp_path / "runs" / RUN)
    reported = benchctl("report", f"runs/{RUN}", cwd=tmp_path)
    assert reported.returncode == 0, reported.output()
    assert "warning" not in reported.output(), reported.output()
