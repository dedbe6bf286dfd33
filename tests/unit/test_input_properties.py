"""Property: whatever a user writes into a scenario or target file, or onto the command line,
benchctl either accepts it (exit 0) or refuses it with exactly one stderr line and exit 2;
never a traceback, never another exit code.

The built-in scenario and target YAML files are mutated (a field set to a hostile value,
deleted, an unknown field added, bytes spliced into the text) and the command-line values of
``run`` and ``analyze`` are drawn from numbers, durations and text that include inf, nan,
1e309, negatives, zero and garbage. Everything runs with ``--dry-run`` or fails before any
traffic, so no network is used. ``benchctl.cli.main`` runs in-process for speed; a few
examples also go through the installed executable (tests/e2e/test_bad_input_cli.py).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchctl.cli import main
from benchctl.config import builtin_dir

SCENARIOS = sorted(p for p in builtin_dir("scenarios").glob("*.yaml"))
TARGETS = sorted(p for p in builtin_dir("targets").glob("*.yaml"))
PROPERTY = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,  # the same examples on every run: a failure is reproducible in CI
)

numbers = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, -1, 1e309, -1e309, 1e12, 1e-12, 2**63, -(2**63)]),
)
durations = st.one_of(
    st.sampled_from(["0s", "-1s", "1e309s", "nan", "inf", "10s", "250ms", "1h30m", "1x", ""]),
    st.from_regex(r"-?[0-9]{0,12}(\.[0-9]{0,4})?(ms|s|m|h|d|x)?", fullmatch=True),
)
texts = st.text(max_size=30)
scalars = st.one_of(numbers, durations, texts, st.booleans(), st.none())
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


def check(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """The property itself."""
    code = main(argv)
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err + captured.out, captured.err
    if code == 0:
        return
    lines = captured.err.strip().splitlines()
    assert code == 2, f"{argv}: exit {code}: {captured.err}"
    assert len(lines) == 1, f"{argv}: {captured.err}"
    assert lines[0].startswith("benchctl"), lines[0]


def _leaf_paths(data: Any, prefix: tuple = ()) -> list[tuple]:
    paths = [prefix] if prefix else []
    if isinstance(data, dict):
        for key, value in data.items():
            paths += _leaf_paths(value, (*prefix, key))
    return paths


def _set(data: dict, path: tuple, value: Any) -> None:
    node = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value


def _delete(data: dict, path: tuple) -> None:
    node = data
    for key in path[:-1]:
        node = node[key]
    del node[path[-1]]


@st.composite
def mutated_yaml(draw: st.DrawFn, files: list[Path]) -> bytes:
    """One built-in file with one or two mutations, as the bytes a user would save."""
    source = draw(st.sampled_from(files))
    data = yaml.safe_load(source.read_text())
    if "trace" in data:  # keep the replay trace reachable from the temporary folder
        data["trace"] = str(source.parent / data["trace"])
    for _ in range(draw(st.integers(1, 2))):
        paths = _leaf_paths(data)
        action = draw(st.sampled_from(["set", "set", "set", "delete", "add"]))
        if action == "set" and paths:
            _set(data, draw(st.sampled_from(paths)), draw(values))
        elif action == "delete" and paths:
            _delete(data, draw(st.sampled_from(paths)))
        else:
            data[draw(st.text(min_size=1, max_size=10))] = draw(values)
    text = yaml.safe_dump(data, allow_unicode=True).encode("utf-8")
    if draw(st.booleans()) and draw(st.booleans()):  # a quarter: raw bytes spliced in
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.binary(min_size=1, max_size=6)) + text[at:]
    return text


@PROPERTY
@given(text=mutated_yaml(SCENARIOS))
def test_mutated_scenario_files(tmp_path: Path, capsys, text: bytes) -> None:
    path = tmp_path / "mutated.yaml"
    path.write_bytes(text)
    check(["run", str(path), "--dry-run", "--time-scale", "0.01"], capsys)


@PROPERTY
@given(text=mutated_yaml(TARGETS))
def test_mutated_target_files(tmp_path: Path, capsys, text: bytes) -> None:
    path = tmp_path / "mutated.yaml"
    path.write_bytes(text)
    check(["run", "steady", "--target", str(path), "--dry-run"], capsys)


def _text(value: Any) -> str:
    return repr(value) if isinstance(value, float) and not math.isfinite(value) else str(value)


run_flags = st.one_of(
    st.tuples(st.just("--rate"), numbers.map(_text)),
    st.tuples(st.just("--duration"), durations),
    st.tuples(st.just("--time-scale"), numbers.map(_text)),
    st.tuples(st.just("--workers"), numbers.map(_text)),
    st.tuples(st.just("--master-port"), numbers.map(_text)),
    st.tuples(st.just("--telemetry-interval"), durations),
    st.tuples(st.just("--scrape-interval"), durations),
    st.tuples(st.just("--abort-after"), durations),
    st.tuples(st.just("--server-process"), texts),
    st.tuples(
        st.just("--set"),
        st.tuples(
            st.sampled_from(["rate", "duration", "warmup", "seed", "arrivals", "x", "rates"]),
            st.one_of(durations, numbers.map(_text), texts),
        ).map(lambda kv: f"{kv[0]}={kv[1]}"),
    ),
    st.tuples(
        st.just("--target-set"),
        st.tuples(
            st.sampled_from(["url", "model", "timeout", "payload.batch_size", "protocol"]),
            st.one_of(durations, numbers.map(_text), texts),
        ).map(lambda kv: f"{kv[0]}={kv[1]}"),
    ),
)


@PROPERTY
@given(
    scenario=st.sampled_from(["steady", "step", "spike", "ramp", "sweep", "soak"]),
    flags=st.lists(run_flags, min_size=1, max_size=3),
)
def test_run_command_line_values(tmp_path: Path, capsys, scenario: str, flags: list) -> None:
    argv = ["run", scenario, "--dry-run", "--runs-dir", str(tmp_path / "runs")]
    for flag, value in flags:
        argv.append(f"{flag}={value}")  # "=" keeps values such as "-5" attached to the flag
    check(argv, capsys)


SLO_LIKE = r"p[0-9.]{0,5}<=?[0-9.]{0,6}(ms|s)?"
analyze_flags = st.one_of(
    st.tuples(
        st.just("--slo"), st.one_of(texts, st.from_regex(r"p[0-9.]{0,5}<=?[0-9.]{0,6}(ms|s)?"))
    ),
    st.tuples(st.just("--peak-rps"), numbers.map(_text)),
    st.tuples(st.just("--window"), durations),
    st.tuples(st.just("--cold-start"), durations),
    st.tuples(st.just("--headroom"), numbers.map(_text)),
    st.tuples(st.just("--price"), texts),
)


@PROPERTY
@given(flags=st.lists(analyze_flags, min_size=1, max_size=3))
def test_analyze_command_line_values(tmp_path: Path, capsys, flags: list) -> None:
    """Against a folder that is not a run: every flag is checked before the run is opened,
    so the answer is a flag's one line or the missing run's one line, both exit 2."""
    argv = ["analyze", str(tmp_path / "no-run"), "--slo=p99<=200ms"]
    for flag, value in flags:
        argv.append(f"{flag}={value}")
    check(argv, capsys)


@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,
)
@given(text=mutated_yaml(SCENARIOS), flags=st.lists(run_flags, max_size=2))
def test_installed_executable_agrees(tmp_path: Path, text: bytes, flags: list) -> None:
    """A few examples through the installed ``benchctl`` in a subprocess, from a fresh
    directory: the same property holds outside pytest's process (real stderr, real exit)."""
    import subprocess
    import sys

    (tmp_path / "mutated.yaml").write_bytes(text)
    argv = [str(Path(sys.executable).with_name("benchctl")), "run", "mutated.yaml", "--dry-run"]
    argv += [f"{flag}={value}" for flag, value in flags]
    done = subprocess.run(
        argv, cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False
    )
    assert "Traceback" not in done.stdout + done.stderr, done.stderr
    if done.returncode != 0:
        assert done.returncode == 2, done.stderr
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
