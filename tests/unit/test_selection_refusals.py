"""Empty selections and folders that are not runs, as a user meets them: the installed
``benchctl`` run from a fresh folder with relative paths.

- ``history --scenario X`` / ``--target Y`` with no run of it is an empty answer, as
  ``benchctl runs`` answers an empty folder: one line naming the series that are there,
  nothing written, exit 0.
- ``gate``/``analyze``/``report``/``compare`` given ``RUN@ARM`` whose RUN is a folder
  without run.json, or a folder with no runs as ``--baseline``/``--candidate``, say that
  it is not a benchctl run (no run.json) and what is expected, never "no such folder".
- ``run --master-bind`` takes only an address the master can listen on.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.run_files import this_python_benchctl
from tests.unit.test_gate import make_run

RULES = Path(__file__).resolve().parents[2] / "examples" / "gate.yaml"


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh folder with runs/good (a steady run on kserve) and notrun/ (no run.json)."""
    folder = tmp_path_factory.mktemp("fresh")
    make_run(folder / "runs", "good", seed=1, requests=2000)
    (folder / "notrun").mkdir()
    return folder


def _refused(work: Path, *args: str) -> str:
    """The one stderr line of a refusal (exit 2, nothing on stdout, no traceback)."""
    done = this_python_benchctl(*args, cwd=work)
    assert (done.returncode, done.stdout) == (2, ""), done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]


@pytest.mark.parametrize(
    ("flags", "selection"),
    [
        (("--scenario", "spike"), "scenario 'spike'"),
        (("--target", "triton"), "target 'triton'"),
        (("--scenario", "steady", "--target", "triton"), "scenario 'steady' and target 'triton'"),
    ],
)
def test_history_with_no_matching_run_is_an_empty_answer(
    work: Path, flags: tuple[str, ...], selection: str
) -> None:
    done = this_python_benchctl("history", "runs", *flags, cwd=work)
    assert (done.returncode, done.stderr) == (0, ""), done.stderr
    assert done.stdout.splitlines() == [
        f"no runs of {selection} in runs/; its runs: steady on kserve; nothing written"
    ]
    assert not (work / "runs" / "history.html").exists()


def test_history_of_an_empty_folder_and_of_a_missing_one(work: Path) -> None:
    done = this_python_benchctl("history", "notrun", cwd=work)
    assert (done.returncode, done.stdout) == (0, "no runs in notrun/ yet; nothing written\n")
    assert _refused(work, "history", "missing") == (
        "benchctl history: error: argument DIR: missing: no such folder "
        "(see `benchctl history --help`)"
    )


ARM_LINE = (
    "notrun@a: notrun is not a benchctl run (no run.json); RUN@ARM is one arm of a run "
    "directory made by `benchctl run --split`; `benchctl runs` lists the runs"
)
FOLDER_LINE = (
    "notrun: not a benchctl run (no run.json) and no run directories in it; give a run "
    "directory, RUN@ARM or a folder of runs; `benchctl runs` lists the runs"
)


@pytest.mark.parametrize(
    ("baseline", "candidate", "flag", "why"),
    [
        ("notrun@a", "runs/good", "--baseline", ARM_LINE),
        ("runs/good", "notrun@a", "--candidate", ARM_LINE),
        ("notrun", "runs/good", "--baseline", FOLDER_LINE),
        ("runs/good", "notrun", "--candidate", FOLDER_LINE),
    ],
)
def test_gate_names_a_folder_that_is_not_a_run(
    work: Path, baseline: str, candidate: str, flag: str, why: str
) -> None:
    line = _refused(
        work, "gate", "--baseline", baseline, "--candidate", candidate, "--rules", str(RULES)
    )
    assert line == f"benchctl gate: error: argument {flag}: {why} (see `benchctl gate --help`)"


@pytest.mark.parametrize(
    "args",
    [
        ("analyze", "notrun@a", "--slo", "p99<=200ms"),
        ("report", "notrun@a"),
        ("compare", "notrun@a", "runs/good"),
    ],
)
def test_run_at_arm_of_a_folder_that_is_not_a_run(work: Path, args: tuple[str, ...]) -> None:
    assert _refused(work, *args) == f"benchctl: error: {ARM_LINE}"


ALLOWED = (
    "give an IP address of this machine (127.0.0.1, the default; 0.0.0.0 for every "
    "interface, for remote workers), localhost, * or an interface name such as eth0"
)


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("bogus.invalid", "no such address"),  # .invalid never resolves (RFC 2606)
        ("999.1.1.1", "no such address"),
        ("192.0.2.1", "not an address of this machine"),  # TEST-NET-1 (RFC 5737)
    ],
)
def test_master_bind_is_refused_in_the_argparse_form(work: Path, value: str, why: str) -> None:
    line = _refused(work, "run", "steady", "--dry-run", "--workers", "1", "--master-bind", value)
    assert line == (
        f"benchctl run: error: argument --master-bind: {value!r}: {why}; {ALLOWED} "
        "(see `benchctl run --help`)"
    )


@pytest.mark.parametrize("value", ["127.0.0.1", "0.0.0.0", "localhost", "*"])
def test_master_bind_takes_addresses_of_this_machine(value: str) -> None:
    from benchctl.commands.worker_values import master_bind

    assert master_bind(value) == value
