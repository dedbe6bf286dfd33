"""Finding, overriding and loading scenario and target specs (the models live in
``benchctl.specs``; every public name is re-exported here).

Scenarios and targets are found by name in, in order: ``--config-dir``, ``./benchctl.d/``,
then the built-ins shipped with the package. A path to a YAML file works too.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import TypeAdapter

from benchctl.errors import InputError
from benchctl.specs.path_fields import PATH_FIELDS, anchor_paths, check_readable
from benchctl.specs.payload_file import check_payload_files
from benchctl.specs.scenarios import (
    SCENARIO_ADAPTER,
    SCENARIO_KINDS,
    ArrivalScenario,
    BatchScenario,
    CapacityScenario,
    RampScenario,
    ReplayScenario,
    Scenario,
    SoakScenario,
    SpikeScenario,
    SteadyScenario,
    StepScenario,
    SweepScenario,
)
from benchctl.specs.targets import (
    GrpcSpec,
    LaunchSpec,
    ModelShare,
    PayloadSpec,
    Printable,
    Protocol,
    ServedModel,
    ServerKind,
    TargetSpec,
    TlsSpec,
)
from benchctl.specs.values import (
    MAX_CONCURRENCY,
    MAX_RATE,
    MAX_REPEATS,
    Rate,
    Seconds,
    redact_headers,
    resolve_env,
)
from benchctl.specs.yaml_files import (
    MAX_YAML_NODES,
    describe_validation_error,
    load_yaml_model,
    load_yaml_text,
    read_yaml_mapping,
    validate_spec,
)

__all__ = [
    "MAX_CONCURRENCY",
    "MAX_RATE",
    "MAX_REPEATS",
    "MAX_YAML_NODES",
    "SCENARIO_KINDS",
    "ArrivalScenario",
    "BatchScenario",
    "CapacityScenario",
    "GrpcSpec",
    "LaunchSpec",
    "ModelShare",
    "PayloadSpec",
    "Printable",
    "Protocol",
    "RampScenario",
    "Rate",
    "ReplayScenario",
    "Scenario",
    "Seconds",
    "ServedModel",
    "ServerKind",
    "SoakScenario",
    "SpikeScenario",
    "SteadyScenario",
    "StepScenario",
    "SweepScenario",
    "TargetSpec",
    "TlsSpec",
    "apply_overrides",
    "available",
    "builtin_dir",
    "describe_validation_error",
    "find_spec_file",
    "load_scenario",
    "load_target",
    "load_yaml_model",
    "redact_headers",
    "resolve_env",
    "search_dirs",
]

# Which field ``--rate`` sets, per scenario kind.
_RATE_FIELD = {
    "steady": "rate",
    "soak": "rate",
    "spike": "base_rate",
    "ramp": "end_rate",
    "capacity": "start_rate",
}
# Which fields ``--duration`` sets, per scenario kind.
_DURATION_FIELD = {
    "steady": "duration",
    "soak": "duration",
    "step": "step_duration",
    "sweep": "hold",
    "ramp": "hold",
    "capacity": "max_duration",
    "batch": "max_duration",
}
# What sets the load of a scenario kind that ``--rate`` does not apply to (fields of that kind).
_RATE_HINTS = {
    "step": "its rates are a list: --set 'rates=[10,20]'",
    "sweep": "it is closed loop (requests in flight, not a rate): --set 'levels=[1,2,4]' "
    "or --set max_concurrency=N",
    "replay": "its rates are the trace's: --time-scale 0.5 plays it twice as fast",
    "batch": "it sends as fast as the server allows: --set 'concurrency=[1,4]' "
    "or --set 'batch_sizes=[1,8]'",
}
# What sets the length of a scenario kind that ``--duration`` does not apply to.
_LENGTH_FIELDS = {
    "spike": "its length is period x periods: --set periods=2 or --set period=5m "
    "(--set burst_length=30s for the burst alone)",
    "replay": "its length is the trace's: --set loop=N replays it N times "
    "(--time-scale compresses it)",
}


def builtin_dir(kind: Literal["scenarios", "targets"]) -> Path:
    """Where the built-in YAML files are: the package data, or the source checkout."""
    packaged = Path(__file__).parent / "_data" / kind
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / kind


def search_dirs(kind: Literal["scenarios", "targets"], config_dir: Path | None) -> list[Path]:
    """Directories searched for ``kind`` YAML files, first match wins: ``config_dir/kind``
    (when given), ``./benchctl.d/kind``, then the built-ins. Raises nothing."""
    dirs = [config_dir / kind] if config_dir else []
    return [*dirs, Path("benchctl.d") / kind, builtin_dir(kind)]


def find_spec_file(
    name: str, kind: Literal["scenarios", "targets"], config_dir: Path | None = None
) -> Path:
    """The YAML file for ``name`` (a name or a path); InputError listing what exists."""
    as_path = Path(name)
    folder = f"{name}: is a folder, not a {kind[:-1]} file (give a YAML file)"
    if as_path.suffix in (".yaml", ".yml") or os.sep in name:
        if as_path.is_dir():
            raise InputError(folder)
        if not as_path.is_file():
            raise InputError(f"{name}: no such {kind[:-1]} file")
        return as_path
    for directory in search_dirs(kind, config_dir):
        for suffix in (".yaml", ".yml"):
            candidate = directory / f"{name}{suffix}"
            if candidate.is_file():
                return candidate
    if as_path.is_dir():
        raise InputError(folder)
    known = ", ".join(sorted(available(kind, config_dir))) or "none"
    raise InputError(f"unknown {kind[:-1]} {name!r}: choose one of {known}, or give a YAML path")


def available(kind: Literal["scenarios", "targets"], config_dir: Path | None = None) -> dict:
    """Name -> file for every scenario or target visible (overrides shadow built-ins)."""
    found: dict[str, Path] = {}
    for directory in reversed(search_dirs(kind, config_dir)):
        if directory.is_dir():
            for path in sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")]):
                found[path.stem] = path
    return found


def load_scenario(
    name: str,
    *,
    config_dir: Path | None = None,
    rate: float | None = None,
    duration: str | None = None,
    overrides: Iterable[str] = (),
) -> tuple[Any, Path]:
    """Load, override and validate a scenario. Returns (scenario model, source file)."""
    path = find_spec_file(name, "scenarios", config_dir)
    data, lines = read_yaml_mapping(path)
    data = dict(data)
    kind = data.get("kind")
    origins: dict[tuple, str] = {}
    if kind not in SCENARIO_KINDS:  # a typo'd kind: its own error, not "--rate does not apply"
        validate_spec(SCENARIO_ADAPTER, data, path, lines, origins)
    if rate is not None:
        field = _RATE_FIELD.get(str(kind))
        if field is None:
            hint = _RATE_HINTS.get(str(kind), "set its fields with --set KEY=VALUE")
            raise InputError(f"--rate does not apply to a {kind} scenario: {hint}")
        data[field] = rate
        origins[(field,)] = "--rate"
    if duration is not None:
        field = _DURATION_FIELD.get(str(kind))
        if field is None:
            hint = _LENGTH_FIELDS.get(str(kind), "set its fields with --set KEY=VALUE")
            raise InputError(f"--duration does not apply to a {kind} scenario: {hint}")
        if _seconds_or_none(duration) == 0:
            raise InputError(f"--duration {duration!r}: must be > 0 (e.g. 90s, 10m)")
        data[field] = duration
        origins[(field,)] = "--duration"
    data = apply_overrides(data, overrides, source="--set", origins=origins)
    given = anchor_paths(data, PATH_FIELDS["scenarios"], path, lines, origins)
    scenario = validate_spec(SCENARIO_ADAPTER, data, path, lines, origins)
    check_readable(getattr(scenario, "trace", None), given.get(("trace",)))
    return scenario, path


def load_target(
    name: str, *, config_dir: Path | None = None, overrides: Iterable[str] = ()
) -> tuple[TargetSpec, Path]:
    """Load, override and validate a target profile. Returns (target, source file)."""
    path = find_spec_file(name, "targets", config_dir)
    data, lines = read_yaml_mapping(path)
    origins: dict[tuple, str] = {}
    data = apply_overrides(dict(data), overrides, source="--target-set", origins=origins)
    given = anchor_paths(data, PATH_FIELDS["targets"], path, lines, origins)
    target = validate_spec(TypeAdapter(TargetSpec), data, path, lines, origins)
    check_payload_files(target, path, lines, origins, given)
    return target, path


def _seconds_or_none(text: str) -> float | None:
    """Seconds in ``text``, or None when it is no duration (validation says why later)."""
    from benchctl.durations import parse_duration

    try:
        return parse_duration(text)
    except ValueError:
        return None


def apply_overrides(
    data: dict, overrides: Iterable[str], *, source: str, origins: dict[tuple, str] | None = None
) -> dict:
    """Apply ``key=value`` / ``a.b=value`` overrides; values are parsed as YAML scalars.

    ``origins`` (if given) records which flag set each field path, e.g. ``("rate",) ->
    "--set rate"``, so a bad value is blamed on the command line, not on the YAML file."""
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise InputError(f"{source} {item!r}: expected key=value (e.g. burst_multiplier=4)")
        try:
            value = load_yaml_text(raw, source) if raw.strip() else ""
        except (yaml.YAMLError, InputError):
            value = raw
        node = data
        *parents, leaf = key.strip().split(".")
        if origins is not None:
            origins[(*parents, leaf)] = f"{source} {key.strip()}"
        for part in parents:
            child = node.get(part)
            node[part] = dict(child) if isinstance(child, Mapping) else {}
            node = node[part]
        node[leaf] = value
    return data
