"""TorchServe protocol: request encoding, response checks, payload from dims, the handler's
math (in process, no server), and the gRPC descriptor against TorchServe's own inference.proto.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import re
import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from benchctl.config import PayloadSpec, TargetSpec
from benchctl.errors import InputError
from benchctl.targets import torchserve as ts
from benchctl.targets.launch import SERVERS_DIR, cache_root
from benchctl.targets.payload import Tensor, tensors_from_metadata
from benchctl.targets.refmodel import RefModel, RefModelConfig
from benchctl.targets.registry import ADAPTERS, LAUNCHERS
from benchctl.targets.wire import BAD_RESPONSE

REST = ADAPTERS["torchserve-rest"]
GRPC = ADAPTERS["torchserve-grpc"]
ROW = [[0.25, 0.75]]


def target(**fields: Any) -> TargetSpec:
    base = {"kind": "torchserve", "url": "http://127.0.0.1:8080", "grpc_address": "h:7070"}
    return TargetSpec(**{**base, **fields})


def one_row() -> list[Tensor]:
    return [Tensor("input-0", "FP32", np.array(ROW, dtype=np.float32))]


def test_registry_has_both_protocols_and_the_launcher() -> None:
    assert (REST.transport, GRPC.transport) == ("http", "grpc")
    assert "torchserve" in LAUNCHERS


def test_rest_request_known_answer() -> None:
    request = REST.build_request(target(headers={"X-Key": "${K}"}), one_row())
    assert (request.address, request.path) == ("http://127.0.0.1:8080", "/predictions/mlp")
    assert request.body == b'{"instances":[[0.25,0.75]]}'
    assert request.headers == {"Content-Type": "application/json", "X-Key": "${K}"}
    assert request.expect_rows == 1
    versioned = REST.build_request(target(model="m", model_version="2.0"), one_row())
    assert versioned.path == "/predictions/m/2.0"


def test_grpc_request_known_answer_bytes() -> None:
    request = GRPC.build_request(target(model="mlp"), one_row())
    body = b'{"instances":[[0.25,0.75]]}'
    entry = b"\x0a\x04data" + b"\x12" + bytes([len(body)]) + body  # key=1, value=2
    assert request.body == b"\x0a\x03mlp" + b"\x1a" + bytes([len(entry)]) + entry
    assert request.path == "/org.pytorch.serve.grpc.inference.InferenceAPIsService/Predictions"
    assert request.address == "h:7070"
    decoded = ts.PredictionsRequest.FromString(request.body)
    assert dict(decoded.input) == {"data": body} and decoded.model_version == ""


def test_a_json_payload_file_is_sent_as_is_over_both() -> None:
    payload = {"instances": [[1.0], [2.0]], "extra": True}
    rest = REST.build_request(target(), payload)
    assert json.loads(rest.body) == payload and rest.expect_rows == 2
    grpc = GRPC.build_request(target(), payload)
    assert json.loads(ts.PredictionsRequest.FromString(grpc.body).input["data"]) == payload


def test_generated_payload_comes_from_dims() -> None:
    spec = PayloadSpec(dims={"input-0": [64]}, batch_size=3)
    inputs = REST.model_inputs(target(payload=spec), "t")
    assert inputs == [{"name": "input-0", "datatype": "FP32", "shape": [-1, -1]}]
    (tensor,) = tensors_from_metadata(inputs, spec)
    assert tensor.shape == [3, 64] and tensor.datatype == "FP32"
    assert REST.build_request(target(payload=spec), [tensor]).expect_rows == 3


def test_no_dims_is_a_one_line_input_error() -> None:
    with pytest.raises(InputError, match=r"payload\.dims: \{input-0: \[64\]\}") as err:
        GRPC.model_inputs(target(), "target 'x'")
    assert "\n" not in str(err.value)


def test_two_inputs_are_refused() -> None:
    tensors = [*one_row(), Tensor("b", "FP32", np.zeros((1, 2), np.float32))]
    with pytest.raises(InputError, match="one input per request"):
        REST.build_request(target(), tensors)


GOOD = json.dumps({"predictions": [[0.1] * 10, [0.2] * 10]}).encode()


@pytest.mark.parametrize(
    ("body", "rows", "expected"),
    [
        (GOOD, 2, ""),
        (json.dumps([[0.5, 0.5]]).encode(), 1, ""),  # a bare list of rows
        (GOOD, 1, BAD_RESPONSE),  # wrong row count
        (b'{"error": "expected input of shape [batch, 64]"}', 1, BAD_RESPONSE),
        (b'{"predictions": [[0.1, 0.2], [0.3]]}', 2, BAD_RESPONSE),  # ragged
        (b'{"predictions": [["a", "b"]]}', 1, BAD_RESPONSE),
        (b'{"predictions": [[true, false]]}', 1, BAD_RESPONSE),
        (b'{"predictions": [[]]}', 1, BAD_RESPONSE),
        (b'{"predictions": [0.1, 0.9]}', 2, BAD_RESPONSE),  # not rows
        (b"<html>", 1, BAD_RESPONSE),
    ],
)
def test_response_checks(body: bytes, rows: int, expected: str) -> None:
    assert REST.check_response(body, rows) == expected
    wrapped = ts.PredictionResponse(prediction=body).SerializeToString()
    assert GRPC.check_response(wrapped, rows) == expected


def test_grpc_undecodable_response_is_bad() -> None:
    assert GRPC.check_response(b"\xff\xff\xff", 1) == BAD_RESPONSE


# --------------------------------------------------------------------------- the handler


class FakeContext:
    """The two things the handler uses from TorchServe's Context."""

    def __init__(self, model_dir: Path) -> None:
        self.system_properties = {"model_dir": str(model_dir)}
        self.statuses: dict[int, tuple[int, str]] = {}

    def set_response_status(self, code: int = 200, phrase: str = "", idx: int = 0) -> None:
        self.statuses[idx] = (code, phrase)


@pytest.fixture
def handler(tmp_path: Path) -> Iterator[tuple[ModuleType, FakeContext]]:
    """The handler loaded by path from an unpacked-.mar-like folder, initialized."""
    shutil.copyfile(SERVERS_DIR.parent / "refmodel.py", tmp_path / "refmodel.py")
    (tmp_path / "refmodel.json").write_text(json.dumps({"hidden_width": 32, "repeat": 2}))
    spec = importlib.util.spec_from_file_location(
        "ts_handler_under_test", SERVERS_DIR / "torchserve_handler.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    context = FakeContext(tmp_path)
    level = logging.getLogger().level
    assert module.handle(None, context) is None
    try:
        yield module, context
    finally:
        logging.getLogger().setLevel(level)


def test_handler_batch_matches_the_reference_model(handler) -> None:
    module, context = handler
    reference = RefModel(RefModelConfig(hidden_width=32, repeat=2))
    x = np.random.default_rng(3).standard_normal((3, 64)).astype(np.float32)
    batch = [
        {"body": {"instances": x[:2].tolist()}},  # REST: JSON already decoded
        {"data": bytearray(json.dumps({"instances": x[2:].tolist()}).encode())},  # gRPC
    ]
    first, second = module.handle(batch, context)
    y = np.array(first["predictions"] + second["predictions"], dtype=np.float32)
    assert np.allclose(y, reference.predict(x), atol=1e-6)
    assert context.statuses == {}


def test_handler_rejects_a_bad_request_alone(handler) -> None:
    module, context = handler
    good = {"body": {"instances": [[0.0] * 64]}}
    answers = module.handle([{"body": {"instances": [[1, 2]]}}, good, {"data": b"nope"}], context)
    assert answers[0] == {"error": "expected input of shape [batch, 64], got [1, 2]"}
    assert len(answers[1]["predictions"]) == 1
    assert answers[2] == {"error": "request body is not JSON"}
    assert {i: code for i, (code, _) in context.statuses.items()} == {0: 400, 2: 400}


# --------------------------------------------------------------------------- descriptor vs jar


def _inference_proto() -> str:
    jars = sorted(
        cache_root().glob("venvs/torchserve-*/lib/python3*/site-packages/ts/frontend/*.jar")
    )
    if not jars:
        pytest.skip("no TorchServe environment yet (built by the integration tests)")
    with zipfile.ZipFile(jars[0]) as jar:
        return jar.read("inference.proto").decode()


def _proto_fields(proto: str) -> dict[str, dict[str, tuple[str, int]]]:
    """message -> field -> (type, number) for the flat messages of a .proto text."""
    text = re.sub(r"//[^\n]*", "", proto)
    messages = {}
    for name, block in re.findall(r"message\s+(\w+)\s*\{(.*?)\}", text, re.DOTALL):
        messages[name] = {
            field: (kind.replace(" ", ""), int(number))
            for kind, field, number in re.findall(
                r"(?:optional\s+|repeated\s+)?(map<[^>]+>|[\w.]+)\s+(\w+)\s*=\s*(\d+)\s*;", block
            )
        }
    return messages


_SCALARS = {"string": 9, "bytes": 12}  # FieldDescriptor.TYPE_STRING / TYPE_BYTES


def test_descriptor_matches_torchserve_inference_proto() -> None:
    proto = _inference_proto()
    assert f"package {ts.PACKAGE};" in proto
    assert "rpc Ping(google.protobuf.Empty) returns (TorchServeHealthResponse)" in proto
    assert "rpc Predictions(PredictionsRequest) returns (PredictionResponse)" in proto
    official = _proto_fields(proto)
    for name, cls in ts.MESSAGES.items():
        for field in cls.DESCRIPTOR.fields:
            kind, number = official[name][field.name]
            assert field.number == number, (name, field.name)
            if field.message_type is not None and field.message_type.GetOptions().map_entry:
                key, value = field.message_type.fields
                assert kind == f"map<{_name(key.type)},{_name(value.type)}>", (name, field.name)
            else:
                assert field.type == _SCALARS[kind], (name, field.name)


def _name(descriptor_type: int) -> str:
    return next(k for k, v in _SCALARS.items() if v == descriptor_type)
