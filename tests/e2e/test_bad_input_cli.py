"""Bad input through the installed ``benchctl`` executable, from a fresh working directory
with default options: one stderr line naming the flag or file, exit code 2, no traceback.
(The in-process tests in tests/unit/test_bad_input.py cover each kind in detail.)"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from tests.e2e.helpers import Finished, benchctl

# A closed loopback port: nothing listens there, so nothing is ever sent anywhere.
CLOSED = "http://127.0.0.1:9"


def assert_one_line(done: Finished, expected: str) -> None:
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2, done.output()
    assert len(lines) == 1, done.output()
    assert "Traceback" not in done.stdout + done.stderr
    assert expected in lines[0], done.output()


def test_argparse_error_is_one_line(tmp_path: Path) -> None:
    done = benchctl("run", "steady", "--rate", "nan", cwd=tmp_path)
    assert_one_line(done, "benchctl run: error: argument --rate: must be a finite number")
    assert done.stderr.strip().endswith("(see `benchctl run --help`)")


def test_non_utf8_scenario_file(tmp_path: Path) -> None:
    (tmp_path / "binary.yaml").write_bytes(b"kind: steady\nrate: 50\n\xff\xfe\x00garbage\n")
    done = benchctl("run", "binary.yaml", "--dry-run", cwd=tmp_path)
    assert_one_line(done, "benchctl: error: binary.yaml:3: not UTF-8 text (byte 0xff)")


def test_rate_from_the_command_line_is_blamed_on_the_flag(tmp_path: Path) -> None:
    done = benchctl("run", "steady", "--set", "rate=-5", "--dry-run", cwd=tmp_path)
    assert_one_line(done, "benchctl run: error: argument --set: rate (for ")


def test_json_array_payload_fails_the_run_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "array.json").write_text("[1, 2, 3]\n")
    (tmp_path / "t.yaml").write_text(
        f"kind: kserve\nurl: {CLOSED}\nprotocol: rest-v2\nmodel: mlp\n"
        "payload:\n  source: file\n  file: array.json\n"
    )
    done = benchctl(
        "run", "steady", "--target", "t.yaml", "--no-preflight", "--rate", "5",
        "--duration", "2s", "--set", "warmup=0s", cwd=tmp_path, timeout=120,
    )  # fmt: skip
    assert_one_line(done, "array.json: a .json payload must be a JSON object")
    if done.run_dir is not None:  # a run directory, if made, is never left "running"
        assert json.loads((done.run_dir / "run.json").read_text())["status"] != "running"


def test_0d_npy_payload_is_refused(tmp_path: Path) -> None:
    np.save(tmp_path / "scalar.npy", np.float32(3))
    (tmp_path / "t.yaml").write_text(
        f"kind: kserve\nurl: {CLOSED}\nprotocol: rest-v2\nmodel: mlp\n"
        "payload:\n  source: file\n  file: scalar.npy\n"
    )
    done = benchctl(
        "run", "steady", "--target", "t.yaml", "--no-preflight", "--rate", "5",
        "--duration", "2s", "--set", "warmup=0s", "--abort-after", "0", cwd=tmp_path,
        timeout=120,
    )  # fmt: skip
    assert_one_line(done, "scalar.npy: holds a single value (shape ())")


def test_runs_lists_a_damaged_run_beside_the_others(tmp_path: Path) -> None:
    (tmp_path / "runs" / "bin").mkdir(parents=True)
    (tmp_path / "runs" / "bin" / "run.json").write_bytes(b"\xff\xfe garbage")
    done = benchctl("runs", cwd=tmp_path)
    assert done.returncode == 0, done.output()
    assert "damaged: bin: runs/bin/run.json: damaged: not UTF-8 text" in done.stdout


def test_an_unset_header_variable_is_refused_before_anything_is_launched(tmp_path: Path) -> None:
    """``Authorization: Bearer ${VAR}`` with VAR unset, in a run, a split and a capacity
    search with ``--launch``: one line naming the header, the variable and the fix, exit 2,
    no run directory, no server launched (it launched KServe and left a failed run)."""
    header = "headers.Authorization=Bearer ${BENCHCTL_TEST_NOT_SET}"
    for args in (
        ["run", "steady", "--target", "kserve", "--launch", "--target-set", header],
        ["run", "steady", "--target", "kserve", "--split", "kserve=50,triton=50", "--launch",
         "--target-set", header],
        ["run", "capacity", "--target", "kserve", "--launch", "--slo", "p99<=100ms",
         "--target-set", header],
    ):  # fmt: skip
        done = benchctl(*args, cwd=tmp_path, timeout=60)
        assert_one_line(
            done, "header Authorization: environment variable BENCHCTL_TEST_NOT_SET is not set"
        )
        assert "--target-set headers.Authorization=..." in done.stderr
        assert done.run_dir is None and "launching" not in done.stdout, done.output()


def test_slo_on_a_batch_is_one_line_before_anything_is_launched(tmp_path: Path) -> None:
    """``run batch --slo``: an offline batch has no latency SLO to size for; one line, exit
    2, nothing launched (it ran a minutes-long capacity search and printed a capacity)."""
    done = benchctl(
        "run", "batch", "--target", "kserve", "--launch", "--slo", "p99<=50ms",
        cwd=tmp_path, timeout=60,
    )  # fmt: skip
    assert_one_line(done, "argument --slo: needs an arrival-rate scenario")
    assert "batch is an offline batch" in done.stderr and done.run_dir is None
