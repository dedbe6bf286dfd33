"""The few TensorFlow Serving gRPC messages benchctl needs, built at import time.

Two packages, as in the real protos: ``tensorflow`` (``framework/types.proto``,
``tensor_shape.proto``, ``tensor.proto``, ``protobuf/meta_graph.proto``) and
``tensorflow.serving`` (``apis/model.proto``, ``predict.proto``, ``get_model_metadata.proto``,
``get_model_status.proto``, ``util/status.proto``). Names and field numbers match them, so the
messages interoperate on the wire; fields benchctl never reads are left out (a parser skips
unknown fields). Built by ``targets/proto_builder.py``: no generated files, no build step, no
copied .proto, and no TensorFlow (``tensorflow-serving-api`` imports all of it).
"""

from __future__ import annotations

from google.protobuf import any_pb2, wrappers_pb2

from benchctl.targets.proto_builder import Field, ProtoFile, build

PREDICTION_SERVICE = "tensorflow.serving.PredictionService"
MODEL_SERVICE = "tensorflow.serving.ModelService"
_DATA_TYPES = {  # tensorflow.DataType (types.proto), without the *_REF values
    "DT_INVALID": 0, "DT_FLOAT": 1, "DT_DOUBLE": 2, "DT_INT32": 3, "DT_UINT8": 4,
    "DT_INT16": 5, "DT_INT8": 6, "DT_STRING": 7, "DT_COMPLEX64": 8, "DT_INT64": 9,
    "DT_BOOL": 10, "DT_QINT8": 11, "DT_QUINT8": 12, "DT_QINT32": 13, "DT_BFLOAT16": 14,
    "DT_QINT16": 15, "DT_QUINT16": 16, "DT_UINT16": 17, "DT_COMPLEX128": 18, "DT_HALF": 19,
    "DT_RESOURCE": 20, "DT_VARIANT": 21, "DT_UINT32": 22, "DT_UINT64": 23,
}  # fmt: skip
_VERSION_STATES = {  # ModelVersionStatus.State (get_model_status.proto)
    "UNKNOWN": 0, "START": 10, "LOADING": 20, "AVAILABLE": 30, "UNLOADING": 40, "END": 50,
}  # fmt: skip

_TENSORFLOW: dict[str, list[Field]] = {
    "TensorShapeProto.Dim": [("size", 1, "int64"), ("name", 2, "string")],
    "TensorShapeProto": [
        ("*dim", 2, ".tensorflow.TensorShapeProto.Dim"),
        ("unknown_rank", 3, "bool"),
    ],
    "TensorProto": [
        ("dtype", 1, ".tensorflow.DataType"),
        ("tensor_shape", 2, ".tensorflow.TensorShapeProto"),
        ("version_number", 3, "int32"),
        ("tensor_content", 4, "bytes"),
        ("*float_val", 5, "float"),
        ("*double_val", 6, "double"),
        ("*int_val", 7, "int32"),
        ("*string_val", 8, "bytes"),
        ("*int64_val", 10, "int64"),
        ("*bool_val", 11, "bool"),
        ("*half_val", 13, "int32"),
        ("*uint32_val", 16, "uint32"),
        ("*uint64_val", 17, "uint64"),
    ],
    "TensorInfo": [  # meta_graph.proto; the sparse/composite encodings are left out
        ("name", 1, "string", "encoding"),
        ("dtype", 2, ".tensorflow.DataType"),
        ("tensor_shape", 3, ".tensorflow.TensorShapeProto"),
    ],
    "SignatureDef": [
        ("inputs", 1, "map<string, .tensorflow.TensorInfo>"),
        ("outputs", 2, "map<string, .tensorflow.TensorInfo>"),
        ("method_name", 3, "string"),
    ],
}
_SERVING: dict[str, list[Field]] = {
    "ModelSpec": [
        ("name", 1, "string"),
        ("version", 2, ".google.protobuf.Int64Value", "version_choice"),
        ("version_label", 4, "string", "version_choice"),
        ("signature_name", 3, "string"),
    ],
    "PredictRequest": [
        ("model_spec", 1, ".tensorflow.serving.ModelSpec"),
        ("inputs", 2, "map<string, .tensorflow.TensorProto>"),
        ("*output_filter", 3, "string"),
    ],
    "PredictResponse": [
        ("model_spec", 2, ".tensorflow.serving.ModelSpec"),
        ("outputs", 1, "map<string, .tensorflow.TensorProto>"),
    ],
    "SignatureDefMap": [("signature_def", 1, "map<string, .tensorflow.SignatureDef>")],
    "GetModelMetadataRequest": [
        ("model_spec", 1, ".tensorflow.serving.ModelSpec"),
        ("*metadata_field", 2, "string"),
    ],
    "GetModelMetadataResponse": [
        ("model_spec", 1, ".tensorflow.serving.ModelSpec"),
        ("metadata", 2, "map<string, .google.protobuf.Any>"),
    ],
    # util/status.proto: error_code is the enum tensorflow.error.Code, a varint on the wire.
    "StatusProto": [("error_code", 1, "int32"), ("error_message", 2, "string")],
    "GetModelStatusRequest": [("model_spec", 1, ".tensorflow.serving.ModelSpec")],
    "ModelVersionStatus": [
        ("version", 1, "int64"),
        ("state", 2, ".tensorflow.serving.ModelVersionStatus.State"),
        ("status", 3, ".tensorflow.serving.StatusProto"),
    ],
    "GetModelStatusResponse": [
        ("*model_version_status", 1, ".tensorflow.serving.ModelVersionStatus"),
    ],
}
MESSAGES = build(
    ProtoFile("tensorflow", _TENSORFLOW, {"DataType": _DATA_TYPES}),
    ProtoFile("tensorflow.serving", _SERVING, {"ModelVersionStatus.State": _VERSION_STATES}),
    imports=(any_pb2, wrappers_pb2),
)
TensorShapeProto = MESSAGES["TensorShapeProto"]
TensorProto = MESSAGES["TensorProto"]
TensorInfo = MESSAGES["TensorInfo"]
SignatureDef = MESSAGES["SignatureDef"]
ModelSpec = MESSAGES["ModelSpec"]
PredictRequest = MESSAGES["PredictRequest"]
PredictResponse = MESSAGES["PredictResponse"]
SignatureDefMap = MESSAGES["SignatureDefMap"]
GetModelMetadataRequest = MESSAGES["GetModelMetadataRequest"]
GetModelMetadataResponse = MESSAGES["GetModelMetadataResponse"]
GetModelStatusRequest = MESSAGES["GetModelStatusRequest"]
GetModelStatusResponse = MESSAGES["GetModelStatusResponse"]
DATA_TYPES = _DATA_TYPES
AVAILABLE = _VERSION_STATES["AVAILABLE"]
SIGNATURE_DEF_MAP_URL = "type.googleapis.com/tensorflow.serving.SignatureDefMap"


def method(service: str, name: str) -> str:
    """Full gRPC method path, e.g. ``/tensorflow.serving.PredictionService/Predict``."""
    return f"/{service}/{name}"
