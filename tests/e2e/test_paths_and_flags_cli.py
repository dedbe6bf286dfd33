"""Trust leftovers of earlier trials, through the installed ``benchctl`` from fresh folders
with default options (relative runs/):

- run.json keeps the paths a run read (a replay's trace, a payload file, the scenario and
  target files) absolute, so the run is analyzed the same from any folder; a run made
  before (a relative trace) still analyzes, its skipped autoscaling saying which file and
  field and what to do;
- a trace that cannot be read is refused in one line naming the flag, or the file, line
  and field;
- a bad numeric flag is refused by argparse (``benchctl CMD: error: argument --FLAG: ...``,
  exit 2), naming the bound it crossed.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from benchctl.targets.launch import LaunchedServer
from tests.e2e.helpers import Finished, benchctl, refused
from tests.unit.test_analyze import mm1_step_run

# ------------------------------------------------------------------ unreadable trace


def test_a_trace_flag_that_cannot_be_read_names_the_flag(tmp_path: Path) -> None:
    missing = benchctl("run", "replay", "--set", "trace=./x.csv", "--dry-run", cwd=tmp_path)
    absolute = (tmp_path / "x.csv").resolve()
    assert refused(missing) == (
        f"benchctl run: error: argument --set: trace=./x.csv: cannot read ./x.csv ({absolute}): "
        "No such file or directory (see `benchctl run --help`)"
    )
    (tmp_path / "adir").mkdir()
    folder = benchctl("run", "replay", "--set", "trace=adir", "--dry-run", cwd=tmp_path)
    assert refused(folder) == (
        "benchctl run: error: argument --set: trace=adir: cannot read adir "
        f"({(tmp_path / 'adir').resolve()}): Is a directory (see `benchctl run --help`)"
    )
    assert not (tmp_path / "runs").exists()


def test_a_trace_in_a_scenario_file_names_file_line_and_field(tmp_path: Path) -> None:
    """The trace is relative to the scenario file (sub/), not to the current folder: a
    t.csv in the current folder is not the one read."""
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "r.yaml").write_text("kind: replay\nwarmup: 0s\ntrace: t.csv\n")
    (tmp_path / "t.csv").write_text("time\n0.1\n")
    done = benchctl("run", "sub/r.yaml", "--dry-run", cwd=tmp_path)
    expected = (tmp_path / "sub" / "t.csv").resolve()
    assert refused(done) == (
        f"benchctl: error: sub/r.yaml:3: field 'trace': cannot read t.csv ({expected}): "
        "No such file or directory"
    )


# ---------------------------------------------------------- run.json keeps absolute paths


def test_run_json_keeps_absolute_paths_in_every_repeat(
    kserve: LaunchedServer, tmp_path: Path
) -> None:
    """A replay of 6 arrivals (0.0 to 0.5 s) twice (--repeat 2), its trace given relative
    to the current folder and its payload file relative to the target profile's folder:
    both run.json files keep the same absolute paths, and each run sent its 6 requests
    with the file's body."""
    work = tmp_path / "work"
    (work / "profile").mkdir(parents=True)
    (work / "arrivals.csv").write_text("time\n" + "".join(f"{i / 10}\n" for i in range(6)))
    tensor = {"name": "input-0", "shape": [1, 64], "datatype": "FP32", "data": [0.5] * 64}
    (work / "profile" / "body.json").write_text(json.dumps({"inputs": [tensor]}))
    (work / "profile" / "t.yaml").write_text(
        f"kind: kserve\nprotocol: rest-v2\nurl: {kserve.http_url}\nmodel: mlp\n"
        "payload:\n  source: file\n  file: body.json\n"
    )
    done = benchctl(
        "run", "replay", "--target", "profile/t.yaml", "--set", "trace=./arrivals.csv",
        "--set", "warmup=0s", "--no-telemetry", "--repeat", "2", cwd=work, timeout=180,
    )  # fmt: skip
    assert done.returncode == 0, done.output()
    runs = sorted(p for p in (work / "runs").iterdir() if (p / "run.json").is_file())
    assert len(runs) == 2, done.output()
    for run in runs:
        info = json.loads((run / "run.json").read_text())
        assert info["scenario"]["spec"]["trace"] == str((work / "arrivals.csv").resolve())
        payload = info["target"]["spec"]["payload"]
        assert payload["file"] == str((work / "profile" / "body.json").resolve())
        assert info["target"]["file"] == str((work / "profile" / "t.yaml").resolve())
        assert Path(info["scenario"]["file"]).is_absolute()
        assert info["status"] == "completed"
        assert info["plan"]["expected_requests"] == 6


# ------------------------------------------------- analyze from another folder, old runs


def _replay_run(tmp_path: Path, trace: str) -> Path:
    """tests/unit/test_analyze's M/M/1 step run (mu 200 req/s; p99 = ln(100) / (mu - rate):
    115 ms at 160 req/s, 230 ms at 180: p99<=200ms is measured between them) relabelled as
    a replay of ``trace``, as run.json kept it."""
    run = mm1_step_run(tmp_path)
    info = json.loads((run / "run.json").read_text())
    info["scenario"] = {"name": "replay", "time_scale": 1.0, "spec": {"kind": "replay"}}
    info["scenario"]["spec"]["trace"] = trace
    (run / "run.json").write_text(json.dumps(info))
    return run


def _analyze(run: Path, cwd: Path) -> tuple[Finished, dict]:
    done = benchctl("analyze", str(run), "--slo", "p99<=200ms", cwd=cwd, timeout=180)
    assert done.returncode == 0, done.output()
    return done, json.loads((run / "capacity.json").read_text())["autoscaling"]


def test_an_old_run_with_a_relative_trace_says_where_and_what_to_do(tmp_path: Path) -> None:
    """The run was made in made_in/ with trace old.csv (40, 80, 120 req/s for a second
    each). Analyzed there, its traffic is simulated; from elsewhere/, the answer is still
    given and the skipped autoscaling names run.json, the field and what to do."""
    made_in, elsewhere = tmp_path / "made_in", tmp_path / "elsewhere"
    made_in.mkdir()
    elsewhere.mkdir()
    (made_in / "old.csv").write_text("rate\n40\n80\n120\n")
    run = _replay_run(tmp_path, "old.csv")
    _, there = _analyze(run, made_in)
    assert "skipped" not in there, there
    done, here = _analyze(run, elsewhere)
    reason = (
        f"no traffic to simulate: {run}/run.json: field 'scenario.spec.trace': cannot read "
        f"old.csv ({(elsewhere / 'old.csv').resolve()}): No such file or directory; the run "
        "keeps it relative to the folder it was made in: run this command from that folder "
        "(or give --traffic SCENARIO)"
    )
    assert here["skipped"] == reason
    assert f"Autoscaling not simulated: {reason}" in done.stdout.splitlines(), done.output()


def test_a_run_with_an_absolute_trace_analyzes_from_any_folder(tmp_path: Path) -> None:
    """The same run as stored now (absolute trace): simulated from another folder; once
    the trace is gone, the skipped line says to put it back."""
    (tmp_path / "traces").mkdir()
    (tmp_path / "elsewhere").mkdir()
    trace = (tmp_path / "traces" / "old.csv").resolve()
    trace.write_text("rate\n40\n80\n120\n")
    run = _replay_run(tmp_path, str(trace))
    _, found = _analyze(run, tmp_path / "elsewhere")
    assert "skipped" not in found, found
    trace.unlink()
    _, gone = _analyze(run, tmp_path / "elsewhere")
    assert gone["skipped"] == (
        f"no traffic to simulate: {run}/run.json: field 'scenario.spec.trace': cannot read "
        f"{trace}: No such file or directory; put the file back at that path (or give "
        "--traffic SCENARIO)"
    )


def test_a_moved_run_directory_still_analyzes(tmp_path: Path) -> None:
    """run.json names no path inside its own folder: a run copied elsewhere (absolute
    trace kept) analyzes there as it did in place."""
    (tmp_path / "a").mkdir()
    trace = (tmp_path / "a" / "t.csv").resolve()
    trace.write_text("rate\n40\n80\n")
    run = _replay_run(tmp_path / "a", str(trace))
    moved = shutil.copytree(run, tmp_path / "moved" / "runs" / "r1")
    _, found = _analyze(moved, tmp_path / "moved")
    assert "skipped" not in found, found


# ------------------------------------------------------------------ numeric flags


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["run", "steady", "--users", "0"], "argument --users: must be >= 1, got '0'"),
        (
            ["run", "steady", "--users", "20000000"],
            "argument --users: must be <= 10,000,000, got '20000000'",
        ),
        (["run", "steady", "--repeat", "0"], "argument --repeat: must be >= 1, got '0'"),
        (["run", "steady", "--repeat", "5000"], "argument --repeat: must be <= 1,024, got '5000'"),
        (["run", "steady", "--workers", "-1"], "argument --workers: must be >= 0, got '-1'"),
        (
            ["run", "steady", "--duration", "0"],
            "argument --duration: must be > 0 (e.g. 90s, 10m), got '0'",
        ),
        (
            ["run", "steady", "--price", "0/h"],
            "argument --price: must be > 0 (e.g. 2.48/h), got '0/h'",
        ),
        (
            ["analyze", "r", "--slo", "p99<=1s", "--price", "1e999/h"],
            "argument --price: must be a finite price, got '1e999/h'",
        ),
        (
            # --max-pvalue before DIR: argparse checks in order, and runs/ does not exist
            ["history", "--max-pvalue", "0", "runs"],
            "argument --max-pvalue: must be in (0, 1), e.g. 0.001; got '0'",
        ),
        (
            # --last first: argparse checks in order, and b, c and r do not exist either
            ["gate", "--last", "0", "--baseline", "b", "--candidate", "c", "--rules", "r"],
            "argument --last: must be >= 1, got '0'",
        ),
    ],
)
def test_bad_numbers_are_refused_by_argparse(
    tmp_path: Path, argv: list[str], expected: str
) -> None:
    line = refused(benchctl(*argv, cwd=tmp_path, timeout=60))
    assert line == f"benchctl {argv[0]}: error: {expected} (see `benchctl {argv[0]} --help`)"
    assert not (tmp_path / "runs").exists()


def test_many_users_are_accepted(tmp_path: Path) -> None:
    """--users has the scenario field's range (1 to 10,000,000), not the 1,024 of process
    counts (it was refused: "must be between 0 and 1024"): 5000 users plan."""
    done = benchctl(
        "run", "steady", "--split", "kserve=50,kserve-v1=50", "--users", "5000", "--dry-run",
        cwd=tmp_path, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.output()


# --------------------------------------------------------------------- benchctl runs


def test_runs_piped_at_80_columns_keeps_every_row_and_flag_on_one_line(tmp_path: Path) -> None:
    """``COLUMNS=80 benchctl runs | ...``: the interrupted run's row is one line with its
    whole name, status and flags (400 of 4,000 dropped = 10.0%, 120 of 4,000 errors = 3.0%,
    a saturated generator); the flags column used to be cut off at 80 columns."""
    name = "20261130T093000Z-replay-kserve-grpc-with-a-rather-long-name"
    run = mm1_step_run(tmp_path)
    info = json.loads((run / "run.json").read_text())
    info.update(status="interrupted", generator={"saturated": True})
    (run / "run.json").write_text(json.dumps(info))
    overall = {"requests": 4000, "errors": 120, "dropped": 400, "throughput_rps": 66.0}
    overall["latency_ms"] = {"p50": 12.3, "p99": 45.6}
    (run / "summary.json").write_text(json.dumps({"overall": overall, "phases": {}}))
    work = tmp_path / "work"
    shutil.copytree(run, work / "runs" / name)
    done = benchctl("runs", cwd=work, env={"COLUMNS": "80"}, timeout=60)
    assert done.returncode == 0, done.output()
    (row,) = [line for line in done.stdout.splitlines() if name in line]
    assert row.split() == [
        name, "interrupted", "4,000", "66.0", "12.3", "45.6", "120", "400",
        "10.0%", "dropped,", "3.0%", "errors,", "saturated",
    ], done.output()  # fmt: skip
