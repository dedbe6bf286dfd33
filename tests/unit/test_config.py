"""Specs: file:line errors naming field and what is allowed; overrides; secrets kept out."""

from pathlib import Path

import pytest

from benchctl.config import load_scenario, load_target, redact_headers, resolve_env
from benchctl.durations import format_duration, parse_duration
from benchctl.errors import InputError


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_wrong_value_names_file_line_field_and_allowed(tmp_path: Path):
    path = write(tmp_path, "s.yaml", "kind: spike\nbase_rate: 10\nburst_multiplier: 0.5\n")
    with pytest.raises(InputError) as error:
        load_scenario(str(path))
    assert str(error.value).startswith(f"{path}:3: field 'burst_multiplier': ")
    assert "greater than 1" in str(error.value)


def test_unknown_kind_lists_kinds(tmp_path: Path):
    path = write(tmp_path, "s.yaml", "kind: burst\nrate: 1\n")
    with pytest.raises(InputError, match=r"field 'kind': must be one of steady, ramp"):
        load_scenario(str(path))


def test_misspelled_field_is_rejected_with_its_line(tmp_path: Path):
    path = write(tmp_path, "s.yaml", "kind: steady\nrate: 5\nduraton: 10s\n")
    with pytest.raises(InputError, match=r"s.yaml:3: field 'duraton': unknown field"):
        load_scenario(str(path))


def test_bad_yaml_syntax_gives_line(tmp_path: Path):
    path = write(tmp_path, "s.yaml", "kind: steady\nrate: [1, 2\nduration: 5s\n")
    with pytest.raises(InputError, match=r"s.yaml:\d+: invalid YAML"):
        load_scenario(str(path))


def test_bad_duration_says_what_is_allowed(tmp_path: Path):
    path = write(tmp_path, "s.yaml", "kind: steady\nrate: 5\nduration: ten minutes\n")
    with pytest.raises(InputError, match=r"s.yaml:3: field 'duration': .*use e.g. 30s, 10m"):
        load_scenario(str(path))


def test_unknown_scenario_name_lists_choices():
    with pytest.raises(InputError, match=r"unknown scenario 'nope': choose one of .*spike"):
        load_scenario("nope")


def test_cli_overrides_rate_duration_and_set():
    scenario, _ = load_scenario(
        "spike", rate=7, overrides=["burst_multiplier=3", "periods=1", "period=2m", "burst_at=30s"]
    )
    assert (scenario.base_rate, scenario.burst_multiplier, scenario.periods) == (7, 3, 1)
    assert scenario.period == 120
    steady, _ = load_scenario("steady", duration="90s")
    assert steady.duration == 90


def test_cross_field_problem_is_one_plain_line():
    # The rule spans fields; the line names the flag that took part.
    with pytest.raises(
        InputError,
        match=r"spike.yaml \(with --set period\): burst_at \+ rise_time .* period: .* > period 2m$",
    ):
        load_scenario("spike", overrides=["period=2m"])


def test_rate_override_refused_where_it_means_nothing():
    with pytest.raises(InputError, match="--rate does not apply to a step scenario"):
        load_scenario("step", rate=5)


def test_config_dir_overrides_builtin_by_name(tmp_path: Path):
    (tmp_path / "scenarios").mkdir()
    write(tmp_path / "scenarios", "steady.yaml", "kind: steady\nrate: 3\nduration: 1s\n")
    scenario, path = load_scenario("steady", config_dir=tmp_path)
    assert scenario.rate == 3 and path.parent == tmp_path / "scenarios"


def test_target_headers_resolve_from_env_and_are_redacted_when_literal():
    target, _ = load_target("kserve", overrides=["headers.Authorization=Bearer ${TOKEN}"])
    assert resolve_env(target.headers["Authorization"], {"TOKEN": "s3cret"}) == "Bearer s3cret"
    with pytest.raises(InputError, match="environment variable TOKEN"):
        resolve_env(target.headers["Authorization"], {})
    stored = redact_headers(
        {"Authorization": "Bearer s3cret", "X-Api-Key": "${KEY}", "X-Trace": "on"}
    )
    assert stored == {"Authorization": "<redacted>", "X-Api-Key": "${KEY}", "X-Trace": "on"}


def test_target_bad_protocol_is_one_line(tmp_path: Path):
    path = write(tmp_path, "t.yaml", "kind: kserve\nprotocol: soap\n")
    with pytest.raises(InputError, match=r"t.yaml:2: field 'protocol': .*'rest-v1'.*got 'soap'"):
        load_target(str(path))


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("10m", 600), ("1h30m", 5400), ("250ms", 0.25), (12, 12), ("1.5", 1.5)],
)
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


def test_duration_format_round_trip():
    assert format_duration(5400) == "1h30m" and format_duration(0) == "0s"
    with pytest.raises(ValueError):
        parse_duration("5 parsecs")
