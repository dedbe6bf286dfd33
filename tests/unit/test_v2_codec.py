"""Known-answer encodings of v2 datatypes (targets/v2_codec.py)."""

from __future__ import annotations

import numpy as np
import pytest

from benchctl.errors import InputError
from benchctl.targets import v2_proto
from benchctl.targets.payload import Tensor
from benchctl.targets.v2_codec import fill_grpc_inputs, json_data, raw_bytes


def test_bf16_is_the_upper_half_of_float32():
    # 1.0f = 0x3F800000 -> 0x3F80; -2.0f = 0xC0000000 -> 0xC000; little-endian bytes.
    data = np.array([[1.0, -2.0]], dtype=np.float32)
    assert raw_bytes(Tensor("x", "BF16", data)) == bytes([0x80, 0x3F, 0x00, 0xC0])


def test_fp16_raw_is_two_bytes_per_value():
    # 1.0 in IEEE half = 0x3C00 -> bytes 00 3C
    assert raw_bytes(Tensor("x", "FP16", np.ones((1, 2), np.float16))) == b"\x00\x3c" * 2


def test_bytes_raw_is_length_prefixed():
    data = np.array([[b"ab", b""]], dtype=object)
    assert raw_bytes(Tensor("s", "BYTES", data)) == b"\x02\x00\x00\x00ab\x00\x00\x00\x00"


def test_bool_raw_is_one_byte_each():
    assert raw_bytes(Tensor("b", "BOOL", np.array([True, False, True]))) == b"\x01\x00\x01"


def test_json_refuses_fp16_and_bf16_in_one_line():
    for datatype, dtype in (("FP16", np.float16), ("BF16", np.float32)):
        with pytest.raises(InputError) as exc:
            json_data(Tensor("h", datatype, np.ones((1, 2), dtype)), "rest-v2")
        message = str(exc.value)
        assert "\n" not in message and datatype in message and "payload.binary" in message


def test_json_bytes_are_strings():
    data = np.array([[b"12", b"7"]], dtype=object)
    assert json_data(Tensor("s", "BYTES", data), "rest-v2") == ["12", "7"]


def test_grpc_uses_raw_for_all_inputs_when_one_is_fp16():
    message = v2_proto.ModelInferRequest(model_name="m")
    tensors = [
        Tensor("h", "FP16", np.ones((1, 2), np.float16)),
        Tensor("i", "INT32", np.array([[5, 6]], np.int32)),
    ]
    fill_grpc_inputs(message, tensors)
    assert [bytes(r) for r in message.raw_input_contents] == [
        b"\x00\x3c\x00\x3c",
        b"\x05\x00\x00\x00\x06\x00\x00\x00",
    ]
    assert not message.inputs[0].contents.fp32_contents
    assert not message.inputs[1].contents.int_contents


def test_grpc_typed_fields_without_fp16():
    message = v2_proto.ModelInferRequest(model_name="m")
    fill_grpc_inputs(
        message,
        [
            Tensor("u", "UINT64", np.array([[2**63]], np.uint64)),
            Tensor("s", "BYTES", np.array([[b"x"]], dtype=object)),
        ],
    )
    assert list(message.inputs[0].contents.uint64_contents) == [2**63]
    assert list(message.inputs[1].contents.bytes_contents) == [b"x"]
    assert not message.raw_input_contents


def test_rest_answers_with_binary_outputs_are_checked_by_size():
    from benchctl.targets.v2 import RestV2

    # 2 rows x 2 FP16 values = 8 bytes after the JSON header (as KServe sends FP16 outputs)
    header = (
        b'{"outputs":[{"name":"y","datatype":"FP16","shape":[2,2],'
        b'"parameters":{"binary_data_size":8}}]}'
    )
    assert RestV2().check_response(header + b"\x00" * 8, 2) == ""
    assert RestV2().check_response(header + b"\x00" * 6, 2) == "bad_response"  # cut short
    assert RestV2().check_response(header + b"\x00" * 8, 3) == "bad_response"  # wrong rows
    plain = b' {"outputs":[{"name":"y","shape":[1,2],"data":[1.0,2.0]}]}'
    assert RestV2().check_response(plain, 1) == ""
