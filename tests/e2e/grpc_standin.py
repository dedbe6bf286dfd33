"""An Open Inference Protocol (v2) gRPC stand-in on 127.0.0.1 (messages from benchctl's own
v2_proto, which mirror grpc_predict_v2.proto), for answers a test needs to control: a large
``raw_output_contents`` (like a mask or embedding model), or a slow answer. Run in-process:
``with GrpcV2Standin(out_bytes=...) as s: s.address``.
"""

from __future__ import annotations

import threading
import time
from concurrent import futures
from typing import Any

import grpc
import numpy as np

from benchctl.targets import v2_proto as v2


class GrpcV2Standin:
    """Model ``mlp`` with input ``x`` FP32 [-1, 4]; answers FP32 [rows, n] with about
    ``out_bytes`` bytes of raw output, after ``delay`` seconds. Counts answered requests."""

    def __init__(self, *, out_bytes: int = 8, delay: float = 0.0, model: str = "mlp") -> None:
        self.out_bytes = out_bytes
        self.delay = delay
        self.model = model
        self.answered = 0
        self._lock = threading.Lock()
        options = [("grpc.max_send_message_length", -1), ("grpc.max_receive_message_length", -1)]
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=16), options=options)
        handlers = {
            "ServerReady": self._unary(self._server_ready, v2.ServerReadyRequest),
            "ModelReady": self._unary(self._model_ready, v2.ModelReadyRequest),
            "ModelMetadata": self._unary(self._metadata, v2.ModelMetadataRequest),
            "ModelInfer": self._unary(self._infer, v2.ModelInferRequest),
        }
        self._server.add_generic_rpc_handlers(
            [grpc.method_handlers_generic_handler(v2.SERVICE, handlers)]
        )
        self.port = self._server.add_insecure_port("127.0.0.1:0")

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def __enter__(self) -> GrpcV2Standin:
        self._server.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.stop(grace=None)

    @staticmethod
    def _unary(fn: Any, request_type: Any) -> Any:
        return grpc.unary_unary_rpc_method_handler(
            fn,
            request_deserializer=request_type.FromString,
            response_serializer=lambda m: m.SerializeToString(),
        )

    def _server_ready(self, request: Any, context: Any) -> Any:
        return v2.ServerReadyResponse(ready=True)

    def _model_ready(self, request: Any, context: Any) -> Any:
        return v2.ModelReadyResponse(ready=request.name == self.model)

    def _metadata(self, request: Any, context: Any) -> Any:
        response = v2.ModelMetadataResponse(name=self.model, versions=["1"], platform="standin")
        response.inputs.add(name="x", datatype="FP32", shape=[-1, 4])
        response.outputs.add(name="y", datatype="FP32", shape=[-1, 2])
        return response

    def _infer(self, request: Any, context: Any) -> Any:
        if self.delay:
            time.sleep(self.delay)
        rows = request.inputs[0].shape[0] if request.inputs and request.inputs[0].shape else 1
        width = max(2, self.out_bytes // 4 // rows)
        response = v2.ModelInferResponse(model_name=self.model, model_version="1")
        response.outputs.add(name="y", datatype="FP32", shape=[rows, width])
        response.raw_output_contents.append(np.full(rows * width, 0.5, "<f4").tobytes())
        with self._lock:
            self.answered += 1
        return response


def write_grpc_target(path: Any, address: str, *lines: str, timeout: str = "5s") -> Any:
    """A grpc-v2 target profile for the stand-in (payload from its metadata)."""
    text = (
        f"kind: triton\nurl: http://127.0.0.1:9\ngrpc_address: {address}\nprotocol: grpc-v2\n"
        f"model: mlp\npayload: {{source: metadata, batch_size: 1}}\ntimeout: {timeout}\n"
    )
    path.write_text(text + "".join(f"{line}\n" for line in lines))
    return path
