"""Every flag's bad value is refused the same way (fresh-user trials: ``--slo`` and
``--currency`` were refused after parsing, as ``benchctl: error: --slo ...``, unlike
``--rate``): one stderr line ``benchctl CMD: error: argument --FLAG: <what is wrong and
allowed> (see `benchctl CMD --help`)``, exit 2, no traceback, nothing done.

A value that can be judged alone is refused while parsing (before a run folder, a scenario
or a run directory is read); one that needs another flag, the scenario or a file is refused
after parsing in the same form. ``benchctl.cli.main`` runs in-process here;
tests/e2e/test_flag_refusals_cli.py runs the installed executable."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchctl.cli import main
from tests.unit.test_bad_input import one_error


@pytest.fixture()
def cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh working directory (relative paths, default runs/ as a user has them)."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def form(command: str, flag: str, text: str) -> str:
    """The line argparse writes for a bad value of ``flag`` of ``benchctl COMMAND``."""
    return f"benchctl {command}: error: argument {flag}: {text} (see `benchctl {command} --help`)"


STRICT = "write <= (the objective is 'at most'), e.g. p99<=200ms; a strict < is not read"
UNIT = "the bound needs a unit (ms or s), e.g. p99<=200ms"
CODE = "give a code such as USD, EUR or GBP"


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        (
            ["run", "steady", "--slo", "p99<200ms", "--dry-run"],
            form("run", "--slo", f"'p99<200ms': {STRICT}"),
        ),
        (
            ["run", "steady", "--slo", "p99<=200ms", "--currency", "US D", "--dry-run"],
            form("run", "--currency", f"'US D': {CODE}"),
        ),
        (
            ["run", "steady", "--currency", "12", "--dry-run"],
            form("run", "--currency", f"'12': {CODE}"),
        ),
        # a run directory that does not exist: the flag is refused first, while parsing
        (
            ["analyze", "no-such-run", "--slo", "p99<=200"],
            form("analyze", "--slo", f"'p99<=200': {UNIT}"),
        ),
        (
            ["analyze", "no-such-run", "--slo", "p99<=1s", "--currency", ""],
            form("analyze", "--currency", f"'': {CODE}"),
        ),
        (
            ["analyze", "no-such-run", "--slo", "p99<=1s", "--cluster", "image_pull"],
            form(
                "analyze",
                "--cluster",
                "'image_pull' is not key=value; give a YAML file or pairs such as "
                "image_pull=30s,model_load=1m,pool_pods=4",
            ),
        ),
        (
            ["analyze", "no-such-run", "--slo", "p99<=1s", "--cluster", "nodes.yaml"],
            form("analyze", "--cluster", "nodes.yaml: no such file"),
        ),
        (
            ["compare", "no-such-run", "other", "--slo", "p100<=1s"],
            form(
                "compare",
                "--slo",
                "'p100<=1s': the percentile must be above 0 and below 100, e.g. p99 or "
                "p99.9 (p100 is the maximum, which no number of requests pins down)",
            ),
        ),
        (
            ["run", "steady", "--split", "kserve=0,b=1", "--dry-run"],
            form("run", "--split", "weight of 'kserve' must be a number > 0, got '0'"),
        ),
        (
            ["worker", "--master", "10.0.0.5:99999"],
            form(
                "worker",
                "--master",
                "'10.0.0.5:99999': expected HOST:PORT with a TCP port 1..65535, e.g. 10.0.0.5:5557",
            ),
        ),
    ],
)
def test_a_bad_value_is_refused_while_parsing(cwd, capsys, argv, line):
    assert one_error(argv, capsys) == line
    assert not (cwd / "runs").exists()  # nothing made


@pytest.mark.parametrize(
    ("argv", "start"),
    [
        # needs the scenario: a sweep has no rate
        (
            ["run", "sweep", "--rate", "5", "--dry-run"],
            "benchctl run: error: argument --rate: does not apply to a sweep scenario: ",
        ),
        # needs --target: the control arm must be one of the arms
        (
            ["run", "steady", "--split", "a=1,b=1", "--dry-run"],
            "benchctl run: error: argument --split: the --target profile ('kserve') is the "
            "control arm and must be one of the arms (a, b)",
        ),
        # needs --config-dir: the profile must exist there or among the built-ins
        (
            ["run", "steady", "--target", "kserv", "--dry-run"],
            "benchctl run: error: argument --target: unknown target 'kserv': choose one of ",
        ),
        # needs the scenario's fields
        (
            ["run", "steady", "--set", "rate=-5", "--dry-run"],
            "benchctl run: error: argument --set: rate (for ",
        ),
    ],
)
def test_a_value_refused_after_parsing_reads_the_same(cwd, capsys, argv, start):
    line = one_error(argv, capsys)
    assert line.startswith(start), line
    assert line.endswith(" (see `benchctl run --help`)"), line
    assert not (cwd / "runs").exists()


def test_good_values_pass(cwd, capsys):
    """A currency symbol, a code with spaces around it, an SLO in seconds: a plan."""
    argv = ["run", "steady", "--duration", "4s", "--dry-run", "--slo", "p95<=0.5s"]
    assert main([*argv, "--currency", "€"]) == 0, capsys.readouterr().err
    assert main([*argv, "--currency", " EUR "]) == 0, capsys.readouterr().err
