"""Scenario and target specs: pydantic models, YAML loading with file:line errors, overrides.

Scenarios and targets are found by name in, in order: ``--config-dir``, ``./benchctl.d/``,
then the built-ins shipped with the package. A path to a YAML file works too.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from benchctl.durations import parse_duration
from benchctl.errors import InputError

Seconds = Annotated[float, BeforeValidator(parse_duration), Field(ge=0)]
Rate = Annotated[float, Field(ge=0, description="requests per second")]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --------------------------------------------------------------------------- scenarios


class _ScenarioBase(_Spec):
    description: str = ""
    warmup: Seconds = 0.0
    max_in_flight: int = Field(256, ge=1, description="cap on requests in flight per process")


class _ArrivalScenario(_ScenarioBase):
    """Open loop: requests are scheduled at intended times, latency counts from them."""

    arrivals: Literal["poisson", "constant"] = "poisson"
    seed: int = 1
    drop_after: Seconds = Field(
        1.0, description="a request not sent this long after its intended time is dropped"
    )


class SteadyScenario(_ArrivalScenario):
    kind: Literal["steady"]
    rate: Rate
    duration: Seconds


class SoakScenario(_ArrivalScenario):
    kind: Literal["soak"]
    rate: Rate
    duration: Seconds = 3600.0


class RampScenario(_ArrivalScenario):
    kind: Literal["ramp"]
    start_rate: Rate
    end_rate: Rate
    ramp_time: Seconds
    hold: Seconds = 0.0


class StepScenario(_ArrivalScenario):
    kind: Literal["step"]
    rates: list[Rate] = Field(min_length=1)
    step_duration: Seconds


class SpikeScenario(_ArrivalScenario):
    """A baseline rate with a burst every ``period`` (everyone arrives at once)."""

    kind: Literal["spike"]
    base_rate: Rate
    burst_multiplier: float = Field(gt=1)
    period: Seconds = 600.0
    burst_at: Seconds | None = Field(None, description="burst start within each period")
    burst_length: Seconds = 60.0
    rise_time: Seconds = 10.0
    fall_time: Seconds | None = None
    periods: int = Field(3, ge=1)

    @model_validator(mode="after")
    def _burst_fits_in_period(self) -> SpikeScenario:
        start = self.period / 2 if self.burst_at is None else self.burst_at
        fall = self.rise_time if self.fall_time is None else self.fall_time
        if start + self.rise_time + self.burst_length + fall > self.period:
            raise ValueError(
                "burst_at + rise_time + burst_length + fall_time must fit within period"
            )
        return self


class SweepScenario(_ScenarioBase):
    """Closed loop: ``N`` requests in flight, for each N in ``levels``."""

    kind: Literal["sweep"]
    levels: list[Annotated[int, Field(ge=1)]] | None = None
    max_concurrency: int | None = Field(None, ge=1, description="levels 1, 2, 4, ... up to this")
    hold: Seconds = 30.0

    @model_validator(mode="after")
    def _has_levels(self) -> SweepScenario:
        if not self.levels and not self.max_concurrency:
            raise ValueError("give levels: [1, 2, 4, ...] or max_concurrency: N")
        return self

    def concurrency_levels(self) -> list[int]:
        if self.levels:
            return list(self.levels)
        levels, n = [], 1
        while n < (self.max_concurrency or 1):
            levels.append(n)
            n *= 2
        return [*levels, self.max_concurrency or 1]


class ReplayScenario(_ArrivalScenario):
    """Replay a CSV trace: a column ``time`` of arrival times (seconds), or ``second,rate``."""

    kind: Literal["replay"]
    trace: Path
    loop: int = Field(1, ge=1, description="replay the trace this many times")


Scenario = Annotated[
    SteadyScenario
    | SoakScenario
    | RampScenario
    | StepScenario
    | SpikeScenario
    | SweepScenario
    | ReplayScenario,
    Field(discriminator="kind"),
]
ArrivalScenario = (
    SteadyScenario | SoakScenario | RampScenario | StepScenario | SpikeScenario | ReplayScenario
)
SCENARIO_KINDS = ("steady", "ramp", "step", "spike", "soak", "sweep", "replay")
_scenario_adapter: TypeAdapter[Any] = TypeAdapter(Scenario)

# Which field ``--rate`` sets, per scenario kind.
_RATE_FIELD = {
    "steady": "rate",
    "soak": "rate",
    "spike": "base_rate",
    "ramp": "end_rate",
}
# Which fields ``--duration`` sets, per scenario kind.
_DURATION_FIELD = {
    "steady": "duration",
    "soak": "duration",
    "step": "step_duration",
    "sweep": "hold",
    "ramp": "hold",
}


# --------------------------------------------------------------------------- targets


class PayloadSpec(_Spec):
    """What each request carries: generated from the model's v2 metadata, or a file."""

    source: Literal["metadata", "file"] = "metadata"
    file: Path | None = Field(None, description="JSON request body or .npy tensor")
    batch_size: int = Field(1, ge=1)
    fill: Literal["random", "zeros", "ones"] = "random"
    binary: bool = Field(
        False, description="rest-v2: tensors as raw bytes (binary tensor data extension)"
    )
    format: Literal["row", "columnar"] = Field(
        "row", description='rest-v1 only: {"instances": rows} or {"inputs": columns}'
    )
    seed: int = 0
    dims: dict[str, list[int]] = Field(
        default_factory=dict, description="per input, sizes for its dynamic (-1) dims"
    )

    @model_validator(mode="after")
    def _file_when_file(self) -> PayloadSpec:
        if self.source == "file" and self.file is None:
            raise ValueError("source: file needs file: <path to .json or .npy>")
        return self


ServerKind = Literal["kserve", "triton", "torchserve", "tfserving", "mlserver"]
Protocol = Literal[
    "rest-v1", "rest-v2", "grpc-v2", "torchserve-rest", "torchserve-grpc", "tfserving-grpc"
]


class LaunchSpec(_Spec):
    """How ``--launch`` starts a local real server with the bundled reference model."""

    server: ServerKind | None = Field(None, description="default: the target's kind")
    workers: int = Field(1, ge=1, description="server worker processes")
    instances: int = Field(1, ge=1, description="model instances (Triton instance_group)")
    max_batch_size: int = Field(0, ge=0, description="dynamic batching up to this; 0 = off")
    batch_delay_ms: float = Field(0.0, ge=0, description="how long a batch may wait to fill")
    hidden_width: int = Field(256, ge=1)
    hidden_layers: int = Field(4, ge=1)
    repeat: int = Field(1, ge=1, description="forward passes per request: the cost knob")
    stall_every_s: float = Field(0.0, ge=0)
    stall_for_s: float = Field(0.0, ge=0)


class TlsSpec(_Spec):
    """TLS towards the target: https:// URLs, and gRPC when this section is present."""

    ca_file: Path | None = Field(None, description="CA bundle to verify the server with")
    cert_file: Path | None = Field(None, description="client certificate (mutual TLS)")
    key_file: Path | None = Field(None, description="its private key")
    insecure: bool = Field(False, description="verify nothing (testing only; not for gRPC)")

    @model_validator(mode="after")
    def _files(self) -> TlsSpec:
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("give cert_file and key_file together (mutual TLS)")
        for name in ("ca_file", "cert_file", "key_file"):
            path = getattr(self, name)
            if path is not None and not path.is_file():
                raise ValueError(f"{name} {str(path)!r}: no such file")
        return self


class GrpcSpec(_Spec):
    """gRPC channel options. -1 = unlimited, as NVIDIA's own client (tritonclient,
    perf_analyzer) sets them; gRPC's default would refuse answers over 4 MB."""

    max_send_message_bytes: int = Field(-1, ge=-1, description="-1: unlimited")
    max_receive_message_bytes: int = Field(-1, ge=-1, description="-1: unlimited")

    def channel_options(self) -> list[tuple[str, int]]:
        """The options for ``grpc.insecure_channel`` / ``grpc.secure_channel``."""
        return [
            ("grpc.max_send_message_length", self.max_send_message_bytes),
            ("grpc.max_receive_message_length", self.max_receive_message_bytes),
        ]


class TargetSpec(_Spec):
    kind: ServerKind = "kserve"
    description: str = ""
    url: str = Field("http://127.0.0.1:8080", description="HTTP base URL")
    grpc_address: str = Field("127.0.0.1:8081", description="host:port for gRPC")
    protocol: Protocol = "rest-v2"
    metrics_url: str | None = Field(None, description="the server's Prometheus endpoint")
    management_url: str | None = Field(None, description="TorchServe's management API")
    model: str = "mlp"
    model_version: str = ""
    signature_name: str = Field("serving_default", description="TF-Serving SignatureDef")
    payload: PayloadSpec = PayloadSpec()
    headers: dict[str, str] = Field(
        default_factory=dict, description="extra headers; ${VAR} is read from the environment"
    )
    timeout: Seconds = 30.0
    connect_timeout: Seconds = 5.0
    tls: TlsSpec | None = None
    grpc: GrpcSpec = GrpcSpec()
    launch: LaunchSpec = LaunchSpec()

    @model_validator(mode="after")
    def _url_is_http(self) -> TargetSpec:
        if not re.match(r"^https?://[^/]+", self.url):
            raise ValueError(f"url must look like http://host:port, got {self.url!r}")
        return self


# --------------------------------------------------------------------------- loading


def builtin_dir(kind: Literal["scenarios", "targets"]) -> Path:
    """Where the built-in YAML files are: the package data, or the source checkout."""
    packaged = Path(__file__).parent / "_data" / kind
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / kind


def search_dirs(kind: Literal["scenarios", "targets"], config_dir: Path | None) -> list[Path]:
    dirs = [config_dir / kind] if config_dir else []
    return [*dirs, Path("benchctl.d") / kind, builtin_dir(kind)]


def find_spec_file(
    name: str, kind: Literal["scenarios", "targets"], config_dir: Path | None = None
) -> Path:
    """The YAML file for ``name`` (a name or a path); InputError listing what exists."""
    as_path = Path(name)
    if as_path.suffix in (".yaml", ".yml") or os.sep in name:
        if not as_path.is_file():
            raise InputError(f"{name}: no such {kind[:-1]} file")
        return as_path
    for directory in search_dirs(kind, config_dir):
        for suffix in (".yaml", ".yml"):
            candidate = directory / f"{name}{suffix}"
            if candidate.is_file():
                return candidate
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
    data, lines = _read_yaml(path)
    data = dict(data)
    kind = data.get("kind")
    if rate is not None:
        field = _RATE_FIELD.get(str(kind))
        if field is None:
            raise InputError(
                f"--rate does not apply to a {kind} scenario: use --set (e.g. --set rates=[10,20])"
            )
        data[field] = rate
    if duration is not None:
        field = _DURATION_FIELD.get(str(kind))
        if field is None:
            raise InputError(f"--duration does not apply to a {kind} scenario: use --set")
        data[field] = duration
    data = apply_overrides(data, overrides, source="--set")
    scenario = _validate(_scenario_adapter, data, path, lines)
    if isinstance(scenario, ReplayScenario) and not scenario.trace.is_absolute():
        scenario = scenario.model_copy(update={"trace": (path.parent / scenario.trace)})
    return scenario, path


def load_target(
    name: str, *, config_dir: Path | None = None, overrides: Iterable[str] = ()
) -> tuple[TargetSpec, Path]:
    """Load, override and validate a target profile. Returns (target, source file)."""
    path = find_spec_file(name, "targets", config_dir)
    data, lines = _read_yaml(path)
    data = apply_overrides(dict(data), overrides, source="--target-set")
    target = _validate(TypeAdapter(TargetSpec), data, path, lines)
    payload_file = target.payload.file
    if payload_file is not None and not payload_file.is_absolute():
        candidate = path.parent / payload_file
        if not payload_file.exists() and candidate.exists():
            payload = target.payload.model_copy(update={"file": candidate})
            target = target.model_copy(update={"payload": payload})
    return target, path


def apply_overrides(data: dict, overrides: Iterable[str], *, source: str) -> dict:
    """Apply ``key=value`` / ``a.b=value`` overrides; values are parsed as YAML scalars."""
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise InputError(f"{source} {item!r}: expected key=value (e.g. burst_multiplier=4)")
        try:
            value = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError:
            value = raw
        node = data
        *parents, leaf = key.strip().split(".")
        for part in parents:
            child = node.get(part)
            node[part] = dict(child) if isinstance(child, Mapping) else {}
            node = node[part]
        node[leaf] = value
    return data


def _read_yaml(path: Path) -> tuple[Mapping, dict[tuple, int]]:
    try:
        text = path.read_text()
        node = yaml.compose(text)
        data = yaml.safe_load(text)
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InputError(f"{where}: invalid YAML: {problem}") from None
    if not isinstance(data, Mapping):
        raise InputError(f"{path}: expected a mapping of fields (key: value) at the top level")
    return data, _line_map(node)


def _line_map(node: Any, prefix: tuple = ()) -> dict[tuple, int]:
    """(field, subfield, ...) -> 1-based line of that field in the YAML text."""
    lines: dict[tuple, int] = {}
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            path = (*prefix, key_node.value)
            lines[path] = key_node.start_mark.line + 1
            lines.update(_line_map(value_node, path))
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            lines[(*prefix, index)] = item.start_mark.line + 1
            lines.update(_line_map(item, (*prefix, index)))
    return lines


def _validate(adapter: TypeAdapter, data: Any, path: Path, lines: dict[tuple, int]) -> Any:
    try:
        return adapter.validate_python(data)
    except ValidationError as exc:
        raise InputError(describe_validation_error(exc, path, lines)) from None


def describe_validation_error(exc: ValidationError, path: Path, lines: dict[tuple, int]) -> str:
    """One line: ``file:line: field 'x': what is wrong (allowed: ...)``."""
    errors = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")
    error = errors[0]
    loc = tuple(part for part in error["loc"] if not _is_union_tag(part, error))
    line = None
    for depth in range(len(loc), 0, -1):
        line = lines.get(loc[:depth])
        if line:
            break
    where = f"{path}:{line}" if line else str(path)
    field = ".".join(str(p) for p in loc) or "(top level)"
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "union_tag_invalid" or (error["type"] == "union_tag_not_found"):
        field, message = "kind", f"must be one of {', '.join(SCENARIO_KINDS)}"
    elif error["type"] == "extra_forbidden":
        missing = [str(e["loc"][-1]) for e in errors if e["type"] == "missing"]
        close = difflib.get_close_matches(str(loc[-1]), missing, n=1) if loc else []
        hint = f"did you mean '{close[0]}'?" if close else "check the spelling"
        message = f"unknown field ({hint}; the built-in YAML files show every field)"
    elif error["type"] == "literal_error":
        message = f"{message} (got {error.get('input')!r})"
    more = len(exc.errors()) - 1
    suffix = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
    if not loc and field == "(top level)":
        return f"{where}: {message}{suffix}"
    return f"{where}: field '{field}': {message}{suffix}"


def _is_union_tag(part: Any, error: Mapping) -> bool:
    return isinstance(part, str) and part in SCENARIO_KINDS and error["loc"][0] == part


# --------------------------------------------------------------------------- env + secrets

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def resolve_env(value: str, environ: Mapping[str, str] | None = None) -> str:
    """Replace ``${VAR}`` with the environment's value; InputError naming a missing one."""
    env = os.environ if environ is None else environ

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in env:
            raise InputError(f"header needs environment variable {name}, which is not set")
        return env[name]

    return _ENV_REF.sub(substitute, value)


_SENSITIVE = re.compile(r"auth|token|key|secret|cookie|password", re.IGNORECASE)


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Headers safe to store: ``${VAR}`` templates kept, literal sensitive values hidden."""
    return {
        name: "<redacted>"
        if _SENSITIVE.search(name) and value and not _ENV_REF.search(value)
        else value
        for name, value in headers.items()
    }


def load_yaml_model(path: Path, model: Any) -> Any:
    """Any YAML file validated against a pydantic model (or TypeAdapter-able type), with
    one-line ``file:line: field 'x': ...`` errors (InputError, exit 2)."""
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    data, lines = _read_yaml(path)
    return _validate(TypeAdapter(model), data, path, lines)
