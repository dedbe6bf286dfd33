"""Protocol stand-ins for TF-Serving's gRPC and REST APIs, for tests. They are NOT TF-Serving.

No real TF-Serving can run here (tensorflow_model_server is not on PyPI, Debian or npm), so
`StandIn`, a small grpcio server, answers ``tensorflow.serving.PredictionService/Predict`` and
``GetModelMetadata`` and ``tensorflow.serving.ModelService/GetModelStatus`` with benchctl's own
message classes, and `RestStandIn` answers ``GET /v1/models/<m>``, ``GET .../metadata`` and
``POST ...:predict`` with documents shaped like TF-Serving's. Both serve the bundled reference
model. They check that benchctl speaks the protocol as TF-Serving's .proto files and REST
docs write it; they say nothing about how TF-Serving itself behaves or performs. An unknown
model is NOT_FOUND (gRPC) or 404 (REST).
"""

from __future__ import annotations

import argparse
import json
import threading
from concurrent import futures
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import grpc
import numpy as np

from benchctl.targets import tfserving_proto as pb
from benchctl.targets.refmodel import INPUT_NAME, MODEL_NAME, OUTPUT_NAME, RefModel
from benchctl.targets.tfserving import DEFAULT_SIGNATURE, to_array

VERSION = 1


class StandIn:
    """The stand-in server on 127.0.0.1; ``predict_count`` counts Predict calls answered."""

    def __init__(self, model_name: str = MODEL_NAME, port: int = 0, workers: int = 8) -> None:
        self.model_name = model_name
        self.model = RefModel()
        self.predict_count = 0
        self._lock = threading.Lock()
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=workers))
        self._server.add_generic_rpc_handlers(self._handlers())
        self.port = self._server.add_insecure_port(f"127.0.0.1:{port}")
        self.address = f"127.0.0.1:{self.port}"

    def start(self) -> StandIn:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop(grace=1.0).wait()

    def wait(self) -> None:
        self._server.wait_for_termination()

    def _handlers(self) -> tuple[grpc.GenericRpcHandler, ...]:
        def unary(handler: Any, request_type: Any) -> grpc.RpcMethodHandler:
            return grpc.unary_unary_rpc_method_handler(
                handler,
                request_deserializer=request_type.FromString,
                response_serializer=lambda m: m.SerializeToString(),
            )

        prediction = {
            "Predict": unary(self._predict, pb.PredictRequest),
            "GetModelMetadata": unary(self._metadata, pb.GetModelMetadataRequest),
        }
        status = {"GetModelStatus": unary(self._status, pb.GetModelStatusRequest)}
        return (
            grpc.method_handlers_generic_handler(pb.PREDICTION_SERVICE, prediction),
            grpc.method_handlers_generic_handler(pb.MODEL_SERVICE, status),
        )

    def _find(self, spec: Any, context: grpc.ServicerContext) -> None:
        if spec.name != self.model_name:
            context.abort(
                grpc.StatusCode.NOT_FOUND, f"Servable not found for request: Latest({spec.name})"
            )
        if spec.HasField("version") and spec.version.value != VERSION:
            context.abort(grpc.StatusCode.NOT_FOUND, f"Servable not found: {spec.version.value}")
        if spec.signature_name not in ("", DEFAULT_SIGNATURE):
            context.abort(
                grpc.StatusCode.INVALID_ARGUMENT,
                f'Serving signature key "{spec.signature_name}" not found.',
            )

    def _status(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._find(request.model_spec, context)
        response = pb.GetModelStatusResponse()
        response.model_version_status.add(version=VERSION, state=pb.AVAILABLE)
        return response

    def _metadata(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._find(request.model_spec, context)
        signatures = pb.SignatureDefMap()
        signature = signatures.signature_def[DEFAULT_SIGNATURE]
        signature.method_name = "tensorflow/serving/predict"
        info = signature.inputs[INPUT_NAME]
        info.name, info.dtype = "serving_default_input:0", pb.DATA_TYPES["DT_FLOAT"]
        info.tensor_shape.dim.add(size=-1)
        info.tensor_shape.dim.add(size=self.model.cfg.input_dim)
        response = pb.GetModelMetadataResponse()
        response.model_spec.name = self.model_name
        response.model_spec.version.value = VERSION
        packed = response.metadata["signature_def"]
        packed.type_url = pb.SIGNATURE_DEF_MAP_URL
        packed.value = signatures.SerializeToString()
        return response

    def _predict(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._find(request.model_spec, context)
        if INPUT_NAME not in request.inputs:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"input {INPUT_NAME!r} missing")
        try:
            y = self.model.predict(to_array(request.inputs[INPUT_NAME]))
        except ValueError as exc:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        response = pb.PredictResponse()
        response.model_spec.name = self.model_name
        response.model_spec.version.value = VERSION
        out = response.outputs[OUTPUT_NAME]
        out.dtype = pb.DATA_TYPES["DT_FLOAT"]
        out.tensor_shape.dim.extend(pb.TensorShapeProto.Dim(size=d) for d in y.shape)
        out.tensor_content = np.ascontiguousarray(y, "<f4").tobytes()
        with self._lock:
            self.predict_count += 1
        return response


def rest_metadata(model_name: str, input_dim: int) -> dict[str, Any]:
    """A ``GET /v1/models/<m>/metadata`` document as TF-Serving writes it (int64 as strings)."""

    def info(name: str, width: int) -> dict[str, Any]:
        dims = [{"size": "-1", "name": ""}, {"size": str(width), "name": ""}]
        shape = {"dim": dims, "unknown_rank": False}
        return {"dtype": "DT_FLOAT", "tensor_shape": shape, "name": name}

    signature = {
        "inputs": {INPUT_NAME: info("serving_default_input:0", input_dim)},
        "outputs": {OUTPUT_NAME: info("StatefulPartitionedCall:0", 10)},
        "method_name": "tensorflow/serving/predict",
    }
    init_op = {"inputs": {}, "outputs": {}, "method_name": ""}
    return {
        "model_spec": {"name": model_name, "signature_name": "", "version": str(VERSION)},
        "metadata": {
            "signature_def": {
                "signature_def": {"__saved_model_init_op": init_op, DEFAULT_SIGNATURE: signature}
            }
        },
    }


class RestStandIn:
    """TF-Serving-shaped REST answers on 127.0.0.1 (HTTP/1.1 keep-alive, no Nagle delay)."""

    def __init__(self, model_name: str = MODEL_NAME) -> None:
        self.model_name = model_name
        self.model = RefModel()
        self.predict_count = 0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> RestStandIn:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5.0)

    def answer(self, method: str, path: str, body: bytes) -> tuple[int, dict[str, Any]]:
        """(HTTP status, JSON document) for one request."""
        prefix = f"/v1/models/{self.model_name}"
        if not path.startswith(prefix):
            return 404, {"error": f"Servable not found for request: {path}"}
        rest = path.removeprefix(prefix).removeprefix(f"/versions/{VERSION}")
        if method == "GET" and rest == "":
            status = {"error_code": "OK", "error_message": ""}
            versions = [{"version": str(VERSION), "state": "AVAILABLE", "status": status}]
            return 200, {"model_version_status": versions}
        if method == "GET" and rest == "/metadata":
            return 200, rest_metadata(self.model_name, self.model.cfg.input_dim)
        if method == "POST" and rest == ":predict":
            return self._predict(body)
        return 404, {"error": f"Malformed request: {method} {path}"}

    def _predict(self, body: bytes) -> tuple[int, dict[str, Any]]:
        try:
            request = json.loads(body)
            columnar = "inputs" in request
            y = self.model.predict(np.asarray(request["inputs" if columnar else "instances"]))
        except (ValueError, KeyError, TypeError) as exc:
            return 400, {"error": str(exc)}
        with self._lock:
            self.predict_count += 1
        return 200, {("outputs" if columnar else "predictions"): y.tolist()}


def _handler(server: RestStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def do_GET(self) -> None:
            self._reply(*server.answer("GET", self.path, b""))

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            self._reply(*server.answer("POST", self.path, self.rfile.read(length)))

        def _reply(self, status: int, document: dict[str, Any]) -> None:
            data = json.dumps(document).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            return

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser(
        description="TF-Serving gRPC protocol stand-in (not TF-Serving)"
    )
    parser.add_argument("--port", type=int, default=8500)
    parser.add_argument("--model-name", default=MODEL_NAME)
    args = parser.parse_args()
    server = StandIn(args.model_name, args.port).start()
    print(f"stand-in (not TF-Serving) on {server.address}", flush=True)
    server.wait()


if __name__ == "__main__":
    main()
