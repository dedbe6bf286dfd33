"""The Open Inference Protocol (v2) gRPC messages benchctl uses, from tritonclient's stubs.

``tritonclient.grpc.service_pb2`` is NVIDIA's generated code for ``grpc_service.proto``
(package ``inference``), the protocol KServe, Triton and MLServer serve; KServe's
``grpc_predict_v2.proto`` has the same names and field numbers for these messages, so the
bytes are the same on every server. Only the messages are used: benchctl sends pre-serialized
bodies on its own channels (``targets/remote.py``, ``load/clients.py``), not through
tritonclient's client. The package is a declared dependency without its ``[grpc]`` extra,
whose ``protobuf<7`` pin is the only thing it would add; its 6.x generated code runs on the
protobuf 7 runtime (protobuf's cross-version guarantee: a runtime reads the gencode of the
previous major version).
"""

from __future__ import annotations

from tritonclient.grpc import service_pb2

SERVICE = "inference.GRPCInferenceService"

ServerReadyRequest = service_pb2.ServerReadyRequest
ServerReadyResponse = service_pb2.ServerReadyResponse
ModelReadyRequest = service_pb2.ModelReadyRequest
ModelReadyResponse = service_pb2.ModelReadyResponse
ModelMetadataRequest = service_pb2.ModelMetadataRequest
ModelMetadataResponse = service_pb2.ModelMetadataResponse
ModelInferRequest = service_pb2.ModelInferRequest
ModelInferResponse = service_pb2.ModelInferResponse


def method(name: str) -> str:
    """The full gRPC method path of a ``GRPCInferenceService`` method.

    ``name``: a method of the service, e.g. ``"ModelInfer"``. Returns
    ``"/inference.GRPCInferenceService/ModelInfer"``. Raises nothing (the name is not checked).
    """
    return f"/{SERVICE}/{name}"
