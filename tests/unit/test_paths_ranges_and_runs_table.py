"""Known answers for the trust leftovers of earlier trials: spec paths stored absolute and
blamed on where they were given, numeric flags refused with the bound they crossed, and
``benchctl runs`` whose status, numbers and flags are never hidden at 80 columns and whose
rows are never wrapped off a terminal."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
from rich.console import Console

from benchctl import arguments
from benchctl.config import load_scenario, load_target
from benchctl.errors import InputError
from benchctl.reports.terminal.console import PipeConsole
from benchctl.reports.terminal.listings import print_runs
from benchctl.specs.path_fields import GivenPath, anchor_paths
from tests.unit.run_files import target_beside_payload


@pytest.fixture()
def cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh working directory, as a user has it."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


# ------------------------------------------------------------------------------ paths


def test_anchor_paths_makes_every_path_absolute_and_says_where_it_came_from(cwd: Path) -> None:
    """A file's path against the file's folder (line from the YAML), a flag's against the
    current folder, a model mix's per-model payload file too (it was left relative)."""
    data = {
        "payload": {"file": "body.json"},
        "models": [{"name": "a"}, {"name": "b", "payload": {"file": "b.npy"}}],
        "tls": {"ca_file": "./ca.pem"},
    }
    lines = {("payload", "file"): 4, ("models", 1, "payload", "file"): 9}
    origins = {("tls", "ca_file"): "--target-set tls.ca_file"}
    fields = [
        ("payload", "file"),
        ("models", "*", "payload", "file"),
        ("tls", "ca_file"),
        ("tls", "key_file"),
    ]
    given = anchor_paths(data, fields, Path("prof/t.yaml"), lines, origins)
    assert data["payload"]["file"] == str((cwd / "prof" / "body.json").resolve())
    assert data["models"][1]["payload"]["file"] == str((cwd / "prof" / "b.npy").resolve())
    assert data["tls"]["ca_file"] == str((cwd / "ca.pem").resolve())
    assert given == {
        ("payload", "file"): GivenPath("body.json", "prof/t.yaml:4: field 'payload.file'"),
        ("models", "1", "payload", "file"): GivenPath(
            "b.npy", "prof/t.yaml:9: field 'models.1.payload.file'"
        ),
        ("tls", "ca_file"): GivenPath("./ca.pem", "--target-set tls.ca_file=./ca.pem"),
    }


def test_a_section_set_whole_on_the_command_line_is_the_current_folders(cwd: Path) -> None:
    data = {"tls": {"ca_file": "ca.pem"}}
    given = anchor_paths(data, [("tls", "ca_file")], Path("t.yaml"), {}, {("tls",): "--x tls"})
    assert data["tls"]["ca_file"] == str((cwd / "ca.pem").resolve())
    assert given[("tls", "ca_file")].where == "--x tls: field 'tls.ca_file'"


def test_loaded_specs_keep_absolute_paths(cwd: Path) -> None:
    """The mix's per-model payload file written in the profile is read beside it (not in
    the current folder, which has a file of the same name)."""
    target_beside_payload(
        cwd,
        "prof/mix.yaml",
        "b.json",
        "kind: kserve\nmodels:\n  - {name: a}\n"
        "  - {name: b, payload: {source: file, file: b.json}}\n",
    )
    target, _ = load_target("prof/mix.yaml")
    assert target.models[1].payload.file == (cwd / "prof" / "b.json").resolve()
    (cwd / "t.csv").write_text("time\n0\n")
    scenario, _ = load_scenario("replay", overrides=["trace=t.csv"])
    assert scenario.trace == (cwd / "t.csv").resolve()


def test_a_mix_payload_file_that_is_missing_names_line_and_field(cwd: Path) -> None:
    (cwd / "mix.yaml").write_text(
        "kind: kserve\nmodels:\n  - {name: a}\n"
        "  - {name: b, payload: {source: file, file: gone.json}}\n"
    )
    with pytest.raises(InputError) as caught:
        load_target("mix.yaml")
    gone = (cwd / "gone.json").resolve()
    assert str(caught.value).endswith(
        f"field 'models.1.payload.file': gone.json ({gone}): no such file"
    )


# ------------------------------------------------------------------------ numeric flags


@pytest.mark.parametrize(
    ("parse", "text", "message"),
    [
        (arguments.users, "0", "must be >= 1, got '0'"),
        (arguments.users, "10000001", "must be <= 10,000,000, got '10000001'"),
        (arguments.count, "1025", "must be <= 1,024, got '1025'"),
        (arguments.positive_count, "0", "must be >= 1, got '0'"),
        (arguments.users, "1.5", "expected a whole number, got '1.5'"),
        (arguments.length, "0s", "must be > 0 (e.g. 90s, 10m), got '0s'"),
        (arguments.length, "-3s", "'-3s': a duration cannot be negative"),
        (arguments.price, "0/h", "must be > 0 (e.g. 2.48/h), got '0/h'"),
        (arguments.p_value, "1", "must be in (0, 1), e.g. 0.001; got '1'"),
        (arguments.p_value, "nan", "must be a finite number, got 'nan'"),
    ],
)
def test_numeric_flags_name_the_bound_crossed(parse, text: str, message: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError) as caught:
        parse(text)
    assert str(caught.value) == message


def test_numeric_flags_accept_their_whole_range() -> None:
    assert arguments.users("1") == 1 and arguments.users("10000000") == 10_000_000
    assert arguments.count("0") == 0 and arguments.count("1024") == 1024
    assert arguments.length("90s") == "90s"  # kept as given: the scenario field reads it
    assert arguments.price("2.48/h") == "2.48/h"
    assert arguments.p_value("0.001") == 0.001


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("launch.workers", "100000"),
        ("launch.hidden_width", "1000000"),
        ("launch.repeat", "1000000"),
        ("grpc.max_receive_message_bytes", "3000000000"),
    ],
)
def test_launch_and_grpc_sizes_have_upper_bounds(cwd: Path, field: str, value: str) -> None:
    """Each was unbounded: 100,000 server processes, a 10^12-float layer, a C int overflow
    inside gRPC."""
    with pytest.raises(InputError) as caught:
        load_target("kserve", overrides=[f"{field}={value}"])
    assert str(caught.value).startswith(f"--target-set {field} (for ")
    assert "less than or equal to" in str(caught.value)


# ------------------------------------------------------------------------- runs table

LONG = "20261130T093000Z-replay-kserve-grpc-with-a-rather-long-name"
# requests 4,000: 400 dropped = 10.0%, 120 errors = 3.0%
TROUBLED = {
    "requests": 4000, "errors": 120, "dropped": 400, "throughput_rps": 1234.5,
    "latency_ms": {"p50": 12.3, "p99": 1234.5},
}  # fmt: skip
ROWS = [
    (LONG, {"status": "interrupted", "generator": {"saturated": True}}, TROUBLED),
    (LONG + "-2", {"status": "completed"}, {**TROUBLED, "errors": 0, "dropped": 0}),
]


def test_runs_table_on_an_80_column_terminal_shows_every_flag_whole() -> None:
    console = Console(width=80, record=True, color_system=None)
    print_runs(console, ROWS, "runs")
    text = console.export_text()
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "…" not in text
    for cell in ("interrupted", "completed", "4,000", "1,234.5", "12.3", "120", "400"):
        assert cell in text, text
    for flag in ("10.0% dropped", "3.0% errors", "saturated"):  # each whole on a line
        assert any(flag in line for line in text.splitlines()), text


def test_runs_table_off_a_terminal_keeps_each_row_on_one_line() -> None:
    """A pipe with COLUMNS=80 (the console command_console makes: 120 columns, lines
    unwrapped): each run is one line holding its whole name, status, numbers and flags."""
    console = PipeConsole(width=120, record=True, color_system=None, unwrapped_lines=True)
    print_runs(console, ROWS, "runs")
    lines = console.export_text().splitlines()
    first = next(line for line in lines if LONG + " " in line)
    assert first.split() == [
        LONG, "interrupted", "4,000", "1,234.5", "12.3", "1,234.5", "120", "400",
        "10.0%", "dropped,", "3.0%", "errors,", "saturated",
    ]  # fmt: skip
    second = next(line for line in lines if LONG + "-2" in line)
    assert second.split()[:2] == [LONG + "-2", "completed"]
    assert console.width == 120  # the console is left as it was
