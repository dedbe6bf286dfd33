"""Serve the reference model with a real KServe ModelServer, on 127.0.0.1 only.

Run with the KServe environment's python (see benchctl.targets.launch), never imported by
benchctl itself. kserve 0.21 has no host option (REST binds 0.0.0.0, gRPC [::]), so two
small patches bind loopback instead; access and per-request timing logs are silenced.
With --workers N > 1, KServe spawns N uvicorn processes that re-run this file's top level
as __mp_main__ and unpickle the model, so everything they need is defined at top level.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

# kserve.model_server parses sys.argv when imported: hide our own arguments from it.
_ARGV = sys.argv[1:]
sys.argv = sys.argv[:1]

import grpc  # noqa: E402
import kserve  # noqa: E402
import kserve.logging  # noqa: E402
import numpy as np  # noqa: E402
from kserve.errors import InvalidInput  # noqa: E402
from kserve.protocol.grpc import server as grpc_server  # noqa: E402
from kserve.protocol.infer_type import InferOutput, InferRequest, InferResponse  # noqa: E402
from kserve.protocol.rest import server as rest_server  # noqa: E402
from kserve.utils.utils import generate_uuid  # noqa: E402

LOOPBACK = "127.0.0.1"
_REFMODEL_MODULE = "benchctl_refmodel"


def _load_refmodel() -> Any:
    """Import ../refmodel.py by path (benchctl itself is not installed in this venv)."""
    if _REFMODEL_MODULE in sys.modules:
        return sys.modules[_REFMODEL_MODULE]
    path = Path(__file__).resolve().parent.parent / "refmodel.py"
    spec = importlib.util.spec_from_file_location(_REFMODEL_MODULE, path)
    assert spec is not None and spec.loader is not None, path
    module = importlib.util.module_from_spec(spec)
    sys.modules[_REFMODEL_MODULE] = module  # so pickled RefModel objects resolve in workers
    spec.loader.exec_module(module)
    return module


refmodel = _load_refmodel()


# --- loopback binding and quiet logs (applied in the parent and in every worker) -----------

_rest_server_init = rest_server.RESTServer.__init__


def _loopback_rest_init(self: Any, *args: Any, **kwargs: Any) -> None:
    _rest_server_init(self, *args, **kwargs)
    self.config.host = LOOPBACK  # uvicorn.Config; bound later by serve() or bind_socket()


class _LoopbackAio:
    """Stands in for `grpc.aio` inside kserve's gRPC module: same server, loopback port."""

    def __getattr__(self, name: str) -> Any:
        return getattr(grpc.aio, name)

    @staticmethod
    def server(*args: Any, **kwargs: Any) -> grpc.aio.Server:
        """``grpc.aio.server(*args, **kwargs)`` whose ``add_insecure_port`` binds the given port on
        LOOPBACK instead of the address kserve passes (``"[::]:PORT"``). Returns the server; grpc's
        errors propagate.
        """
        srv = grpc.aio.server(*args, **kwargs)
        add_insecure_port = srv.add_insecure_port

        def add_loopback_port(address: str) -> int:  # kserve passes "[::]:PORT"
            return add_insecure_port(f"{LOOPBACK}:{address.rsplit(':', 1)[1]}")

        srv.add_insecure_port = add_loopback_port  # type: ignore[method-assign]
        return srv


class _QuietLoggingInterceptor(grpc_server.LoggingInterceptor):
    """kserve's gRPC LoggingInterceptor logs one INFO line per call; this one does not."""

    async def intercept_service(self, continuation: Any, handler_call_details: Any) -> Any:
        """Pass the call on to ``continuation`` unchanged (no per-call log line) and return its
        handler.
        """
        return await continuation(handler_call_details)


rest_server.RESTServer.__init__ = _loopback_rest_init  # type: ignore[method-assign]
grpc_server.aio = _LoopbackAio()  # type: ignore[assignment]
grpc_server.LoggingInterceptor = _QuietLoggingInterceptor  # type: ignore[misc]
# No handler on uvicorn.access -> uvicorn skips access logging entirely; the per-request
# timing lines of kserve.trace (TimingMiddleware) drop below the level.
_LOG_LOGGERS = kserve.logging.KSERVE_LOG_CONFIG["loggers"]
_LOG_LOGGERS["uvicorn.access"] = {"handlers": [], "level": "WARNING", "propagate": False}
_LOG_LOGGERS["kserve.trace"]["level"] = "WARNING"
kserve.logging.configure_logging(kserve.logging.KSERVE_LOG_CONFIG)


# --- the model -------------------------------------------------------------------------------


class RefKServeModel(kserve.Model):
    """The reference MLP behind KServe's v1 and v2 (REST and gRPC) endpoints."""

    def __init__(self, name: str, cfg: Any) -> None:
        super().__init__(name)
        self.cfg = cfg
        self.model: Any = None

    def load(self) -> bool:
        """Build the reference model from the settings; True (ready)."""
        self.model = refmodel.RefModel(self.cfg)
        self.ready = True
        return self.ready

    def get_input_types(self) -> list[dict[str, Any]]:
        """v2 metadata of the one input: FP32 ``[-1, input_dim]``."""
        return [
            {"name": refmodel.INPUT_NAME, "datatype": "FP32", "shape": [-1, self.cfg.input_dim]}
        ]

    def get_output_types(self) -> list[dict[str, Any]]:
        """v2 metadata of the one output: FP32 ``[-1, output_dim]``."""
        return [
            {"name": refmodel.OUTPUT_NAME, "datatype": "FP32", "shape": [-1, self.cfg.output_dim]}
        ]

    def _run(self, x: Any) -> np.ndarray:
        try:
            return self.model.predict(np.asarray(x, dtype=np.float32))
        except (ValueError, TypeError) as exc:
            raise InvalidInput(str(exc)) from exc

    # Deliberately synchronous: it runs on the event loop, so a stall stalls the whole worker.
    def predict(
        self, payload: dict[str, Any] | InferRequest, headers: dict[str, str] | None = None
    ) -> dict[str, Any] | InferResponse:
        """The reference model's outputs for a v2 request (one FP32 output tensor) or a v1
        body: ``instances`` rows (answered as ``predictions``) or columnar ``inputs``
        (answered as ``outputs``). Raises InvalidInput (KServe answers 400) for a missing
        input or rows of the wrong width."""
        if isinstance(payload, InferRequest):  # v2 REST and gRPC
            tensor = payload.get_input_by_name(refmodel.INPUT_NAME)
            if tensor is None:
                names = [i.name for i in payload.inputs]
                raise InvalidInput(f"expected input {refmodel.INPUT_NAME!r}, got {names}")
            y = self._run(tensor.as_numpy())
            out = InferOutput(refmodel.OUTPUT_NAME, list(y.shape), "FP32")
            # Encode here, as kserve's own get_predict_response does: to_grpc() fails on an
            # ndarray `data` when the request came with raw (binary) input contents.
            out.set_data_from_numpy(y, binary_data=payload.use_binary_outputs)
            return InferResponse(
                response_id=payload.id or generate_uuid(),
                model_name=self.name,
                infer_outputs=[out],
                use_binary_outputs=payload.use_binary_outputs,
                requested_outputs=payload.request_outputs,
            )
        # v1 (TF-Serving style): row format "instances" or columnar "inputs"
        if "instances" in payload:
            return {"predictions": self._run(payload["instances"]).tolist()}
        if "inputs" in payload:
            return {"outputs": self._run(payload["inputs"]).tolist()}
        raise InvalidInput('v1 request needs "instances" (or "inputs")')


def _parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Serve the reference model with KServe.")
    p.add_argument("--http-port", type=int, required=True)
    p.add_argument("--grpc-port", type=int, required=True)
    p.add_argument("--model-name", default=refmodel.MODEL_NAME)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument(
        "--models",
        default="",
        help="JSON {name: {field: value}}: serve these models (each the reference model with "
        "these RefModelConfig fields changed) instead of --model-name",
    )
    refmodel.add_config_arguments(p)
    return p.parse_args(argv)


def main(argv: list[str]) -> None:
    """Serve the reference model (or ``--models``) on 127.0.0.1 at the given ports until
    stopped (SIGTERM)."""
    args = _parse_args(argv)
    cfg = refmodel.config_from_arguments(args)
    served = json.loads(args.models) if args.models else {args.model_name: {}}
    models = []
    for name, changes in served.items():
        model = RefKServeModel(name, dataclasses.replace(cfg, **changes))
        model.load()
        models.append(model)
    kserve.ModelServer(
        http_port=args.http_port,
        grpc_port=args.grpc_port,
        workers=args.workers,
        enable_latency_logging=False,
        grace_period=2,
    ).start(models)


if __name__ == "__main__":
    main(_ARGV)
