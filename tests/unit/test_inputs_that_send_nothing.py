"""Inputs that would send nothing, paths resolved against the wrong folder, hints naming
fields that do not exist, and error lines that said the wrong thing (fresh-user trial 4).
Each case: one stderr line naming the flag or file, the field and what is allowed; exit 2."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from benchctl import arguments
from benchctl.cli import main
from benchctl.config import load_scenario, load_target
from benchctl.errors import InputError
from benchctl.rundir import RunDir
from benchctl.specs.scenarios import SCENARIO_KINDS
from tests.unit.run_files import target_beside_payload
from tests.unit.test_bad_input import one_error


@pytest.fixture()
def cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh working directory, as a user has it."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


# --------------------------------------------------------------------- zero rate / duration


@pytest.mark.parametrize("text", ["0", "0.0", "-5"])
def test_rate_flag_is_above_zero(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match=r"a rate is > 0 req/s \(e.g. 50\)"):
        arguments.rate(text)
    assert arguments.rate("0.5") == 0.5


@pytest.mark.parametrize(
    ("name", "overrides", "expected"),
    [
        ("steady", ["rate=0"], "--set rate (for "),
        ("soak", ["rate=0"], "--set rate (for "),
        ("spike", ["base_rate=0"], "--set base_rate (for "),
        ("steady", ["duration=0s"], "--set duration (for "),
        ("step", ["step_duration=0"], "--set step_duration (for "),
        ("sweep", ["hold=0"], "--set hold (for "),
        ("spike", ["period=0"], "--set period (for "),
    ],
)
def test_zero_rate_or_length_set_on_the_command_line_names_the_flag(
    cwd: Path, name: str, overrides: list[str], expected: str
) -> None:
    with pytest.raises(InputError) as caught:
        load_scenario(name, overrides=overrides)
    assert str(caught.value).startswith(expected), caught.value
    assert "greater than 0" in str(caught.value)


def test_ramp_and_step_need_some_rate_but_may_start_at_zero(cwd: Path) -> None:
    with pytest.raises(InputError, match="start_rate and end_rate are both 0"):
        load_scenario("ramp", overrides=["start_rate=0", "end_rate=0"])
    with pytest.raises(InputError, match="every one of rates is 0"):
        load_scenario("step", overrides=["rates=[0,0]"])
    with pytest.raises(InputError, match=r"ramp_time \+ hold is 0"):
        load_scenario("ramp", overrides=["ramp_time=0", "hold=0"])
    ramp, _ = load_scenario("ramp", overrides=["start_rate=0", "end_rate=10"])
    assert (ramp.start_rate, ramp.end_rate) == (0.0, 10.0)
    step, _ = load_scenario("step", overrides=["rates=[0,10]"])
    assert step.rates == [0.0, 10.0]


def test_zero_rate_written_in_a_file_names_file_and_line(cwd: Path) -> None:
    (cwd / "s.yaml").write_text("kind: steady\nrate: 0\nduration: 10s\n")
    with pytest.raises(InputError, match=r"^s\.yaml:2: field 'rate': .*greater than 0"):
        load_scenario("s.yaml")


def test_duration_zero_names_the_flag(cwd: Path, capsys: pytest.CaptureFixture[str]) -> None:
    line = one_error(["run", "steady", "--duration", "0", "--dry-run"], capsys)
    assert line == (
        "benchctl run: error: argument --duration: must be > 0 (e.g. 90s, 10m), got '0' "
        "(see `benchctl run --help`)"
    )
    line = one_error(["run", "steady", "--rate", "0", "--dry-run"], capsys)
    assert line.startswith("benchctl run: error: argument --rate: a rate is > 0 req/s")


# --------------------------------------------------------------------------- --rate hints

# Each hint's example fields, per kind: they must be fields of that kind.
HINT_FIELDS = {
    "step": ["rates"],
    "sweep": ["levels", "max_concurrency"],
    "batch": ["concurrency", "batch_sizes"],
}


@pytest.mark.parametrize("kind", ["step", "sweep", "replay", "batch"])
def test_rate_hint_names_fields_of_that_kind(cwd: Path, kind: str) -> None:
    from benchctl.specs import scenarios as models

    with pytest.raises(InputError) as caught:
        load_scenario(kind, rate=5)
    text = str(caught.value)
    assert text.startswith(f"--rate does not apply to a {kind} scenario: ")
    model = {
        "step": models.StepScenario,
        "sweep": models.SweepScenario,
        "replay": models.ReplayScenario,
        "batch": models.BatchScenario,
    }[kind]
    for field in HINT_FIELDS.get(kind, []):
        assert field in model.model_fields
        assert f"{field}=" in text
    if kind == "replay":
        assert "--time-scale" in text and "rates=" not in text
    assert kind in SCENARIO_KINDS


# ----------------------------------------------------------------------------- paths


def test_trace_given_on_the_command_line_is_relative_to_the_current_folder(cwd: Path) -> None:
    (cwd / "good.csv").write_text("time\n0.1\n0.5\n")
    scenario, _ = load_scenario("replay", overrides=["trace=./good.csv"])
    assert Path(scenario.trace) == (cwd / "good.csv").resolve()  # stored absolute


def test_trace_written_in_a_file_is_relative_to_that_file(cwd: Path) -> None:
    (cwd / "sub").mkdir()
    (cwd / "sub" / "r.yaml").write_text("kind: replay\ntrace: t.csv\n")
    (cwd / "sub" / "t.csv").write_text("time\n0.1\n")
    scenario, _ = load_scenario("sub/r.yaml")
    assert Path(scenario.trace) == (cwd / "sub" / "t.csv").resolve()
    builtin, path = load_scenario("replay")
    assert Path(builtin.trace) == (path.parent / "traces" / "example-rates.csv").resolve()


def test_payload_file_follows_the_same_rule(cwd: Path) -> None:
    """A payload.file written in a target file is read beside that file, even when a file
    of that name is in the current folder; one given with --target-set is the current
    folder's."""
    target_beside_payload(
        cwd,
        "sub/t.yaml",
        "body.json",
        "kind: kserve\nurl: http://127.0.0.1:9\nprotocol: rest-v2\nmodel: mlp\n"
        "payload:\n  source: file\n  file: body.json\n",
    )
    target, _ = load_target("sub/t.yaml")
    assert target.payload.file == (cwd / "sub" / "body.json").resolve()
    target, _ = load_target("sub/t.yaml", overrides=["payload.file=body.json"])
    assert target.payload.file == (cwd / "body.json").resolve()


# ----------------------------------------------------------------------- error lines


def test_a_folder_given_as_scenario(cwd: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (cwd / "adir").mkdir()
    for given in ("./adir", "adir"):
        line = one_error(["run", given, "--dry-run"], capsys)
        assert (
            line == f"benchctl: error: {given}: is a folder, not a scenario file (give a YAML file)"
        )
    (cwd / "steady").mkdir()  # a folder named like a built-in does not hide it
    assert main(["run", "steady", "--rate", "5", "--duration", "2s", "--dry-run"]) == 0


def test_run_directory_errors_say_what_is_there(cwd: Path) -> None:
    (cwd / "adir").mkdir()
    (cwd / "afile").write_text("x")
    cases = {
        "nosuchdir": "nosuchdir: no such folder; give a run directory (see `benchctl runs`)",
        "afile": "afile: is a file, not a run directory (see `benchctl runs`)",
        "adir": "adir: not a run directory (no run.json); see `benchctl runs`",
    }
    for given, expected in cases.items():
        with pytest.raises(InputError) as caught:
            RunDir.open(given)
        assert str(caught.value) == expected


def test_unknown_optional_field_gets_a_suggestion(cwd: Path) -> None:
    (cwd / "s.yaml").write_text("kind: steady\nrate: 5\nduration: 2s\nwarmpu: 1s\n")
    with pytest.raises(InputError, match=r"^s\.yaml:4: field 'warmpu': .*did you mean 'warmup'"):
        load_scenario("s.yaml")


def test_gate_rule_typo_and_rules_folder(cwd: Path) -> None:
    from benchctl.analysis.gate.rules import load_rules

    (cwd / "r.yaml").write_text("rules:\n  - metric: p99_ms\n    max_incrase: 10%\n")
    with pytest.raises(InputError) as caught:
        load_rules(cwd / "r.yaml")
    assert str(caught.value).startswith(
        f"{cwd / 'r.yaml'}:3: field 'rules.0.max_incrase': unknown field "
        "(did you mean 'max_increase'?)"
    )
    (cwd / "adir").mkdir()
    with pytest.raises(InputError, match="adir: is a folder, not a YAML file"):
        load_rules(cwd / "adir")


@pytest.mark.parametrize(
    "argv",
    [
        ["report", "nosuch", "-o", "missing/r.html"],
        ["compare", "a", "b", "-o", "missing/r.html"],
        ["history", ".", "-o", "missing/r.html"],
        ["history", ".", "--json", "missing/r.html"],
        # --junit first: argparse checks values in order, and gate's run folders (a, b)
        # and rules file (r) do not exist either
        [
            "gate",
            "--junit",
            "missing/r.html",
            "--baseline",
            "a",
            "--candidate",
            "b",
            "--rules",
            "r",
        ],
    ],
)
def test_output_file_in_a_missing_folder_is_refused(
    cwd: Path, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    line = one_error(argv, capsys)
    flag = "-o/--output" if "-o" in argv else argv[argv.index("missing/r.html") - 1]
    assert f"error: argument {flag}: missing/r.html: no such folder missing; make it" in line
    assert not (cwd / "missing").exists()


# ----------------------------------------------------------------------------- --help


def _subparsers() -> dict[str, argparse.ArgumentParser]:
    from benchctl.cli import build_parser

    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def test_every_option_of_every_command_is_described() -> None:
    undescribed = [
        f"{name} {action.option_strings or action.dest}"
        for name, sub in _subparsers().items()
        for action in sub._actions
        if not action.help and not isinstance(action, argparse._HelpAction)
    ]
    assert undescribed == []


@pytest.mark.parametrize("name", ["report", "compare", "history", "telemetry", "gate"])
def test_help_has_examples(name: str) -> None:
    text = _subparsers()[name].format_help()
    assert "\nexample" in text
    assert f"  benchctl {name} " in text.split("\nexample", 1)[1]


def test_help_names_run_at_arm_and_the_default_of_last() -> None:
    parsers = _subparsers()
    for name in ("compare", "gate"):
        assert "RUN@ARM" in parsers[name].format_help()
    gate_help = " ".join(parsers["gate"].format_help().split())
    assert "--last K with a folder as --baseline: pool its last K usable runs (default: " in (
        gate_help
    )
    assert "5 unless set" in gate_help


@pytest.mark.parametrize("kind", SCENARIO_KINDS)
def test_every_rate_or_duration_hint_names_fields_of_its_kind(cwd: Path, kind: str) -> None:
    """Whatever --rate or --duration says for a kind it does not apply to, each ``--set
    FIELD=`` it suggests is a field of that kind."""
    import re
    import typing

    from benchctl.specs import scenarios as models

    (cls,) = [
        c
        for c in vars(models).values()
        if isinstance(c, type)
        and issubclass(c, models.Spec)
        and typing.get_args(c.model_fields.get("kind") and c.model_fields["kind"].annotation)
        == (kind,)
    ]
    hints = []
    for given in ({"rate": 5.0}, {"duration": "10s"}):
        try:
            load_scenario(kind, **given)
        except InputError as exc:
            hints.append(str(exc))
    for hint in hints:
        for field in re.findall(r"--set '?(\w+)=", hint):
            assert field in cls.model_fields, (kind, hint)
