"""The one interface every protocol implements, and the registry of them.

An adapter knows, for one wire protocol: is the model ready, what are its inputs, how is
the request encoded (once, before the run), and is a response a valid answer (per request,
inside the engine). Servers that share a protocol share its adapter: KServe, Triton and
MLServer all speak v2.
"""

from __future__ import annotations

from typing import Any, Protocol

from benchctl.config import TargetSpec
from benchctl.errors import InputError
from benchctl.targets.payload import Tensor
from benchctl.targets.wire import WireRequest

Payload = list[Tensor] | dict[str, Any]


class Adapter(Protocol):
    protocol: str  # the target profile's `protocol:` value
    transport: str  # "http" or "grpc"

    def check_ready(self, target: TargetSpec, name: str) -> None:
        """Raise InputError (one line) unless the server answers and the model is ready."""

    def model_inputs(self, target: TargetSpec, name: str) -> list[dict[str, Any]]:
        """The model's inputs as v2-style dicts (name, datatype, shape with -1 for dynamic)."""

    def build_request(self, target: TargetSpec, payload: Payload) -> WireRequest:
        """The encoded request every load process will send."""

    def check_response(self, body: bytes, expect_rows: int) -> str:
        """ "" for a valid answer with ``expect_rows`` rows, else ``bad_response``."""


def adapter_for(protocol: str) -> Adapter:
    from benchctl.targets.registry import ADAPTERS

    try:
        return ADAPTERS[protocol]
    except KeyError:
        raise InputError(
            f"protocol {protocol!r} is not supported: choose one of {', '.join(sorted(ADAPTERS))}"
        ) from None
