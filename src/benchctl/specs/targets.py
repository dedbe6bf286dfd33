"""Target profile specs: where the server is, its protocol, payload, TLS, gRPC options,
model mix, and how ``--launch`` starts a local one."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, field_validator, model_validator

from benchctl.specs.values import MAX_REPEATS, PositiveSeconds, Spec
from benchctl.targets.registry import SERVERS

MAX_SERVER_PROCESSES = 1024  # workers or model instances of one launched server


class PayloadSpec(Spec):
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

# The server kinds: one entry each in targets/registry.py (kserve, triton, torchserve,
# tfserving, mlserver, in that order).
ServerKind = Literal[tuple(SERVERS)]  # type: ignore[valid-type]
Protocol = Literal[
    "rest-v1", "rest-v2", "grpc-v2", "torchserve-rest", "torchserve-grpc", "tfserving-grpc"
]


class ServedModel(Spec):
    """One more reference model a launched server serves (``launch.models``): its settings
    override the launch section's for that model only."""

    repeat: int | None = Field(None, ge=1, le=MAX_REPEATS)
    cost_ms: float | None = Field(None, ge=0, le=10_000)
    cache_size: int | None = Field(None, ge=0, le=1_000_000)


class LaunchSpec(Spec):
    """How ``--launch`` starts a local real server with the bundled reference model."""

    server: ServerKind | None = Field(None, description="default: the target's kind")
    # Upper bounds: past them a typo would start thousands of processes, allocate
    # gigabytes per layer or hold a batch for minutes.
    workers: int = Field(1, ge=1, le=MAX_SERVER_PROCESSES, description="server worker processes")
    instances: int = Field(
        1, ge=1, le=MAX_SERVER_PROCESSES, description="model instances (Triton instance_group)"
    )
    max_batch_size: int = Field(
        0, ge=0, le=65536, description="dynamic batching up to this; 0 = off"
    )
    batch_delay_ms: float = Field(
        0.0, ge=0, le=60_000, description="how long a batch may wait to fill"
    )
    hidden_width: int = Field(256, ge=1, le=16384)
    hidden_layers: int = Field(4, ge=1, le=256)
    repeat: int = Field(
        1, ge=1, le=MAX_REPEATS, description="forward passes per request: the cost knob"
    )
    cost_ms: float = Field(
        0.0,
        ge=0,
        le=10_000,
        description="CPU kept busy per request (ms): a set cost, so one "
        "worker saturates near 1000 / cost_ms req/s",
    )
    stall_every_s: float = Field(0.0, ge=0, le=3600)
    stall_for_s: float = Field(0.0, ge=0, le=3600)
    cache_size: int = Field(
        0, ge=0, le=1_000_000, description="answers cached by input bytes (LRU); 0 = no cache"
    )
    models: dict[Printable, ServedModel] = Field(
        default_factory=dict,
        max_length=16,
        description="serve these model names (each the reference model, with its own "
        "cost) instead of the target's one model",
    )


class TlsSpec(Spec):
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


class GrpcSpec(Spec):
    """gRPC channel options. -1 = unlimited, as NVIDIA's own client (tritonclient,
    perf_analyzer) sets them; gRPC's default would refuse answers over 4 MB."""

    # gRPC reads these as C ints: 2**31 - 1 bytes at most
    max_send_message_bytes: int = Field(-1, ge=-1, le=2**31 - 1, description="-1: unlimited")
    max_receive_message_bytes: int = Field(-1, ge=-1, le=2**31 - 1, description="-1: unlimited")

    def channel_options(self) -> list[tuple[str, int]]:
        """The options for ``grpc.insecure_channel`` / ``grpc.secure_channel``."""
        return [
            ("grpc.max_send_message_length", self.max_send_message_bytes),
            ("grpc.max_receive_message_length", self.max_receive_message_bytes),
        ]


class ModelShare(Spec):
    """One model of a model mix: its share of the requests and, optionally, its payload."""

    name: Printable = Field(min_length=1)
    weight: float = Field(1.0, gt=0, description="share of requests: weight / sum of weights")
    payload: PayloadSpec | None = Field(None, description="default: the target's payload")


class TargetSpec(Spec):
    """A target profile (targets/*.yaml or the user's own): which server (``kind``), where (``url``
    for HTTP, ``grpc_address`` host:port for gRPC, optional ``metrics_url`` and ``management_url``),
    which ``protocol`` and model (or a ``models`` mix of up to 16 by weight), what to send
    (``payload``), extra ``headers`` (``${VAR}`` read from the environment; values not in
    ``safe_headers`` never reach run files), timeouts in seconds, TLS, gRPC options and how to
    launch it locally. A field outside its allowed values raises pydantic's ValidationError, which
    the YAML loader reports as one InputError line naming the file, line and field.
    """

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
    timeout: PositiveSeconds = 30.0
    connect_timeout: PositiveSeconds = 5.0
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
