"""`benchctl run batch ... | head` where the reader leaves between two settings of a sweep:
the installed ``benchctl`` from a fresh directory, ``--launch`` (a real KServe on 127.0.0.1
per setting), stdout a pipe this test closes while or after the first setting's run prints
its end (what ``head -N`` does).

Fresh-user trial: the sweep ended with exit 0 and no sweep file (the next setting's heading
raised BrokenPipeError, which ends a command whose work is done). Expected (README, exit
codes and batch): exit 141 as for ``run``, one stderr line, the sweep file written with the
completed setting and the cut one ``interrupted``, no process or launched server left.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .test_closed_stdout import CLOSED, _left_in, _read_until_and_leave

SETTINGS = ["--set", "inputs=40", "--set", "batch_sizes=[1,2]", "--set", "concurrency=[1]"]


@pytest.mark.parametrize(
    "last",
    [
        # the first run's summary heading ("2026...-batch-kserve (completed)"): the reader
        # leaves while that run's end is printed; the run stands completed as written, the
        # console goes quiet, and the second setting is never started
        "20",
        # the first run's last line ("send lag ..."): the second heading finds the pipe
        # closed, or (when it was already in the pipe) the second run's first line does
        "send lag",
    ],
)
def test_a_sweep_whose_reader_left_between_settings_keeps_what_was_measured(
    tmp_path: Path, last: str
):
    """Two settings, batch 1 then batch 2, each 40 inputs at concurrency 1, each on its own
    launched KServe. Known answer: the first setting completed (40 inferences, its run
    completed); the second is interrupted for the closed stdout, with no run of its own or
    with a run marked interrupted; the sweep file says so; exit 141, one stderr line naming
    the closed stdout, no process left (engine, watchdog, launched servers). With
    --report, a sweep cut between settings has no run to report on: still exit 141 (it
    was 2, "runs/...-batch-sweep.json: not a run directory")."""
    args = ["run", "batch", "--target", "kserve", "--launch", *SETTINGS, "--report"]
    code, lines, stderr = _read_until_and_leave(args, tmp_path, last)
    assert lines and lines[-1].startswith(last), (lines, stderr)
    assert code == 141, (code, stderr)
    errors = stderr.strip().splitlines()
    assert len(errors) == 1 and errors[0].startswith(f"benchctl: run {CLOSED}"), stderr
    assert "Traceback" not in stderr
    (path,) = sorted((tmp_path / "runs").glob("*-batch-sweep.json"))
    sweep = json.loads(path.read_text())
    first, cut = sweep["settings"]
    assert (first["batch_size"], first["status"], first["complete"]) == (1, "completed", True)
    assert first["inferences"] == 40
    info = json.loads((tmp_path / "runs" / first["run"] / "run.json").read_text())
    assert info["status"] == "completed"
    assert (cut["batch_size"], cut["status"]) == (2, "interrupted")
    assert cut["reason"].startswith(CLOSED)
    assert sweep["status"] == "interrupted" and sweep["reason"].startswith(CLOSED)
    if cut["run"] is not None:  # the heading was already in the pipe: its run was cut
        info = json.loads((tmp_path / "runs" / cut["run"] / "run.json").read_text())
        assert info["status"] == "interrupted" and info["reason"].startswith(CLOSED)
    elif last == "20":
        assert path.name in errors[0]  # no run was cut: the line names the sweep file
    assert not _left_in(tmp_path), "processes left running"
