"""Bad input, by kind: one stderr line naming the file or flag, exit code 2, no traceback.

Each test is one kind of mistake a user makes (a non-UTF-8 file, a non-finite number, a path
that is a file, a damaged run directory, a value that used to be accepted silently); the
assertion is the exit code and the one line that names what to fix. ``benchctl.cli.main``
runs in-process here; tests/e2e/test_bad_input_cli.py runs the installed executable.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from benchctl.cli import main
from benchctl.errors import InputError
from benchctl.store import RunDir, list_runs, read_json_file, write_atomic
from tests.unit.test_analyze import mm1_step_run

EXAMPLE_RULES = Path(__file__).resolve().parents[2] / "examples" / "gate.yaml"


def one_error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """Run ``benchctl ARGV``; assert exit 2 and exactly one stderr line; return that line."""
    code = main(argv)
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert code == 2, err
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


@pytest.fixture()
def cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh working directory (relative paths, default runs/ as a user has them)."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture()
def run(cwd: Path) -> Path:
    """A complete, readable step run (synthetic M/M/1 latencies) in ./run."""
    return mm1_step_run(cwd)


# --------------------------------------------------------------------------- command line


def test_argparse_errors_are_one_line_with_a_help_hint(cwd, capsys):
    line = one_error(["run"], capsys)
    assert line == (
        "benchctl run: error: the following arguments are required: scenario "
        "(see `benchctl run --help`)"
    )
    line = one_error(["nosuchcommand"], capsys)
    assert line.startswith("benchctl: error: argument COMMAND: invalid choice: 'nosuchcommand'")
    assert line.endswith("(see `benchctl --help`)")


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["run", "steady", "--rate", "inf"], "argument --rate: must be a finite number, got 'inf'"),
        (["run", "steady", "--rate", "1e309"], "argument --rate: must be a finite number"),
        (["run", "steady", "--rate", "-5"], "argument --rate: a rate is > 0 req/s (e.g. 50)"),
        (["run", "steady", "--rate", "1e12"], "above the 1,000,000 req/s cap: one generator"),
        (["run", "steady", "--time-scale", "nan"], "argument --time-scale: must be a finite"),
        (["run", "steady", "--time-scale", "0"], "argument --time-scale: must be > 0"),
        (["run", "steady", "--telemetry-interval", "0"], "--telemetry-interval: must be at least"),
        (["run", "steady", "--scrape-interval", "0"], "--scrape-interval: must be at least 500ms"),
        (["run", "steady", "--master-port", "99999"], "a TCP port is 1..65535, got '99999'"),
        (["run", "steady", "--workers", "-1"], "argument --workers: must be >= 0, got '-1'"),
        (["run", "steady", "--server-process", "(["], "--server-process: invalid regular exp"),
        (["run", "steady", "--config-dir", "/nonexistent"], "--config-dir: /nonexistent: no such"),
        (["analyze", "run", "--slo", "p99<=200ms", "--peak-rps", "nan"], "--peak-rps: must be a"),
        (["analyze", "run", "--slo", "p99<=200ms", "--peak-rps", "-5"], "--peak-rps: must be > 0"),
        (["analyze", "run", "--slo", "p99<=200ms", "--window", "0s"], "--window: must be at least"),
        (["analyze", "run", "--slo", "p99<=200ms", "--headroom", "1"], "--headroom: must be in"),
        (["scenarios", "--config-dir", "missing"], "--config-dir: missing: no such folder"),
    ],
)
def test_bad_flag_values_name_the_flag(cwd, capsys, argv, expected):
    line = one_error(argv, capsys)
    assert expected in line
    assert line.endswith(f"(see `benchctl {argv[0]} --help`)")


def test_server_pid_must_be_a_running_process(cwd, capsys):
    pid = 4_000_000  # above Linux's pid_max (4,194,304 at most): never a running process
    while os.path.exists(f"/proc/{pid}"):
        pid += 1
    line = one_error(["run", "steady", "--server-pid", str(pid), "--dry-run"], capsys)
    assert f"argument --server-pid: no process with id {pid} is running" in line


@pytest.mark.parametrize("slo", ["p99<200", "p99<=200"])
def test_slo_without_a_unit_is_refused(run, capsys, slo):
    line = one_error(["analyze", "run", "--slo", slo], capsys)
    needs_unit = "the bound needs a unit (ms or s), e.g. p99<=200ms"
    assert line == (
        f"benchctl analyze: error: argument --slo: '{slo}': {needs_unit} "
        "(see `benchctl analyze --help`)"
    )


def test_analyze_help_quotes_the_slo(capsys):
    assert main(["analyze", "--help"]) == 0
    out = capsys.readouterr().out
    assert '--slo "p99<=200ms"' in out
    assert "--slo p99<=" not in out  # unquoted, a shell turns it into a redirection


def test_rate_set_on_the_command_line_is_blamed_on_the_flag(cwd, capsys):
    line = one_error(["run", "steady", "--set", "rate=-5", "--dry-run"], capsys)
    assert line.startswith("benchctl run: error: argument --set: rate (for ")
    assert "field 'rate': Input should be greater than or equal to 0" in line
    assert "steady.yaml:3" not in line
    line = one_error(["run", "steady", "--duration", "1e309", "--dry-run"], capsys)
    assert line.startswith("benchctl run: error: argument --duration: ")
    assert "not a finite duration" in line


def test_traffic_must_name_a_scenario(run, capsys):
    line = one_error(["analyze", "run", "--slo", "p99<=200ms", "--traffic", "spikee"], capsys)
    assert line.startswith(
        "benchctl analyze: error: argument --traffic: unknown scenario 'spikee': choose one of"
    )
    assert not (run / "capacity.json").exists()  # refused before any work


# --------------------------------------------------------------------------- YAML files


def test_non_utf8_yaml_names_file_and_line(cwd, capsys):
    (cwd / "binary.yaml").write_bytes(b"kind: steady\nrate: 50\n\xff\xfe\x00garbage\n")
    expected = "benchctl: error: binary.yaml:3: not UTF-8 text (byte 0xff); save the file as UTF-8"
    assert one_error(["run", "binary.yaml", "--dry-run"], capsys) == expected
    assert one_error(["run", "steady", "--target", "binary.yaml", "--dry-run"], capsys) == expected
    gate = ["gate", "--baseline", ".", "--candidate", ".", "--rules", "binary.yaml"]
    assert one_error(gate, capsys) == expected


def test_yaml_alias_bomb_is_refused_quickly(cwd, capsys):
    """Nine levels of nine aliases expand to 9**10 ≈ 3.5e9 strings: refused, not expanded."""
    lines = ["kind: steady", 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    previous = "a"
    for i in range(9):
        name = chr(98 + i)
        lines.append(f"{name}: &{name} [" + ",".join([f"*{previous}"] * 9) + "]")
        previous = name
    (cwd / "bomb.yaml").write_text("\n".join([*lines, "rate: 50", "duration: 10s"]) + "\n")
    line = one_error(["run", "bomb.yaml", "--dry-run"], capsys)
    assert line.startswith("benchctl: error: bomb.yaml: YAML too large once its aliases")
    assert "at most 100,000" in line


def test_a_few_yaml_aliases_still_work(cwd, capsys):
    (cwd / "alias.yaml").write_text(
        "kind: step\nrates: &r [10, 20]\nstep_duration: 2s\nwarmup: 0s\ndescription: x\n"
    )
    assert main(["run", "alias.yaml", "--dry-run"]) == 0


@pytest.mark.parametrize("value", [".inf", ".nan", "-.inf"])
def test_non_finite_yaml_numbers_name_the_field(cwd, capsys, value):
    (cwd / "inf.yaml").write_text(f"kind: steady\nrate: {value}\nduration: 10s\nwarmup: 1s\n")
    line = one_error(["run", "inf.yaml", "--dry-run"], capsys)
    assert line.startswith("benchctl: error: inf.yaml:2: field 'rate': ")
    assert "finite" in line or "greater than or equal to 0" in line


def test_model_name_with_control_characters_is_refused(cwd, capsys):
    (cwd / "t.yaml").write_text('kind: kserve\nmodel: "a\\tb"\n')
    line = one_error(["run", "steady", "--target", "t.yaml", "--dry-run"], capsys)
    assert line.startswith("benchctl: error: t.yaml:2: field 'model': must be printable text")


# --------------------------------------------------------------------------- paths


def test_runs_dir_that_is_a_file(cwd, capsys):
    (cwd / "afile").write_text("x\n")
    line = one_error(["run", "steady", "--runs-dir", "afile"], capsys)
    assert "argument --runs-dir: afile: afile is a file, not a folder" in line


def test_gate_output_under_a_file(run, capsys):
    (run.parent / "afile").write_text("x\n")
    argv = ["gate", "--baseline", "run", "--candidate", "run", "--rules", str(EXAMPLE_RULES)]
    line = one_error([*argv, "--junit", "afile/gate.xml"], capsys)
    assert "argument --junit: afile/gate.xml: afile is a file, not a folder" in line


def test_json_array_and_0d_npy_payloads_are_refused(cwd, capsys):
    from benchctl.config import PayloadSpec
    from benchctl.targets.payload import tensors_from_file

    (cwd / "array.json").write_text("[1, 2, 3]\n")
    with pytest.raises(InputError, match=r"array.json: a .json payload must be a JSON object"):
        tensors_from_file(PayloadSpec(source="file", file=cwd / "array.json"))
    np.save(cwd / "scalar.npy", np.float32(3))
    with pytest.raises(InputError, match=r"scalar.npy: holds a single value \(shape \(\)\)"):
        tensors_from_file(PayloadSpec(source="file", file=cwd / "scalar.npy"))


# --------------------------------------------------------------------------- damaged runs


def _damage(run: Path, how: str) -> None:
    requests = run / "requests.parquet"
    if how == "truncated":
        data = requests.read_bytes()
        requests.write_bytes(data[: len(data) // 2])
    elif how == "empty":
        requests.write_bytes(b"")
    elif how == "wrong-schema":
        pq.write_table(pa.table({"foo": [1]}), requests)
    elif how == "run.json-list":
        (run / "run.json").write_text("[]\n")
    elif how == "run.json-binary":
        (run / "run.json").write_bytes(b"\xff\xfe garbage")


@pytest.mark.parametrize(
    ("how", "expected"),
    [
        ("truncated", "run/requests.parquet: damaged: not a readable Parquet file"),
        ("empty", "run/requests.parquet: damaged: not a readable Parquet file"),
        ("wrong-schema", "run/requests.parquet: damaged: lacks columns t_intended"),
        ("run.json-list", "run/run.json: damaged: expected a JSON object, got an array"),
        ("run.json-binary", "run/run.json: damaged: not UTF-8 text (byte 0xff at offset 0)"),
    ],
)
def test_analyze_a_damaged_run(run, capsys, how, expected):
    _damage(run, how)
    line = one_error(["analyze", "run", "--slo", "p99<=200ms"], capsys)
    assert line.startswith(f"benchctl: error: {expected}")


def test_report_and_gate_on_a_binary_run_json(run, capsys):
    _damage(run, "run.json-binary")
    expected = "benchctl: error: run/run.json: damaged: not UTF-8 text (byte 0xff at offset 0)"
    assert one_error(["report", "run"], capsys) == expected
    argv = ["gate", "--baseline", "run", "--candidate", "run", "--rules", str(EXAMPLE_RULES)]
    assert one_error(argv, capsys) == expected


def test_gate_candidate_without_requests_is_bad_input_not_a_regression(run, cwd, capsys):
    import shutil

    shutil.copytree(run, cwd / "noparq")
    (cwd / "noparq" / "requests.parquet").unlink()
    argv = ["gate", "--baseline", "run", "--candidate", "noparq", "--rules", str(EXAMPLE_RULES)]
    line = one_error(argv, capsys)
    assert line == (
        "benchctl: error: noparq/requests.parquet: missing: this run kept no request records"
    )


def test_report_with_garbled_summary_still_renders(run, capsys):
    (run / "summary.json").write_text('{"overall": 5')
    assert main(["report", "run"]) == 0
    page = (run / "report.html").read_text()
    assert "summary.json is damaged (" in page
    assert "the numbers below were computed from requests.parquet" in page


def test_compare_says_whose_summary_it_rebuilt(run, cwd, capsys):
    """The fixture's run has requests.parquet but no summary.json; a copy gets a damaged
    one. The comparison still works from each run's requests.parquet, and a warning per
    run (terminal and page) names the run, the file, what is wrong with it and what was
    done instead."""
    import shutil

    shutil.copytree(run, cwd / "garbled")
    (cwd / "garbled" / "summary.json").write_text('{"overall": 5')
    assert main(["compare", "run", "garbled", "-o", "c.html"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "garbled: summary.json is damaged (" in out
    assert "its numbers were computed from requests.parquet" in out
    assert "run: summary.json is absent: its numbers were computed from" in out
    assert "garbled: summary.json is damaged (" in (cwd / "c.html").read_text()


def test_one_damaged_run_does_not_hide_the_others(run, cwd, capsys):
    import shutil

    folder = cwd / "folder"
    shutil.copytree(run, folder / "ok")
    (folder / "bin").mkdir()
    (folder / "bin" / "run.json").write_bytes(b"\xff\xfe garbage")
    assert main(["runs", "--runs-dir", "folder"]) == 0
    out = capsys.readouterr().out
    assert "ok" in out and "completed" in out
    assert "damaged: bin: folder/bin/run.json: damaged: not UTF-8 text" in out
    statuses = {r.name: info["status"] for r, info in list_runs(folder)}
    assert statuses == {"bin": "damaged", "ok": "completed"}
    assert main(["history", "folder", "-o", "h.html"]) == 0


# --------------------------------------------------------------------------- symlinks


def test_analyze_and_report_never_write_through_planted_symlinks(run, cwd, capsys):
    outside = cwd / "outside"
    outside.mkdir()
    for name in ("auto", "report", "cap"):
        (outside / name).write_text("ORIGINAL\n")
    (run / "autoscale.parquet").symlink_to(outside / "auto")
    (run / "report.html").symlink_to(outside / "report")
    (run / ".capacity.json.tmp").symlink_to(outside / "cap")  # the old fixed temp name
    (run / "manifests").symlink_to(outside, target_is_directory=True)

    line = one_error(["analyze", "run", "--slo", "p99<=200ms", "--peak-rps", "500"], capsys)
    assert "is a symbolic link" in line and "run/" in line
    line = one_error(["report", "run"], capsys)
    assert line == (
        "benchctl: error: run/report.html: is a symbolic link; refusing to write through it"
    )
    assert {p.name for p in outside.iterdir()} == {"auto", "report", "cap"}
    for name in ("auto", "report", "cap"):
        assert (outside / name).read_text() == "ORIGINAL\n"


def test_atomic_writer_refuses_links_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "elsewhere"
    target.write_text("keep\n")
    link = tmp_path / "out.txt"
    link.symlink_to(target)
    with pytest.raises(InputError, match="is a symbolic link; refusing to write through it"):
        write_atomic(link, "new")
    assert target.read_text() == "keep\n"
    plain = tmp_path / "plain.json"
    write_atomic(plain, "{}\n")
    assert plain.read_text() == "{}\n"
    assert oct(plain.stat().st_mode & 0o777) == "0o644"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["elsewhere", "out.txt", "plain.json"]


def test_run_dir_writes_refuse_a_symlinked_subfolder(tmp_path):
    run = RunDir(tmp_path / "run")
    run.path.mkdir()
    (tmp_path / "outside").mkdir()
    (run.path / "manifests").symlink_to(tmp_path / "outside", target_is_directory=True)
    with pytest.raises(InputError, match="manifests: is a symbolic link"):
        run.write_text("manifests/hpa.yaml", "x")
    with pytest.raises(InputError, match="manifests: is a symbolic link"):
        run.mkdir("manifests")
    assert list((tmp_path / "outside").iterdir()) == []


def test_read_json_file_says_what_is_wrong(tmp_path):
    path = tmp_path / "x.json"
    path.write_text('{"a": 1')
    with pytest.raises(InputError, match=r"x.json:1: damaged: invalid JSON"):
        read_json_file(path)
    path.write_text(json.dumps([1]))
    with pytest.raises(InputError, match="expected a JSON object, got an array"):
        read_json_file(path)


# --------------------------------------------------------------------------- warm-up


def test_short_steady_run_just_works_with_a_proportionate_warmup(cwd, capsys):
    assert main(["run", "steady", "--duration", "10s", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "warm-up cut from 10s to 5s: at most half of the first phase 'steady'" in out
    assert "phases: warmup 0s–5s, steady 5s–10s" in out


def test_warmup_never_eats_the_first_step_or_c1(cwd, capsys):
    assert main(["run", "step", "--set", "step_duration=10s", "--dry-run"]) == 0
    assert "warmup 0s–5s, step1@25rps 5s–10s" in capsys.readouterr().out
    assert main(["run", "sweep", "--set", "hold=4s", "--dry-run"]) == 0
    assert "warmup 0s–2s, c=1 2s–4s" in capsys.readouterr().out


# --------------------------------------------------------------------------- listings


def test_targets_shows_the_grpc_address_for_grpc_targets(capsys):
    from benchctl.config import available, load_target

    assert main(["targets"]) == 0
    out = capsys.readouterr().out
    for name, path in available("targets").items():
        target, _ = load_target(str(path))
        if "grpc" in target.protocol:
            assert target.grpc_address in out, name


def test_targets_and_scenarios_tables_are_whole_at_80_columns():
    import argparse

    from rich.console import Console

    from benchctl.commands.scenarios import run_from_args as cmd_scenarios
    from benchctl.commands.targets import run_from_args as cmd_targets

    console = Console(width=80, record=True)
    cmd_targets(argparse.Namespace(config_dir=None), console)
    cmd_scenarios(argparse.Namespace(config_dir=None), console)
    text = console.export_text()
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "…" not in text  # long cells wrap, nothing is cut


def test_runs_table_fits_80_columns(run, cwd):
    from rich.console import Console

    from benchctl.reports.terminal.listings import runs_table

    long = "20261129T182343Z-steady-kserve-grpc-with-a-long-name"
    summary = {"requests": 123456, "throughput_rps": 1234.5, "errors": 7}
    summary["latency_ms"] = {"p50": 12.3, "p99": 1234.5}
    table, _ = runs_table([(long, {"status": "interrupted"}, summary)] * 2, title="runs in runs/")
    console = Console(width=80, record=True)
    console.print(table)
    text = console.export_text()
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "…" not in text  # nothing cut: the name wraps, the numbers stay whole
    for cell in ("123,456", "1,234.5", "12.3", "interrupted"):
        assert cell in text


def test_worker_master_port_out_of_range(capsys):
    line = one_error(["worker", "--master", "10.0.0.5:99999"], capsys)
    assert line.startswith(
        "benchctl worker: error: argument --master: '10.0.0.5:99999': expected HOST:PORT"
    )


def test_target_set_and_cross_field_rules_name_the_flag(cwd, capsys):
    line = one_error(["run", "steady", "--target-set", "url=ftp://x", "--dry-run"], capsys)
    assert line.startswith("benchctl run: error: argument --target-set: url (for ")
    assert "field 'url': url must look like http://host:port, got 'ftp://x'" in line
    line = one_error(["run", "spike", "--set", "burst_length=20m", "--dry-run"], capsys)
    assert "spike.yaml (with --set burst_length): burst_at + rise_time" in line
    line = one_error(["run", "steady", "--set", "warmup=-1s", "--dry-run"], capsys)
    assert line.endswith(
        "field 'warmup': '-1s': a duration cannot be negative (see `benchctl run --help`)"
    )


def test_gate_table_is_whole_at_80_columns(run):
    from rich.console import Console

    from benchctl.analysis.gate import gate
    from benchctl.reports.terminal.gate import gate_table

    result = gate(baseline=run, candidate=run, rules=EXAMPLE_RULES, last=None)
    console = Console(width=80, record=True)
    console.print(gate_table(result))
    text = console.export_text()
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "…" not in text  # "inconclusive", "generator_saturated" are never cut
    assert all(rule.verdict in text for rule in result.rules)


def test_history_table_is_whole_at_80_columns(run, cwd):
    import shutil

    from rich.console import Console

    from benchctl.reports.history import load_history
    from benchctl.reports.terminal.history import history_table

    shutil.copytree(run, cwd / "nightly" / "20261129T182343Z-step-kserve-grpc-long-name")
    console = Console(width=80, record=True)
    console.print(history_table(load_history(cwd / "nightly")))
    text = console.export_text()
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "…" not in text
    assert "completed" in text and "step" in text


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        (("plan", "duration"), float("nan"),
         "field 'plan.duration' must be a finite number, got nan"),
        (("plan", "curve"), "oops", "field 'plan.curve' must be a list, got 'oops'"),
        (("scenario",), [], "field 'scenario' must be an object, got []"),
        (("scenario", "name"), 12345, "field 'scenario.name' must be text, got 12345"),
        (("counts",), {"sent": "x"}, "field 'counts.sent' must be a number >= 0, got 'x'"),
    ],
)  # fmt: skip
def test_a_run_json_field_of_the_wrong_kind_is_one_line_in_every_command(
    run, cwd, capsys, field, value, expected
):
    """run.json that is JSON but holds NaN, a string or a list where a command reads a number
    or an object (each gave a traceback in analyze, compare, gate or telemetry): every
    command names the file and the field; ``runs`` lists the run as damaged."""
    import json
    import shutil

    shutil.copytree(run, cwd / "good")
    info = json.loads((run / "run.json").read_text())
    section = info
    for key in field[:-1]:
        section = section[key]
    section[field[-1]] = value
    (run / "run.json").write_text(json.dumps(info))
    line = f"benchctl: error: run/run.json: damaged: {expected}"
    assert one_error(["analyze", "run", "--slo", "p99<=200ms"], capsys) == line
    assert one_error(["report", "run"], capsys) == line
    assert one_error(["telemetry", "run"], capsys) == line
    assert one_error(["compare", "good", "run", "-o", "c.html"], capsys) == line
    argv = ["gate", "--baseline", "good", "--candidate", "run", "--rules", str(EXAMPLE_RULES)]
    assert one_error(argv, capsys) == line
    (cwd / "runs").mkdir()
    shutil.move(run, cwd / "runs" / "run")
    assert main(["runs"]) == 0
    out = capsys.readouterr().out
    assert "damaged" in out and expected in " ".join(out.split())


@pytest.mark.parametrize("content", [b"", b"PAR1 not parquet at all", b"\xff\xfe garbage"])
def test_analyze_with_a_damaged_telemetry_parquet_is_one_line(run, capsys, content):
    """analyze joins telemetry.parquet to its windows: an empty, truncated or garbage file
    was an ArrowInvalid traceback; it names the file like a damaged requests.parquet."""
    (run / "telemetry.parquet").write_bytes(content)
    line = one_error(["analyze", "run", "--slo", "p99<=200ms"], capsys)
    assert line.startswith("benchctl: error: run/telemetry.parquet: damaged: not a readable")
