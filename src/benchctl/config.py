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
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from benchctl.durations import parse_duration
from benchctl.errors import InputError

# Above this an open-loop schedule measures the generator, not the server (one generator
# process sends a few thousand req/s); also keeps the arrival arithmetic finite.
MAX_RATE = 1_000_000.0
# Scenario sizes past these are typos that would run for days or exhaust memory.
MAX_REPEATS = 10_000
MAX_CONCURRENCY = 100_000
# A YAML file whose aliases expand past this many nodes is refused ("billion laughs").
MAX_YAML_NODES = 100_000


def _rate_cap(value: float) -> float:
    if value > MAX_RATE:
        raise ValueError(
            f"must be at most {MAX_RATE:,.0f} req/s (got {value:g}): one generator process "
            "sends a few thousand req/s, so a higher rate would measure the generator"
        )
    return value


Seconds = Annotated[float, BeforeValidator(parse_duration), Field(ge=0)]
Rate = Annotated[
    float,
    Field(ge=0, allow_inf_nan=False, description="requests per second"),
    AfterValidator(_rate_cap),
]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


# --------------------------------------------------------------------------- scenarios


class _ScenarioBase(_Spec):
    description: str = ""
    warmup: Seconds = 0.0
    max_in_flight: int = Field(
        256, ge=1, le=MAX_CONCURRENCY, description="cap on requests in flight per process"
    )


def _check_slo(text: str | None) -> None:
    """ValueError (for pydantic) when ``text`` is not a latency objective."""
    if text is None:
        return
    from benchctl.analysis.slo import parse_slo

    try:
        parse_slo(text)
    except InputError as exc:
        raise ValueError(str(exc).removeprefix("--slo ")) from None


class _ArrivalScenario(_ScenarioBase):
    """Open loop: requests are scheduled at intended times, latency counts from them."""

    arrivals: Literal["poisson", "constant"] = "poisson"
    seed: int = Field(1, ge=0, lt=2**63)
    drop_after: Seconds = Field(
        1.0, description="a request not sent this long after its intended time is dropped"
    )
    slo: str | None = Field(
        None,
        description="latency objective such as 'p99<=100ms': the run first finds one "
        "replica's capacity under it (capacity search), then plays this traffic",
    )
    users: int | None = Field(
        None,
        ge=1,
        le=10_000_000,
        description="with --split: simulated users, each pinned to one arm by a hash of its "
        "id (--users overrides); ignored without --split",
    )

    @model_validator(mode="after")
    def _slo_parses(self) -> _ArrivalScenario:
        _check_slo(self.slo)
        return self


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
    rates: list[Rate] = Field(min_length=1, max_length=MAX_REPEATS)
    step_duration: Seconds


class SpikeScenario(_ArrivalScenario):
    """A baseline rate with a burst every ``period`` (everyone arrives at once)."""

    kind: Literal["spike"]
    base_rate: Rate
    burst_multiplier: float = Field(gt=1, le=1000)
    period: Seconds = 600.0
    burst_at: Seconds | None = Field(None, description="burst start within each period")
    burst_length: Seconds = 60.0
    rise_time: Seconds = 10.0
    fall_time: Seconds | None = None
    periods: int = Field(3, ge=1, le=MAX_REPEATS)

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
    levels: list[Annotated[int, Field(ge=1, le=MAX_CONCURRENCY)]] | None = Field(
        None, max_length=1000
    )
    max_concurrency: int | None = Field(
        None, ge=1, le=MAX_CONCURRENCY, description="levels 1, 2, 4, ... up to this"
    )
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


class CapacityScenario(_ArrivalScenario):
    """Capacity search: open-loop levels that climb (doubling from ``start_rate``) until the
    SLO percentile, the error rate or achieved-vs-offered breaks, then bisect between the
    last good and the first bad level to ``resolution``. Each level is held until
    ``stable_windows`` consecutive windows agree (throughput within ``tolerance``, the
    percentile within ``latency_tolerance``) with enough samples, at most ``max_hold``."""

    kind: Literal["capacity"]
    start_rate: Rate = Field(10.0, gt=0, description="first level (req/s)")
    max_rate: Rate = Field(5000.0, gt=0, description="never offer more than this (req/s)")
    resolution: float = Field(0.05, gt=0, lt=1, description="stop when bad/good - 1 <= this")
    window: Seconds = Field(2.0, gt=0, description="stability window (longer at low rates)")
    window_samples: int = Field(40, ge=1, description="expected requests per window, at least")
    stable_windows: int = Field(3, ge=2, le=20, description="consecutive windows that agree")
    tolerance: float = Field(0.1, gt=0, lt=1, description="throughput agreement, relative")
    latency_tolerance: float = Field(0.25, gt=0, description="percentile agreement, relative")
    settle: Seconds = Field(1.0, description="discarded at the start of every level")
    max_hold: Seconds = Field(30.0, gt=0, description="longest time one level is held")
    max_duration: Seconds = Field(300.0, gt=0, description="the whole search, at most")
    cooldown: Seconds = Field(2.0, description="pause after a level that broke the SLO")
    max_error_rate: float = Field(0.01, ge=0, lt=1, description="errors + dropped, at most")


class ReplayScenario(_ArrivalScenario):
    """Replay a CSV trace: a column ``time`` of arrival times (seconds), or ``second,rate``."""

    kind: Literal["replay"]
    trace: Path
    loop: int = Field(1, ge=1, le=MAX_REPEATS, description="replay the trace this many times")
    time_unit: Literal["auto", "s", "ms", "us", "ns"] = Field(
        "auto", description="unit of numeric 'time' cells; auto: chosen by size, and said"
    )


class BatchScenario(_ScenarioBase):
    """Offline (batch) scoring: a finite set of ``inputs`` rows sent as fast as the server
    allows, ``concurrency`` requests in flight, ``batch_size`` rows a request; every pair of
    ``batch_sizes`` x ``concurrency`` is one run, and the sweep names the best setting."""

    kind: Literal["batch"]
    inputs: int = Field(1000, ge=1, le=10_000_000, description="rows in the set")
    batch_sizes: list[Annotated[int, Field(ge=1, le=65536)]] = Field(
        [1], min_length=1, max_length=32
    )
    concurrency: list[Annotated[int, Field(ge=1, le=MAX_CONCURRENCY)]] = Field(
        [1], min_length=1, max_length=32
    )
    max_duration: Seconds = Field(300.0, gt=0, description="one setting, at most")
    price_per_hour: float | None = Field(
        None, gt=0, description="server price per hour, for the cost per million inferences"
    )

    def settings(self) -> list[tuple[int, int]]:
        """(batch size, concurrency) pairs in sweep order."""
        return [(b, c) for b in self.batch_sizes for c in self.concurrency]

    def requests_for(self, batch_size: int) -> int:
        """Requests that carry the set: ceil(inputs / batch_size) (the last one full)."""
        return -(-self.inputs // batch_size)


Scenario = Annotated[
    SteadyScenario
    | SoakScenario
    | RampScenario
    | StepScenario
    | SpikeScenario
    | SweepScenario
    | ReplayScenario
    | CapacityScenario
    | BatchScenario,
    Field(discriminator="kind"),
]
ArrivalScenario = (
    SteadyScenario | SoakScenario | RampScenario | StepScenario | SpikeScenario | ReplayScenario
)
SCENARIO_KINDS = (
    "steady", "ramp", "step", "spike", "soak", "sweep", "replay", "capacity", "batch"
)  # fmt: skip
_scenario_adapter: TypeAdapter[Any] = TypeAdapter(Scenario)

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
# What sets the length of a scenario kind that ``--duration`` does not apply to.
_LENGTH_FIELDS = {
    "spike": "its length is period x periods: --set periods=2 or --set period=5m "
    "(--set burst_length=30s for the burst alone)",
    "replay": "its length is the trace's: --set loop=N replays it N times "
    "(--time-scale compresses it)",
}


# --------------------------------------------------------------------------- targets


class PayloadSpec(_Spec):
    """What each request carries: generated from the model's v2 metadata, or a file."""

    source: Literal["metadata", "file"] = "metadata"
    file: Path | None = Field(None, description="JSON request body or .npy tensor")
    batch_size: int = Field(1, ge=1, le=65536)
    fill: Literal["random", "zeros", "ones"] = "random"
    binary: bool = Field(
        False, description="rest-v2: tensors as raw bytes (binary tensor data extension)"
    )
    format: Literal["row", "columnar"] = Field(
        "row", description='rest-v1 only: {"instances": rows} or {"inputs": columns}'
    )
    seed: int = Field(0, ge=0, lt=2**63)
    dims: dict[str, list[int]] = Field(
        default_factory=dict, description="per input, sizes for its dynamic (-1) dims"
    )
    pool: int = Field(
        1,
        ge=1,
        le=100_000,
        description="distinct inputs (seeds seed..seed+pool-1, or the file's first pool "
        "batches of rows / lines); each request picks one (input_id in requests.parquet)",
    )
    popularity: Literal["uniform", "zipf"] = Field(
        "uniform", description="how often each pooled input is picked"
    )
    zipf_s: float = Field(
        1.0, gt=0, le=10, description="zipf exponent s: input k (from 0) ~ 1 / (k + 1)^s"
    )

    @model_validator(mode="after")
    def _file_when_file(self) -> PayloadSpec:
        if self.source == "file" and self.file is None:
            raise ValueError("source: file needs file: <path to .json, .jsonl or .npy>")
        if self.pool > 1 and self.source == "metadata" and self.fill != "random":
            raise ValueError(
                f"pool: {self.pool} needs fill: random (every {self.fill} input is the same)"
            )
        return self


def _printable(value: str) -> str:
    """No control characters: they cannot go into a URL path or a gRPC field."""
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ValueError(f"must be printable text without control characters, got {value!r}")
    if value != value.strip():
        raise ValueError(f"must not start or end with spaces, got {value!r}")
    return value


Printable = Annotated[str, AfterValidator(_printable)]

ServerKind = Literal["kserve", "triton", "torchserve", "tfserving", "mlserver"]
Protocol = Literal[
    "rest-v1", "rest-v2", "grpc-v2", "torchserve-rest", "torchserve-grpc", "tfserving-grpc"
]


class ServedModel(_Spec):
    """One more reference model a launched server serves (``launch.models``): its settings
    override the launch section's for that model only."""

    repeat: int | None = Field(None, ge=1)
    cost_ms: float | None = Field(None, ge=0, le=10_000)
    cache_size: int | None = Field(None, ge=0, le=1_000_000)


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
    cost_ms: float = Field(
        0.0,
        ge=0,
        le=10_000,
        description="CPU kept busy per request (ms): a set cost, so one "
        "worker saturates near 1000 / cost_ms req/s",
    )
    stall_every_s: float = Field(0.0, ge=0)
    stall_for_s: float = Field(0.0, ge=0)
    cache_size: int = Field(
        0, ge=0, le=1_000_000, description="answers cached by input bytes (LRU); 0 = no cache"
    )
    models: dict[Printable, ServedModel] = Field(
        default_factory=dict,
        max_length=16,
        description="serve these model names (each the reference model, with its own "
        "cost) instead of the target's one model",
    )


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


class ModelShare(_Spec):
    """One model of a model mix: its share of the requests and, optionally, its payload."""

    name: Printable = Field(min_length=1)
    weight: float = Field(1.0, gt=0, description="share of requests: weight / sum of weights")
    payload: PayloadSpec | None = Field(None, description="default: the target's payload")


class TargetSpec(_Spec):
    kind: ServerKind = "kserve"
    description: str = ""
    url: str = Field("http://127.0.0.1:8080", description="HTTP base URL")
    grpc_address: str = Field("127.0.0.1:8081", description="host:port for gRPC")
    protocol: Protocol = "rest-v2"
    metrics_url: str | None = Field(None, description="the server's Prometheus endpoint")
    management_url: str | None = Field(None, description="TorchServe's management API")
    model: Printable = Field("mlp", min_length=1)
    model_version: Printable = ""
    signature_name: str = Field("serving_default", description="TF-Serving SignatureDef")
    payload: PayloadSpec = PayloadSpec()
    headers: dict[str, str] = Field(
        default_factory=dict, description="extra headers; ${VAR} is read from the environment"
    )
    safe_headers: list[str] = Field(
        default_factory=list,
        description="header names whose values are not secret and may be stored in run files "
        "(every other header value is stored as <redacted>)",
    )
    timeout: Seconds = 30.0
    connect_timeout: Seconds = 5.0
    tls: TlsSpec | None = None
    grpc: GrpcSpec = GrpcSpec()
    launch: LaunchSpec = LaunchSpec()
    models: list[ModelShare] = Field(
        default_factory=list,
        max_length=16,
        description="model mix: each request picks one of these models by weight "
        "(instead of `model`)",
    )

    @model_validator(mode="before")
    @classmethod
    def _model_from_mix(cls, data: Any) -> Any:
        """With a mix and no ``model``, the first model of the mix is the target's model
        (the one readiness checks and single-model code paths use)."""
        if isinstance(data, dict) and "model" not in data:
            models = data.get("models")
            if isinstance(models, list) and models and isinstance(models[0], dict):
                name = models[0].get("name")
                if isinstance(name, str):
                    return {**data, "model": name}
        return data

    @field_validator("models")
    @classmethod
    def _distinct_models(cls, models: list[ModelShare]) -> list[ModelShare]:
        names = [m.name for m in models]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"each model may appear once, {', '.join(twice)} appears twice")
        return models

    @model_validator(mode="after")
    def _model_in_mix(self) -> TargetSpec:
        names = [m.name for m in self.models]
        if names and self.model not in names:
            raise ValueError(
                f"model {self.model!r} is not in the mix (models: {', '.join(names)}): set "
                "model to one of them, or leave it out (the first is taken)"
            )
        return self

    @field_validator("url")
    @classmethod
    def _url_is_http(cls, url: str) -> str:
        if not re.match(r"^https?://[^/]+", url):
            raise ValueError(f"url must look like http://host:port, got {url!r}")
        return url

    @model_validator(mode="after")
    def _no_credentials_in_urls(self) -> TargetSpec:
        """user:password@ in a URL would be stored with the run (and is not sent anyway)."""
        for name in ("url", "metrics_url", "management_url"):
            value = getattr(self, name) or ""
            if "@" in value.split("://", 1)[-1].split("/", 1)[0]:
                raise ValueError(
                    f"{name} must not hold credentials (user:password@host): send them as "
                    'a header, e.g. headers: {Authorization: "Basic ${CREDENTIALS}"}'
                )
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
    origins: dict[tuple, str] = {}
    if rate is not None:
        field = _RATE_FIELD.get(str(kind))
        if field is None:
            raise InputError(
                f"--rate does not apply to a {kind} scenario: use --set "
                "(e.g. --set 'rates=[10,20]')"
            )
        data[field] = rate
        origins[(field,)] = "--rate"
    if duration is not None:
        field = _DURATION_FIELD.get(str(kind))
        if field is None:
            hint = _LENGTH_FIELDS.get(str(kind), "set its fields with --set KEY=VALUE")
            raise InputError(f"--duration does not apply to a {kind} scenario: {hint}")
        data[field] = duration
        origins[(field,)] = "--duration"
    data = apply_overrides(data, overrides, source="--set", origins=origins)
    scenario = _validate(_scenario_adapter, data, path, lines, origins)
    if isinstance(scenario, ReplayScenario) and not scenario.trace.is_absolute():
        scenario = scenario.model_copy(update={"trace": (path.parent / scenario.trace)})
    return scenario, path


def load_target(
    name: str, *, config_dir: Path | None = None, overrides: Iterable[str] = ()
) -> tuple[TargetSpec, Path]:
    """Load, override and validate a target profile. Returns (target, source file)."""
    path = find_spec_file(name, "targets", config_dir)
    data, lines = _read_yaml(path)
    origins: dict[tuple, str] = {}
    data = apply_overrides(dict(data), overrides, source="--target-set", origins=origins)
    target = _validate(TypeAdapter(TargetSpec), data, path, lines, origins)
    payload_file = target.payload.file
    if payload_file is not None and not payload_file.is_absolute():
        candidate = path.parent / payload_file
        if not payload_file.exists() and candidate.exists():
            payload = target.payload.model_copy(update={"file": candidate})
            target = target.model_copy(update={"payload": payload})
    return target, path


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
            value = _load_yaml_text(raw, source) if raw.strip() else ""
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


def _read_yaml(path: Path) -> tuple[Mapping, dict[tuple, int]]:
    """The mapping in a YAML file and its field lines; InputError naming the file and the
    problem for unreadable, non-UTF-8, invalid or alias-bomb YAML."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError(
            f"{path}:{line}: not UTF-8 text (byte {raw[exc.start]:#04x}); save the file as UTF-8"
        ) from None
    node, data = _compose_and_load(text, str(path))
    if not isinstance(data, Mapping):
        raise InputError(f"{path}: expected a mapping of fields (key: value) at the top level")
    return data, _line_map(node)


def _load_yaml_text(text: str, where: str) -> Any:
    return _compose_and_load(text, where)[1]


def _compose_and_load(text: str, where: str) -> tuple[Any, Any]:
    """(node tree, Python data) of one YAML document with the safe loader, refusing
    documents whose aliases expand past MAX_YAML_NODES nodes or nest too deeply."""
    loader = None
    try:
        loader = yaml.SafeLoader(text)
        node = loader.get_single_node()
        if node is not None:
            size = _expanded_size(node, {})
            if size > MAX_YAML_NODES:
                raise InputError(
                    f"{where}: YAML too large once its aliases (*name) are expanded "
                    f"({size:,} values; at most {MAX_YAML_NODES:,}): write the values out"
                )
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        place = f"{where}:{mark.line + 1}" if mark else where
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InputError(f"{place}: invalid YAML: {problem}") from None
    except RecursionError:
        raise InputError(f"{where}: invalid YAML: nested too deeply") from None
    finally:
        if loader is not None:
            loader.dispose()
    return node, data


def _expanded_size(node: Any, memo: dict[int, int]) -> int:
    """Nodes in the tree with every alias expanded (shared subtrees counted per use)."""
    known = memo.get(id(node))
    if known is not None:
        return known
    memo[id(node)] = MAX_YAML_NODES + 1  # a cycle (recursive alias) counts as too large
    if isinstance(node, yaml.MappingNode):
        size = 1 + sum(_expanded_size(k, memo) + _expanded_size(v, memo) for k, v in node.value)
    elif isinstance(node, yaml.SequenceNode):
        size = 1 + sum(_expanded_size(item, memo) for item in node.value)
    else:
        size = 1
    memo[id(node)] = min(size, MAX_YAML_NODES + 1)
    return size


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


def _validate(
    adapter: TypeAdapter,
    data: Any,
    path: Path,
    lines: dict[tuple, int],
    origins: Mapping[tuple, str] | None = None,
) -> Any:
    try:
        return adapter.validate_python(data)
    except ValidationError as exc:
        raise InputError(describe_validation_error(exc, path, lines, origins)) from None
    except RecursionError:
        raise InputError(f"{path}: nested too deeply") from None


def describe_validation_error(
    exc: ValidationError,
    path: Path,
    lines: dict[tuple, int],
    origins: Mapping[tuple, str] | None = None,
) -> str:
    """One line: ``file:line: field 'x': what is wrong (allowed: ...)``; a field set on the
    command line (``origins``: field path -> flag) is blamed on that flag instead:
    ``--rate: field 'rate' of scenarios/steady.yaml: ...``."""
    errors = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")
    error = errors[0]
    loc = tuple(part for part in error["loc"] if not _is_union_tag(part, error))
    line = None
    for depth in range(len(loc), 0, -1):
        line = lines.get(loc[:depth])
        if line:
            break
    where = f"{path}:{line}" if line else str(path)
    for depth in range(len(loc), 0, -1):
        flag = (origins or {}).get(tuple(str(p) for p in loc[:depth]))
        if flag:
            where = f"{flag} (for {path})"
            break
    else:
        if not loc and origins:  # a rule across fields: say which flags took part
            where = f"{where} (with {', '.join(sorted(set(origins.values())))})"
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
