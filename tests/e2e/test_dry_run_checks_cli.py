"""``--dry-run`` checks what the run checks (trial 5, finding 11), through the installed
``benchctl`` from a fresh folder: an unlaunchable target with ``--launch`` is refused, a
plan of under one request is refused in one stderr line (exit 2, as ``--rate 0``), and a
rate past what one load process sends is a warning (the 1e9 refusal's smaller sibling)."""

from __future__ import annotations

import os
from pathlib import Path

from tests.e2e.helpers import Finished, benchctl, refused


def test_dry_run_refuses_an_unlaunchable_target_as_the_run_does(tmp_path: Path) -> None:
    dry = benchctl("run", "steady", "--target", "tfserving", "--launch", "--dry-run", cwd=tmp_path)
    line = refused(dry)
    assert line.startswith("benchctl: error: TF-Serving cannot be launched here"), line
    assert not (tmp_path / "runs").exists()


def test_a_plan_of_under_one_request_is_refused(tmp_path: Path) -> None:
    """0.01 req/s x 10 s = 0.1 requests expected."""
    for extra in (["--dry-run"], []):
        done = benchctl(
            "run", "steady", "--rate", "0.01", "--duration", "10s", *extra, cwd=tmp_path
        )
        assert refused(done) == (
            "benchctl run: error: argument --rate: 0.01 with --duration 10s plans about 0.1 "
            "requests in 10s: nothing to measure; give a rate x duration of at least 1 "
            "request (e.g. --rate 1 --duration 10s) (see `benchctl run --help`)"
        )
        assert done.stdout == "", done.output()
    assert not (tmp_path / "runs").exists()


def _dry_run_steady(rate: str, *options: str, cwd: Path) -> Finished:
    """``benchctl run steady --rate RATE --duration 10s OPTIONS --dry-run`` in ``cwd``."""
    return benchctl(
        "run", "steady", "--rate", rate, "--duration", "10s", *options, "--dry-run", cwd=cwd
    )


def test_a_rate_past_one_process_warns_and_names_the_workers(tmp_path: Path) -> None:
    """999,999 req/s from one process: ceil(999,999 / 5,000) = 200 processes needed;
    12,000 req/s over 2 workers is 6,000 each, ceil(12,000 / 5,000) = 3 needed; 8,000 req/s
    over 2 workers is 4,000 each: no warning."""
    one = _dry_run_steady("999999", cwd=tmp_path)
    assert one.returncode == 0, one.output()
    text = " ".join(one.stdout.split())
    assert (
        "warning: a peak of 999,999 req/s from one load process; one process did not keep up "
        "with 5,000 req/s (README, generator accuracy), so latencies would be the "
        "generator's: use --workers 200 or more"
    ) in text, one.output()
    cores = len(os.sched_getaffinity(0))  # this machine's cores: 200 processes exceed them
    assert (
        f"this machine has {cores} core{'' if cores == 1 else 's'}, and workers beyond its "
        "cores share them and fall behind: run the rest on other machines (--remote-workers "
        "with `benchctl worker --master HOST:PORT` there; README, Running at scale)"
    ) in text, one.output()
    two = _dry_run_steady("12000", "--workers", "2", cwd=tmp_path)
    assert "is 6,000 req/s for each of 2 load processes" in " ".join(two.stdout.split())
    assert "use --workers 3 or more" in " ".join(two.stdout.split()), two.output()
    fine = _dry_run_steady("8000", "--workers", "2", cwd=tmp_path)
    assert fine.returncode == 0 and "warning" not in fine.stdout, fine.output()
