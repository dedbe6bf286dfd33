"""Small lines of trial 7 (F14), through the installed ``benchctl`` from a fresh folder:
a preflight against a web server that is no model server quotes its answer as text (not
``b'<!DOCTYPE HTML>...'``), ``runs --runs-dir`` with a missing folder is refused (as in
``history``), a replay trace whose first time is no number nor timestamp is not told to
look "like the first row's 'abc'", and a ``runs`` that is a file is "a file in the way"."""

from __future__ import annotations

import errno
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from benchctl.run_outcome import write_problem
from tests.e2e.helpers import benchctl, refused


@pytest.fixture(scope="module")
def web_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Python's http.server on 127.0.0.1: every model path answers its 404 HTML page."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    folder = tmp_path_factory.mktemp("web")
    server = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
        cwd=folder,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            with socket.socket() as client:
                if client.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(10)


def test_preflight_quotes_a_web_page_as_text(tmp_path: Path, web_server: str) -> None:
    done = benchctl(
        "run", "steady", "--target", "torchserve", "--rate", "2", "--duration", "2s",
        "--target-set", f"url={web_server}", cwd=tmp_path,
    )  # fmt: skip
    assert refused(done) == (
        f"benchctl: error: target 'torchserve': TorchServe at {web_server}/ping is not healthy "
        "(HTTP 404: 'Error response Error response Error code: 404 Message: File not found. "
        "Error code explanation: 404 - Nothing matches the...')"
    )
    assert not (tmp_path / "runs").exists()


def test_runs_in_a_missing_folder_is_refused(tmp_path: Path) -> None:
    assert refused(benchctl("runs", "--runs-dir", "nope", cwd=tmp_path)) == (
        "benchctl runs: error: argument --runs-dir: nope: no such folder "
        "(see `benchctl runs --help`)"
    )


def test_trace_first_time_unreadable_says_what_is_allowed(tmp_path: Path) -> None:
    (tmp_path / "bad.csv").write_text("time\nabc\n1\n")
    done = benchctl("run", "replay", "--set", "trace=./bad.csv", "--dry-run", cwd=tmp_path)
    assert refused(done) == (
        f"benchctl: error: {tmp_path.resolve() / 'bad.csv'}:2: field 'time': expected a number "
        "of seconds or an ISO 8601 timestamp (e.g. 0.5 or 2026-11-30T12:00:00Z), got 'abc'"
    )


def test_a_file_where_the_runs_folder_goes_is_said(tmp_path: Path) -> None:
    (tmp_path / "runs").write_text("")
    with pytest.raises(OSError) as caught:
        (tmp_path / "runs" / "x").mkdir(parents=True, exist_ok=True)
    assert caught.value.errno in (errno.EEXIST, errno.ENOTDIR)
    assert write_problem(caught.value, tmp_path / "runs") == (
        f"cannot write {caught.value.filename}: a file is in the way where a folder should be; "
        "move it (or give --runs-dir elsewhere) and run again"
    )


def test_no_throughput_line_says_the_reason_once() -> None:
    """summary.json's note for a run stopped before its measurement interval."""
    from benchctl.reports.terminal.rates import rate_notes

    note = {"overall": {"throughput_note": "no measurement interval: no throughput"}}
    assert rate_notes(note) == ["no throughput: no measurement interval"]


def test_a_typo_in_a_scenario_kind_is_the_error_even_with_rate(tmp_path: Path) -> None:
    """Was: "--rate does not apply to a steadyy scenario" (the kind's error only without it)."""
    (tmp_path / "benchctl.d" / "scenarios").mkdir(parents=True)
    (tmp_path / "benchctl.d/scenarios/steady.yaml").write_text("kind: steadyy\nduration: 10s\n")
    line = (
        "benchctl: error: benchctl.d/scenarios/steady.yaml: field 'kind': must be one of "
        "steady, ramp, step, spike, soak, sweep, replay, capacity, batch"
    )
    for extra in ((), ("--rate", "5")):
        done = benchctl("run", "steady", *extra, "--dry-run", cwd=tmp_path)
        assert refused(done) == line
