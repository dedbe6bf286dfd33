"""TF-Serving protocol: message layout, tensor encoding, response checks, metadata mapping."""

import json
import subprocess
import sys

import numpy as np
import pytest

from benchctl.config import PayloadSpec, TargetSpec
from benchctl.errors import InputError
from benchctl.targets import tfserving_proto as pb
from benchctl.targets.payload import DATATYPES, Tensor, tensors_from_metadata
from benchctl.targets.registry import ADAPTERS
from benchctl.targets.tfserving import (
    consistent,
    fill_model_spec,
    make_tensor_proto,
    signature_inputs,
    to_array,
)
from benchctl.targets.v1 import model_state, request_body, tfserving_inputs

GRPC = ADAPTERS["tfserving-grpc"]
REST = ADAPTERS["rest-v1"]

# GET /v1/models/<m>/metadata as TF-Serving writes it: int64 sizes as strings, the
# signature_def map nested twice (Any unpacked), an __saved_model_init_op beside the signature.
METADATA = {
    "model_spec": {"name": "cracks", "signature_name": "", "version": "1"},
    "metadata": {
        "signature_def": {
            "signature_def": {
                "serving_default": {
                    "inputs": {
                        "input_image": {
                            "dtype": "DT_FLOAT",
                            "tensor_shape": {
                                "dim": [
                                    {"size": "-1", "name": ""},
                                    {"size": "64", "name": ""},
                                    {"size": "64", "name": ""},
                                    {"size": "3", "name": ""},
                                ],
                                "unknown_rank": False,
                            },
                            "name": "serving_default_input_image:0",
                        },
                        "nwords": {
                            "dtype": "DT_INT32",
                            "tensor_shape": {
                                "dim": [{"size": "-1", "name": ""}],
                                "unknown_rank": False,
                            },
                            "name": "serving_default_nwords:0",
                        },
                    },
                    "outputs": {
                        "output_0": {
                            "dtype": "DT_FLOAT",
                            "tensor_shape": {"dim": [], "unknown_rank": True},
                            "name": "StatefulPartitionedCall:0",
                        }
                    },
                    "method_name": "tensorflow/serving/predict",
                },
                "__saved_model_init_op": {
                    "inputs": {},
                    "outputs": {
                        "__saved_model_init_op": {
                            "dtype": "DT_INVALID",
                            "tensor_shape": {"dim": [], "unknown_rank": True},
                            "name": "NoOp",
                        }
                    },
                    "method_name": "",
                },
            }
        }
    },
}


# --------------------------------------------------------------------------- message layout


def test_packages_names_and_field_numbers_match_the_real_protos():
    assert pb.PredictRequest.DESCRIPTOR.full_name == "tensorflow.serving.PredictRequest"
    assert pb.TensorProto.DESCRIPTOR.full_name == "tensorflow.TensorProto"
    numbers = {
        pb.PredictRequest: {"model_spec": 1, "inputs": 2, "output_filter": 3},
        pb.PredictResponse: {"outputs": 1, "model_spec": 2},
        pb.ModelSpec: {"name": 1, "version": 2, "signature_name": 3, "version_label": 4},
        pb.TensorProto: {"dtype": 1, "tensor_shape": 2, "tensor_content": 4, "float_val": 5},
        pb.TensorShapeProto: {"dim": 2, "unknown_rank": 3},
    }
    for message, fields in numbers.items():
        by_name = message.DESCRIPTOR.fields_by_name
        assert {name: by_name[name].number for name in fields} == fields
    inputs = pb.PredictRequest.DESCRIPTOR.fields_by_name["inputs"].message_type
    assert inputs.GetOptions().map_entry
    version = pb.ModelSpec.DESCRIPTOR.fields_by_name["version"]
    assert version.message_type.full_name == "google.protobuf.Int64Value"
    assert version.containing_oneof.name == "version_choice"
    assert pb.DATA_TYPES["DT_FLOAT"] == 1 and pb.DATA_TYPES["DT_INT64"] == 9
    assert pb.AVAILABLE == 30


def test_tensor_proto_bytes_are_known():
    proto = make_tensor_proto(Tensor("x", "FP32", np.array([[1.0, 2.0]], dtype=np.float32)))
    # dtype=DT_FLOAT; tensor_shape {dim {size 1} dim {size 2}}; tensor_content (4 LE floats)
    expected = "08011208120208011202080222080000803f00000040"
    assert proto.SerializeToString().hex() == expected


@pytest.mark.parametrize(
    ("datatype", "values"),
    [
        ("FP32", [[0.5, -1.25, 3.0]]),
        ("FP64", [[1e-300], [2.5]]),
        ("INT32", [[-7, 8], [9, 10]]),
        ("INT64", [[2**40, -(2**40)]]),
        ("UINT8", [[255, 0, 1]]),
        ("BOOL", [[True, False]]),
        ("FP16", [[0.5, 2.0]]),
    ],
)
def test_tensor_round_trips(datatype, values):
    array = np.array(values, dtype=DATATYPES[datatype][0])
    proto = make_tensor_proto(Tensor("x", datatype, array))
    assert [d.size for d in proto.tensor_shape.dim] == list(array.shape)
    decoded = to_array(pb.TensorProto.FromString(proto.SerializeToString()))
    assert decoded.dtype == array.dtype and np.array_equal(decoded, array)
    assert consistent(proto)


def test_typed_value_fields_decode_too():
    proto = pb.TensorProto(dtype=pb.DATA_TYPES["DT_FLOAT"], float_val=[1.0, 2.0, 3.0, 4.0])
    proto.tensor_shape.dim.add(size=2)
    proto.tensor_shape.dim.add(size=2)
    assert to_array(proto).tolist() == [[1.0, 2.0], [3.0, 4.0]]
    constant = pb.TensorProto(dtype=pb.DATA_TYPES["DT_INT64"], int64_val=[7])
    constant.tensor_shape.dim.add(size=3)
    assert to_array(constant).tolist() == [7, 7, 7]  # version 0: one value fills the shape


def test_model_spec_version_number_or_label():
    spec = pb.ModelSpec()
    fill_model_spec(spec, TargetSpec(model="m", model_version="3"))
    assert (spec.name, spec.version.value, spec.signature_name) == ("m", 3, "serving_default")
    spec = pb.ModelSpec()
    fill_model_spec(spec, TargetSpec(model="m", model_version="canary", signature_name="s"))
    assert spec.WhichOneof("version_choice") == "version_label" and spec.version_label == "canary"


def test_grpc_request_carries_raw_tensor_content():
    tensors = [Tensor("input-0", "FP32", np.ones((4, 3), dtype=np.float32))]
    wire = GRPC.build_request(TargetSpec(grpc_address="h:1", model="mlp"), tensors)
    assert wire.path == "/tensorflow.serving.PredictionService/Predict"
    assert wire.address == "h:1" and wire.expect_rows == 4
    request = pb.PredictRequest.FromString(wire.body)
    assert request.model_spec.name == "mlp"
    sent = request.inputs["input-0"]
    assert sent.dtype == 1 and len(sent.tensor_content) == 4 * 3 * 4 and not sent.float_val


def test_grpc_refuses_a_json_payload():
    with pytest.raises(InputError, match=r"use a \.npy file"):
        GRPC.build_request(TargetSpec(), {"instances": [[1.0]]})


# --------------------------------------------------------------------------- responses


def predict_response(rows: int, cols: int = 10, *, content: bool = True) -> bytes:
    response = pb.PredictResponse()
    out = response.outputs["output-0"]
    out.dtype = pb.DATA_TYPES["DT_FLOAT"]
    out.tensor_shape.dim.add(size=rows)
    out.tensor_shape.dim.add(size=cols)
    values = np.zeros((rows, cols), dtype="<f4")
    if content:
        out.tensor_content = values.tobytes()
    else:
        out.float_val.extend(values.ravel().tolist())
    return response.SerializeToString()


def test_grpc_response_validation():
    assert GRPC.check_response(predict_response(2), 2) == ""
    assert GRPC.check_response(predict_response(2, content=False), 2) == ""
    assert GRPC.check_response(predict_response(3), 2) == "bad_response"  # wrong batch
    assert GRPC.check_response(b"", 1) == "bad_response"  # no outputs
    assert GRPC.check_response(b"\xff\xff\xff", 1) == "bad_response"  # not protobuf
    short = pb.PredictResponse.FromString(predict_response(2))
    short.outputs["output-0"].tensor_content = b"\x00" * 12  # content shorter than shape
    assert GRPC.check_response(short.SerializeToString(), 2) == "bad_response"


@pytest.mark.parametrize(
    ("body", "rows", "expected"),
    [
        (b'{"predictions": [[0.1, 0.9], [0.5, 0.5]]}', 2, ""),
        (b'{"predictions": [{"a": 1, "b": [2]}]}', 1, ""),  # several named outputs
        (b'{"outputs": [[0.1, 0.9], [0.5, 0.5]]}', 2, ""),  # columnar, one output
        (b'{"outputs": {"a": [[1], [2]], "b": [3, 4]}}', 2, ""),  # columnar, named
        (b'{"outputs": {"a": [[1], [2]], "b": [3]}}', 2, "bad_response"),
        (b'{"outputs": {}}', 1, "bad_response"),
        (b'{"predictions": [[0.1, 0.9]]}', 2, "bad_response"),
        (b'{"error": "Servable not found"}', 1, "bad_response"),
        (b"[1, 2]", 2, "bad_response"),
        (b"<html>", 1, "bad_response"),
    ],
)
def test_rest_v1_response_validation(body, rows, expected):
    assert REST.check_response(body, rows) == expected


# --------------------------------------------------------------------------- REST details


def test_tfserving_metadata_maps_to_inputs():
    inputs = tfserving_inputs(json.dumps(METADATA).encode(), "serving_default", "here")
    assert inputs == [
        {"name": "input_image", "datatype": "FP32", "shape": [-1, 64, 64, 3]},
        {"name": "nwords", "datatype": "INT32", "shape": [-1]},
    ]
    tensors = tensors_from_metadata(inputs, PayloadSpec(batch_size=2))
    assert [t.shape for t in tensors] == [[2, 64, 64, 3], [2]]


def test_tfserving_metadata_errors_are_one_line():
    signatures = METADATA["metadata"]["signature_def"]
    with pytest.raises(InputError, match=r"signature 'nope' not found \(has: serving_default\)"):
        signature_inputs(signatures, "nope", "here")
    odd = {"signature_def": {"s": {"inputs": {"x": {"dtype": "DT_STRING", "tensor_shape": {}}}}}}
    (only,) = signature_inputs(odd, "s", "here")
    assert only == {"name": "x", "datatype": "DT_STRING", "shape": []}
    with pytest.raises(InputError, match=r"DT_STRING.*payload\.source: file"):
        tensors_from_metadata([only], PayloadSpec())
    odd["signature_def"]["s"]["inputs"]["x"]["tensor_shape"] = {"unknown_rank": True}
    with pytest.raises(InputError, match="unknown rank"):
        signature_inputs(odd, "s", "here")


@pytest.mark.parametrize(
    ("body", "ready"),
    [
        (b'{"model_version_status": [{"version": "1", "state": "AVAILABLE"}]}', True),
        (b'{"model_version_status": [{"version": "2", "state": "LOADING"}]}', False),
        (b'{"model_version_status": []}', False),
        (b'{"name": "mlp", "ready": true}', True),
        (b'{"name": "mlp", "ready": false}', False),
        (b"{}", None),
        (b"OK", None),
    ],
)
def test_model_state_understands_tfserving_and_kserve(body, ready):
    assert model_state(body) is ready


def test_row_and_columnar_request_bodies():
    one = [Tensor("x", "FP32", np.array([[1.0, 2.0], [3.0, 4.0]], dtype=np.float32))]
    assert request_body(one, False, "serving_default") == {"instances": [[1, 2], [3, 4]]}
    assert request_body(one, True, "serving_default") == {"inputs": [[1, 2], [3, 4]]}
    two = [*one, Tensor("n", "INT32", np.array([5, 6], dtype=np.int32))]
    assert request_body(two, False, "other") == {
        "instances": [{"x": [1, 2], "n": 5}, {"x": [3, 4], "n": 6}],
        "signature_name": "other",
    }
    assert request_body(two, True, "serving_default") == {
        "inputs": {"x": [[1, 2], [3, 4]], "n": [5, 6]}
    }


def test_rest_columnar_target_sends_inputs():
    target = TargetSpec(kind="tfserving", payload=PayloadSpec(format="columnar"))
    tensors = [Tensor("x", "FP32", np.zeros((3, 2), dtype=np.float32))]
    wire = REST.build_request(target, tensors)
    assert wire.path == "/v1/models/mlp:predict" and wire.expect_rows == 3
    assert json.loads(wire.body) == {"inputs": [[0, 0], [0, 0], [0, 0]]}


def test_launching_tfserving_is_refused_in_one_line_before_anything_is_made(tmp_path):
    runs = tmp_path / "runs"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchctl",
            "run",
            "steady",
            "--target",
            "tfserving",
            "--launch",
            "--runs-dir",
            str(runs),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "tensorflow_model_server is not on PyPI" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not runs.exists()
