"""Fresh-user trials, as a user meets them (the installed ``benchctl``, a fresh folder,
default options): a bad ``--slo`` or ``--currency`` is refused like a bad ``--rate``, in
argparse's one line naming the flag and what is allowed, exit 2, before anything runs; the
dry run's plan line says the gaps the run will use (``--set arrivals=constant`` printed
"Poisson gaps"), and its chart has a sane number of rows with bars proportional to the
rate (a 4 s run printed 40 rows of 100 ms; "0.0 req/s" beside a full bar)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.helpers import benchctl, refused


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        (
            ["run", "steady", "--slo", "p99<200ms"],
            "benchctl run: error: argument --slo: 'p99<200ms': write <= (the objective is "
            "'at most'), e.g. p99<=200ms; a strict < is not read (see `benchctl run --help`)",
        ),
        (
            ["run", "steady", "--slo", "p99<=200ms", "--price", "2.48/h", "--currency", "U S"],
            "benchctl run: error: argument --currency: 'U S': give a code such as USD, EUR or "
            "GBP (see `benchctl run --help`)",
        ),
        (
            ["analyze", "runs/none", "--slo", "p99<=200ms", "--currency", "12"],
            "benchctl analyze: error: argument --currency: '12': give a code such as USD, EUR "
            "or GBP (see `benchctl analyze --help`)",
        ),
    ],
)
def test_bad_slo_and_currency_are_refused_as_argparse_does(tmp_path: Path, argv, line) -> None:
    """No --launch, no server: the value is refused while parsing, so nothing is tried."""
    assert refused(benchctl(*argv, cwd=tmp_path, timeout=60)) == line
    assert not (tmp_path / "runs").exists()


def test_dry_run_says_the_effective_plan(tmp_path: Path) -> None:
    """steady, 4 s at 50 req/s with constant gaps, warm-up 1 s: the plan line names
    constant gaps (not the file's Poisson); 0.2 s ticks (1 s would give 4 rows, 0.5 s
    8 < 10): 20 rows, each 50.0 req/s with the full bar of 40."""
    done = benchctl(
        "run", "steady", "--duration", "4s", "--set", "arrivals=constant",
        "--set", "warmup=1s", "--dry-run", cwd=tmp_path, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.output()
    assert "Poisson" not in done.stdout, done.stdout
    assert (
        "open loop, constant gaps: 50 req/s for 4s; warm-up: the first 1s, not counted"
    ) in done.stdout
    rows = [line.split() for line in done.stdout.splitlines() if line.endswith("█")]
    assert len(rows) == 20, done.stdout
    assert {(r[1], len(r[3])) for r in rows} == {("50.0", 40)}
    assert rows[1][0] == "200ms" and rows[-1][0] == "3.8s"


def test_dry_run_chart_of_a_staircase_from_zero(tmp_path: Path) -> None:
    """step rates [0, 0.5, 2] req/s, 20 s each (60 s, 0 + 10 + 40 = 50 requests): 5 s ticks
    (2 s gives 30 rows), 12 rows; 0 req/s has no bar, 0.5 a bar of 40 x 0.5/2 = 10, 2 the
    full 40."""
    done = benchctl(
        "run", "step", "--set", "rates=[0,0.5,2]", "--set", "step_duration=20s",
        "--set", "warmup=0s", "--dry-run", cwd=tmp_path, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.output()
    lines = [line.split() for line in done.stdout.splitlines()]
    chart = [cells for cells in lines if len(cells) >= 3 and cells[2] == "req/s"]
    assert len(chart) == 12, done.stdout
    assert [(r[1], len(r[3]) if len(r) > 3 else 0) for r in chart] == (
        [("0.0", 0)] * 4 + [("0.5", 10)] * 4 + [("2.0", 40)] * 4
    )
