"""The few Open Inference Protocol (v2) gRPC messages benchctl needs, built at import time.

Package ``inference``, message names and field numbers as in the v2 protocol's
``grpc_predict_v2.proto`` (served by KServe, Triton and MLServer), so they interoperate on
the wire. Defined here in code: no generated files, no build step, no copied .proto.
"""

from __future__ import annotations

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

SERVICE = "inference.GRPCInferenceService"
_F = descriptor_pb2.FieldDescriptorProto
_MESSAGES: dict[str, list[tuple[str, int, int, str]]] = {
    # name: [(field, number, type, message type or "" ; "*" prefix = repeated)]
    "ServerReadyRequest": [],
    "ServerReadyResponse": [("ready", 1, _F.TYPE_BOOL, "")],
    "ModelReadyRequest": [("name", 1, _F.TYPE_STRING, ""), ("version", 2, _F.TYPE_STRING, "")],
    "ModelReadyResponse": [("ready", 1, _F.TYPE_BOOL, "")],
    "ModelMetadataRequest": [("name", 1, _F.TYPE_STRING, ""), ("version", 2, _F.TYPE_STRING, "")],
    "TensorMetadata": [
        ("name", 1, _F.TYPE_STRING, ""),
        ("datatype", 2, _F.TYPE_STRING, ""),
        ("*shape", 3, _F.TYPE_INT64, ""),
    ],
    "ModelMetadataResponse": [
        ("name", 1, _F.TYPE_STRING, ""),
        ("*versions", 2, _F.TYPE_STRING, ""),
        ("platform", 3, _F.TYPE_STRING, ""),
        ("*inputs", 4, _F.TYPE_MESSAGE, "TensorMetadata"),
        ("*outputs", 5, _F.TYPE_MESSAGE, "TensorMetadata"),
    ],
    "InferTensorContents": [
        ("*bool_contents", 1, _F.TYPE_BOOL, ""),
        ("*int_contents", 2, _F.TYPE_INT32, ""),
        ("*int64_contents", 3, _F.TYPE_INT64, ""),
        ("*uint_contents", 4, _F.TYPE_UINT32, ""),
        ("*uint64_contents", 5, _F.TYPE_UINT64, ""),
        ("*fp32_contents", 6, _F.TYPE_FLOAT, ""),
        ("*fp64_contents", 7, _F.TYPE_DOUBLE, ""),
        ("*bytes_contents", 8, _F.TYPE_BYTES, ""),
    ],
    "InferInputTensor": [
        ("name", 1, _F.TYPE_STRING, ""),
        ("datatype", 2, _F.TYPE_STRING, ""),
        ("*shape", 3, _F.TYPE_INT64, ""),
        ("contents", 5, _F.TYPE_MESSAGE, "InferTensorContents"),
    ],
    "InferRequestedOutputTensor": [("name", 1, _F.TYPE_STRING, "")],
    "ModelInferRequest": [
        ("model_name", 1, _F.TYPE_STRING, ""),
        ("model_version", 2, _F.TYPE_STRING, ""),
        ("id", 3, _F.TYPE_STRING, ""),
        ("*inputs", 5, _F.TYPE_MESSAGE, "InferInputTensor"),
        ("*outputs", 6, _F.TYPE_MESSAGE, "InferRequestedOutputTensor"),
        ("*raw_input_contents", 7, _F.TYPE_BYTES, ""),
    ],
    "InferOutputTensor": [
        ("name", 1, _F.TYPE_STRING, ""),
        ("datatype", 2, _F.TYPE_STRING, ""),
        ("*shape", 3, _F.TYPE_INT64, ""),
        ("contents", 5, _F.TYPE_MESSAGE, "InferTensorContents"),
    ],
    "ModelInferResponse": [
        ("model_name", 1, _F.TYPE_STRING, ""),
        ("model_version", 2, _F.TYPE_STRING, ""),
        ("id", 3, _F.TYPE_STRING, ""),
        ("*outputs", 5, _F.TYPE_MESSAGE, "InferOutputTensor"),
        ("*raw_output_contents", 6, _F.TYPE_BYTES, ""),
    ],
}


def _build() -> dict[str, type]:
    file = descriptor_pb2.FileDescriptorProto(
        name="benchctl/v2_minimal.proto", package="inference", syntax="proto3"
    )
    for message_name, fields in _MESSAGES.items():
        message = file.message_type.add(name=message_name)
        for name, number, kind, type_name in fields:
            repeated = name.startswith("*")
            field = message.field.add(
                name=name.lstrip("*"),
                number=number,
                type=kind,
                label=_F.LABEL_REPEATED if repeated else _F.LABEL_OPTIONAL,
            )
            if type_name:
                field.type_name = f".inference.{type_name}"
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    return {
        name: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"inference.{name}"))
        for name in _MESSAGES
    }


MESSAGES = _build()
ServerReadyRequest = MESSAGES["ServerReadyRequest"]
ServerReadyResponse = MESSAGES["ServerReadyResponse"]
ModelReadyRequest = MESSAGES["ModelReadyRequest"]
ModelReadyResponse = MESSAGES["ModelReadyResponse"]
ModelMetadataRequest = MESSAGES["ModelMetadataRequest"]
ModelMetadataResponse = MESSAGES["ModelMetadataResponse"]
ModelInferRequest = MESSAGES["ModelInferRequest"]
ModelInferResponse = MESSAGES["ModelInferResponse"]


def method(name: str) -> str:
    """Full gRPC method path, e.g. ``/inference.GRPCInferenceService/ModelInfer``."""
    return f"/{SERVICE}/{name}"
