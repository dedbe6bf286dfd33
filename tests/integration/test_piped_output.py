"""Output piped to a file is never hard-wrapped (fresh-user trial 4, #11): ``benchctl run``'s
progress lines were split at column 120 (``generator CPU`` / ``4%``), so ``grep`` on a CI
log missed them. The installed executable, from a fresh folder, stdout to a file, with
``COLUMNS=80`` (the console's pipe width is then 120 columns), against the session's
launched KServe (two short runs at 20 req/s). Every line of text of run, analyze, compare
and gate is whole: each line over 120 columns that a 1,000-column console prints (tables and
rules, which keep the console's width, set aside) is the same one line in the file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from benchctl.analysis.answer import capacity_sentence

from .conftest import target_overrides

BENCHCTL = Path(sys.executable).with_name("benchctl")
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
BOX = set("─━│┃┏┓┗┛┡┩└┘┌┐╇┳┻╋├┤┼═")


def _piped(cwd: Path, columns: int, *args: str) -> tuple[int, list[str]]:
    """(exit code, stdout lines) of ``benchctl ARGS`` with stdout a file."""
    out = cwd / f"out-{columns}.txt"
    with out.open("w") as file:
        code = subprocess.run(
            [str(BENCHCTL), *args],
            cwd=cwd,
            env={**os.environ, "COLUMNS": str(columns)},
            stdout=file,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            timeout=180,
            check=False,
        ).returncode
    return code, out.read_text().splitlines()


def _long_lines(lines: list[str]) -> list[str]:
    """The lines of text over 120 columns: not part of a table or a rule (box characters,
    or cells padded apart by runs of spaces)."""
    found = [line.strip() for line in lines if not BOX & set(line)]
    return [line for line in found if len(line) > 120 and "  " not in line]


def test_run_analyze_compare_and_gate_lines_are_whole_in_a_file(tmp_path: Path, kserve):
    """By hand: a progress line ("[0:10/0:12] target 20 rps, achieved ... generator CPU
    N%") is about 170 characters, over the 120-column pipe width, and must hold from
    "[" to "%" on one line; analyze's capacity sentence is capacity.json's
    ``capacity_sentence``, longer than 120 characters, on one line."""
    sets = [f"--target-set={item}" for item in target_overrides(kserve)]
    for _ in range(2):
        code, lines = _piped(
            tmp_path, 80, "run", "steady", "--rate", "20", "--duration", "12s", *sets
        )
        assert code == 0, lines
        progress = [line for line in lines if "in flight" in line and "achieved" in line]
        assert progress, lines
        for line in progress:
            assert line.startswith("[") and "generator CPU" in line and line.endswith("%"), line
        assert max(len(line) for line in progress) > 120  # long enough to have wrapped
    first, second = sorted(
        str(path.relative_to(tmp_path)) for path in (tmp_path / "runs").iterdir()
    )
    code, lines = _piped(tmp_path, 80, "analyze", first, "--slo", "p90<=500ms")
    assert code == 0, lines
    doc = json.loads((tmp_path / first / "capacity.json").read_text())
    sentence = capacity_sentence(doc)
    assert len(sentence) > 120 and sentence in lines, lines
    commands = [
        ("analyze", first, "--slo", "p90<=500ms"),
        ("compare", first, second),
        (
            "gate",
            "--baseline",
            first,
            "--candidate",
            second,
            "--rules",
            str(EXAMPLES / "gate.yaml"),
        ),
    ]
    for args in commands:
        code, narrow = _piped(tmp_path, 80, *args)
        wide_code, wide = _piped(tmp_path, 1000, *args)
        assert code == wide_code and code in (0, 1), (args, narrow)
        whole = _long_lines(wide)  # each printed as one line at 1,000 columns
        assert whole or args[0] == "compare", (args, wide)
        assert set(whole) <= {line.strip() for line in narrow}, (args, narrow)
