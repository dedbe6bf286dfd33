"""Rows a request body carries (benchctl.batch_inputs.body_rows), by wire format."""

from __future__ import annotations

import pytest

from benchctl.batch_inputs import body_rows


@pytest.mark.parametrize(
    ("body", "rows"),
    [
        ({"inputs": [{"name": "x", "shape": [3, 64], "datatype": "FP32", "data": []}]}, 3),
        ({"inputs": [{"name": "x", "shape": [], "datatype": "FP32", "data": 1.0}]}, None),
        ({"instances": [[1.0, 2.0], [3.0, 4.0]]}, 2),  # TF-Serving / KServe v1, row format
        ({"inputs": [[1.0], [2.0], [3.0], [4.0]]}, 4),  # v1 columnar, one unnamed tensor
        ({"inputs": {"a": [[1.0], [2.0]], "b": [[3.0], [4.0]]}}, 2),  # v1 named tensors
        ({"data": "raw"}, None),  # another format: not known (taken as one row)
        ([1, 2], None),
    ],
)
def test_rows_of_a_body(body: object, rows: int | None) -> None:
    assert body_rows(body) == rows
