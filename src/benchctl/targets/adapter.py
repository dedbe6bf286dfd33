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
    """One wire protocol: readiness, model inputs, request encoding, answer checking.

    Implementations subclass it (so their methods share these docstrings) and are listed in
    ``registry.ADAPTERS`` under their ``protocol``.
    """

    protocol: str  # the target profile's `protocol:` value
    transport: str  # "http" or "grpc"

    def check_ready(self, target: TargetSpec, name: str) -> None:
        """Ask the server whether ``target``'s model is ready to serve.

        ``name`` prefixes every message (e.g. ``target 'triton'``). Returns None when ready;
        raises InputError (one line naming the URL or address and what it answered) when the
        server cannot be reached, does not have the model, or the model is not ready.
        """

    def model_inputs(self, target: TargetSpec, name: str) -> list[dict[str, Any]]:
        """The model's inputs as v2-style dicts: ``{"name", "datatype", "shape"}`` with -1
        for a dynamic dimension (the batch). Raises InputError (one line) when the server
        publishes none (then a payload file is needed) or cannot be reached."""

    def build_request(self, target: TargetSpec, payload: Payload) -> WireRequest:
        """The encoded request every load process will send, built once before the run.

        ``payload``: tensors (rows along the first dimension) or a JSON request body. The
        WireRequest's ``expect_rows`` is the payload's batch size. Raises InputError (one
        line) for a payload this wire cannot carry (e.g. FP16 in JSON, a JSON body over gRPC).
        """

    def check_response(self, body: bytes, expect_rows: int) -> str:
        """``""`` when ``body`` (a success answer's bytes) is a valid answer carrying
        ``expect_rows`` rows, else ``"bad_response"``. Never raises: called per request in
        the engine, so it must stay cheap (microseconds)."""


def adapter_for(protocol: str) -> Adapter:
    """The registered adapter for ``protocol`` (a target's ``protocol:`` value).

    Raises InputError (one line listing the supported protocols) for an unknown one.
    """
    from benchctl.targets.registry import ADAPTERS

    try:
        return ADAPTERS[protocol]
    except KeyError:
        raise InputError(
            f"protocol {protocol!r} is not supported: choose one of {', '.join(sorted(ADAPTERS))}"
        ) from None
