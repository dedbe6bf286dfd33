"""A reader that leaves stdout early (``benchctl gate ... --junit j.xml | head -1``) costs no
file and no verdict (trial 7, F11): the files a command was asked for are written before its
terminal output, and gate's exit code stays its verdict (1 on FAIL, 2 on bad input).

The installed ``benchctl`` runs from a fresh folder with stdout a pipe whose read end is
closed before it starts (what ``| head -1`` becomes once head has read its line; with a
real ``head`` whether the first write already hits the closed end is a race)."""

from __future__ import annotations

import json
import os
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

from tests.unit.run_files import BENCHCTL
from tests.unit.test_gate import make_run

RULES = "rules:\n  - {metric: p99_ms, max_increase: 10%}\n  - {metric: p99_ms, max: 5}\n"


def closed_stdout_benchctl(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``benchctl ARGS`` from ``cwd`` whose stdout is a pipe nobody reads any more (its read
    end closed before the start): every write to it fails with EPIPE. stderr captured."""
    read, write = os.pipe()
    os.close(read)
    try:
        return subprocess.run(
            [str(BENCHCTL), *args],
            cwd=cwd,
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            timeout=300,
            check=False,
        )
    finally:
        os.close(write)


def test_a_failed_gate_whose_reader_left_exits_1_with_every_file(tmp_path: Path) -> None:
    """A candidate 1.3x slower than its baseline fails ``p99_ms increase <= 10%`` (and the
    absolute ``p99_ms max 5``: a lognormal of median 10 ms has p99 far above 5 ms): with the
    reader gone before the first line, exit 1, and JUnit, Markdown and JSON all written
    with the FAIL. A rules file that does not parse is exit 2 the same way."""
    make_run(tmp_path / "runs", "base", seed=1, requests=3000)
    make_run(tmp_path / "runs", "cand", seed=2, requests=3000, scale=1.3)
    (tmp_path / "gate.yaml").write_text(RULES)
    files = ["--junit", "j.xml", "--markdown", "g.md", "--json", "g.json"]
    gate = ["gate", "--baseline", "runs/base", "--candidate", "runs/cand", "--rules", "gate.yaml"]
    done = closed_stdout_benchctl(*gate, *files, cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    assert done.stderr == ""  # nothing to say: the verdict is the exit code and the files
    assert json.loads((tmp_path / "g.json").read_text())["passed"] is False
    assert ET.parse(tmp_path / "j.xml").getroot().find(".//failure") is not None
    assert "FAIL" in (tmp_path / "g.md").read_text()
    (tmp_path / "bad.yaml").write_text("rules: [{metric: p99_ms, max_increase: lots}]\n")
    bad = closed_stdout_benchctl(*gate[:-1], "bad.yaml", cwd=tmp_path)
    assert bad.returncode == 2 and "bad.yaml" in bad.stderr


def test_a_passed_gate_whose_reader_left_exits_0(tmp_path: Path) -> None:
    """The same baseline against itself passes the relative rule: exit 0, JSON written."""
    make_run(tmp_path / "runs", "base", seed=1, requests=3000)
    (tmp_path / "gate.yaml").write_text("rules:\n  - {metric: p99_ms, max_increase: 10%}\n")
    args = ["--baseline", "runs/base", "--candidate", "runs/base", "--rules", "gate.yaml"]
    done = closed_stdout_benchctl("gate", *args, "--json", "g.json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads((tmp_path / "g.json").read_text())["passed"] is True


def test_history_whose_reader_left_writes_its_json_and_page(tmp_path: Path) -> None:
    """``history runs --json h.json`` with the reader gone: both files written, exit 0 (its
    exit code carries no verdict); the JSON lists both runs."""
    make_run(tmp_path / "runs", "a", seed=1, requests=1000)
    make_run(tmp_path / "runs", "b", seed=2, requests=1000)
    done = closed_stdout_benchctl("history", "runs", "--json", "h.json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "runs" / "history.html").is_file()
    document = json.loads((tmp_path / "h.json").read_text())
    assert len(document["runs"]) == 2


def test_analyze_whose_reader_left_analyzes_every_run(tmp_path: Path) -> None:
    """``analyze A B --slo ...`` with the reader gone before A's answer: A and B both get
    their capacity.json (the reader leaving after the first answer stopped the loop before),
    exit 0 (analyze's exit code carries no verdict)."""
    for name, seed in (("a", 1), ("b", 2)):
        make_run(tmp_path / "runs", name, seed=seed, requests=3000)
    done = closed_stdout_benchctl("analyze", "runs/a", "runs/b", "--slo", "p99<=50ms", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    for name in ("a", "b"):
        assert json.loads((tmp_path / "runs" / name / "capacity.json").read_text())
