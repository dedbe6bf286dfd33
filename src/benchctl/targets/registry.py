"""Explicit registries: one entry per server kind, and wire protocols -> adapters.

Adding a server: one ``Server`` entry in SERVERS, holding every fact benchctl knows about
it (its Prometheus counters for telemetry, the counter a KEDA trigger scales on, the KServe
serving runtime its manifests name, its ``--launch`` launcher or why it has none, what a
launched one adds to the target, the quirks of its v2 REST API), plus its adapter(s) in
ADAPTERS if it brings a new wire protocol; nothing else needs to know. The target profile's
``kind`` accepts exactly the keys of SERVERS (benchctl.specs.targets ``ServerKind``).

The facts are plain data, so telemetry and analysis read them without importing any
adapter or launcher: ``ADAPTERS`` and ``LAUNCHERS`` (gRPC, protobuf, psutil) are built on
first use.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, replace
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from benchctl.targets.adapter import Adapter
    from benchctl.targets.launch import Launcher


@dataclass(frozen=True)
class MetricMap:
    """A server's Prometheus counters for telemetry (benchctl.telemetry.server_metrics):
    names, and the factor from their unit to milliseconds."""

    requests: str  # cumulative count of finished inference requests
    queue: tuple[str, ...] = ()  # cumulative queue time (stages, summed)
    compute: tuple[str, ...] = ()  # cumulative compute time (stages, summed)
    to_ms: float = 1.0


@dataclass(frozen=True)
class ServerCounter:
    """The Prometheus counter a KEDA trigger can scale on for one server kind
    (benchctl.analysis.scaling_inputs ``rate_query``): the label naming the model, when it
    counts a request, a few words for the manifest's note, and its name ("" in a registry
    entry: the request counter telemetry reads, the entry's ``metrics.requests``)."""

    model_label: str
    counts: str  # "offered": counted on arrival; "completions": when a request finishes
    what: str
    name: str = ""


@dataclass(frozen=True)
class Server:
    """Everything benchctl knows about one server kind.

    ``kind``: the target profile's ``kind``; ``display``: the name people write (messages);
    ``runtime``: the KServe ServingRuntime of its InferenceService manifest; ``counter``:
    what KEDA scales on (named after ``metrics.requests`` unless it names its own);
    ``metrics``: the counters telemetry turns into per-window server
    numbers (None: not mapped, host numbers only); ``launcher``: ``"module:function"`` of
    its ``--launch`` launcher ("" with ``not_launchable`` saying why); ``launched_urls``:
    fields of a launched server copied into the target besides url, grpc_address and
    metrics_url (TorchServe: its management API); ``v2_json_fp16``: its v2 REST API reads
    FP16 from JSON numbers; ``v2_binary``: it reads the binary tensor data extension."""

    kind: str
    display: str
    runtime: str
    counter: ServerCounter
    metrics: MetricMap | None = None
    launcher: str = ""
    not_launchable: str = ""
    launched_urls: tuple[str, ...] = ()
    v2_json_fp16: bool = False
    v2_binary: bool = True
    # launched, its ``launch.workers`` are Python processes: about one core each (the GIL)
    python_workers: bool = False
    # launched, the launch setting that counts what serves requests side by side (each one
    # request at a time without batching): Triton's model instances, else worker processes
    parallel_units: str = "workers"

    def __post_init__(self) -> None:
        if not self.counter.name and self.metrics is not None:  # the counter telemetry reads
            object.__setattr__(self, "counter", replace(self.counter, name=self.metrics.requests))


_SERVERS = (
    Server(
        "kserve",
        "KServe",
        runtime="kserve-custom",
        counter=ServerCounter("model_name", "completions", "predict calls, on completion"),
        # histograms in seconds; no queue metric
        metrics=MetricMap(
            requests="request_predict_seconds_count",
            compute=(
                "request_preprocess_seconds_sum",
                "request_predict_seconds_sum",
                "request_postprocess_seconds_sum",
            ),
            to_ms=1e3,
        ),
        launcher="benchctl.targets.launch:launch_kserve_spec",
        python_workers=True,
    ),
    Server(
        "triton",
        "Triton",
        runtime="kserve-tritonserver",
        counter=ServerCounter("model", "completions", "successful requests, on completion"),
        # counters in microseconds; the success count excludes failures
        metrics=MetricMap(
            requests="nv_inference_request_success",
            queue=("nv_inference_queue_duration_us",),
            compute=(
                "nv_inference_compute_input_duration_us",
                "nv_inference_compute_infer_duration_us",
                "nv_inference_compute_output_duration_us",
            ),
            to_ms=1e-3,
        ),
        launcher="benchctl.targets.launch_triton:launch_triton_spec",
        parallel_units="instances",
    ),
    Server(
        "torchserve",
        "TorchServe",
        runtime="kserve-torchserve",
        counter=ServerCounter("model_name", "offered", "requests, counted when received"),
        # cumulative counters (not histograms) in microseconds
        metrics=MetricMap(
            requests="ts_inference_requests_total",
            queue=("ts_queue_latency_microseconds",),
            compute=("ts_inference_latency_microseconds",),
            to_ms=1e-3,
        ),
        launcher="benchctl.targets.launch_torchserve:launch_torchserve_spec",
        launched_urls=("management_url",),  # readiness of its workers (targets/torchserve.py)
    ),
    Server(
        "tfserving",
        "TF-Serving",
        runtime="kserve-tensorflow-serving",
        counter=ServerCounter("model_name", "completions", "requests, on completion"),
        # with --monitoring_config_file: latency histogram in microseconds
        metrics=MetricMap(
            requests=":tensorflow:serving:request_count",
            compute=(":tensorflow:serving:request_latency_sum",),
            to_ms=1e-3,
        ),
        not_launchable="TF-Serving cannot be launched here: tensorflow_model_server is not on "
        "PyPI, Debian or npm; point the target at a running TF-Serving (url/grpc_address) and "
        "run without --launch",
    ),
    Server(
        "mlserver",
        "MLServer",
        runtime="kserve-mlserver",
        counter=ServerCounter(  # no metrics mapped: the counter is named here
            "model", "completions", "successful requests, on completion",
            name="model_infer_request_success",
        ),
        launcher="benchctl.targets.launch_mlserver:launch_mlserver_spec",
        python_workers=True,
        v2_json_fp16=True,  # numpy decodes FP16 from JSON numbers (MLServer 1.7.1)
        v2_binary=False,  # MLServer 1.7.1 answers 500 to every binary-extension request
    ),
)  # fmt: skip
SERVERS: dict[str, Server] = {server.kind: server for server in _SERVERS}

# The counter KEDA scales on for a kind without an entry (a third-party target).
GENERIC_COUNTER = ServerCounter("model", "completions", "requests, on completion", "requests_total")

# Kinds `--launch` refuses, and why (checked before anything is created).
NOT_LAUNCHABLE: dict[str, str] = {
    kind: server.not_launchable for kind, server in SERVERS.items() if server.not_launchable
}


def server_counter(kind: str) -> ServerCounter:
    """The counter a KEDA trigger scales on for ``kind`` (GENERIC_COUNTER if unknown)."""
    server = SERVERS.get(kind)
    return server.counter if server is not None else GENERIC_COUNTER


def display_name(kind: str) -> str:
    """``kind`` as people write it ("TorchServe"); ``kind`` itself if unknown."""
    server = SERVERS.get(kind)
    return server.display if server is not None else kind


@cache
def adapters() -> dict[str, Adapter]:
    """Wire protocol -> its adapter (imports the adapters: gRPC, protobuf)."""
    from benchctl.targets.tfserving import TfServingGrpc
    from benchctl.targets.torchserve import TorchServeGrpc, TorchServeRest
    from benchctl.targets.v1 import RestV1
    from benchctl.targets.v2 import GrpcV2, RestV2

    found = (RestV1(), RestV2(), GrpcV2(), TfServingGrpc(), TorchServeRest(), TorchServeGrpc())
    return {adapter.protocol: adapter for adapter in found}


@cache
def launchers() -> dict[str, Launcher]:
    """Server kind -> its ``--launch`` launcher, from each entry's ``launcher``."""
    found: dict[str, Launcher] = {}
    for kind, server in SERVERS.items():
        if server.launcher:
            module, function = server.launcher.split(":")
            found[kind] = getattr(importlib.import_module(module), function)
    return found


def __getattr__(name: str) -> Any:
    """``ADAPTERS`` and ``LAUNCHERS``, built on first use (see the module docstring)."""
    if name == "ADAPTERS":
        return adapters()
    if name == "LAUNCHERS":
        return launchers()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
