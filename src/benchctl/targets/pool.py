"""Every request body a run can send, encoded once before the run: the payload pool.

A target's ``payload.pool: N`` gives N distinct inputs (generated from the model's v2
metadata with seeds ``seed .. seed+N-1``, or the first N batches of a .npy file's rows, or
the first N lines of a .jsonl file of request bodies), picked per request with a popularity
law (``uniform``, or ``zipf``: input k, counted from 0, with weight 1 / (k + 1)^s). The
engine gets the encoded bodies (``choices`` in engine-spec.json) and only picks among them
(:mod:`benchctl.load.choice`); nothing is encoded per request.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import numpy as np

from benchctl.config import PayloadSpec, TargetSpec
from benchctl.errors import InputError
from benchctl.targets.adapter import Adapter, Payload, adapter_for
from benchctl.targets.payload import Tensor, tensors_from_file, tensors_from_metadata
from benchctl.targets.wire import WireRequest
from benchctl.text_files import json_lines

# Headers a body may need of its own (the binary extension's header length): protocol
# headers, never secret (targets/secrets.py keeps them in engine-spec.json too).
BODY_HEADERS = ("Content-Type", "Inference-Header-Content-Length")
MAX_BODY_BYTES = 256 * 2**20  # all encoded bodies of a run together


def popularity(n: int, law: str, s: float = 1.0) -> np.ndarray:
    """Probability of each of ``n`` inputs (sums to 1).

    ``uniform``: 1/n each. ``zipf``: p_k = (k + 1)^-s / H(n, s) for k = 0..n-1, where
    H(n, s) = sum_{j=1..n} j^-s (Zipf's law over a finite population; input 0 is the most
    popular). Raises ValueError for another law.
    """
    if law == "uniform":
        return np.full(n, 1.0 / n)
    if law == "zipf":
        weights = np.arange(1, n + 1, dtype=float) ** -float(s)
        return weights / weights.sum()
    raise ValueError(f"unknown popularity law {law!r}")


def pool_payloads(target: TargetSpec, adapter: Adapter) -> list[Payload]:
    """The ``payload.pool`` distinct payloads of ``target`` (one when pool is 1).

    Raises InputError (one line naming the file or field) when the file holds fewer inputs
    than the pool asks for, or cannot give distinct inputs (a single .json body).
    """
    spec = target.payload
    if spec.source == "metadata":
        inputs = adapter.model_inputs(target, f"target model {target.model!r}")
        return [
            tensors_from_metadata(inputs, spec.model_copy(update={"seed": (spec.seed + i) % 2**63}))
            for i in range(spec.pool)
        ]
    path = spec.file
    assert path is not None
    if spec.pool == 1 and path.suffix not in (".jsonl", ".parquet"):
        return [tensors_from_file(spec)]
    if path.suffix == ".jsonl":
        return _jsonl_bodies(path, spec.pool)
    if path.suffix == ".parquet":
        tensor = parquet_rows(path)
    elif path.suffix == ".npy":
        tensors = tensors_from_file(spec.model_copy(update={"batch_size": 1}))
        assert isinstance(tensors, list)
        tensor = tensors[0]
    else:
        raise InputError(
            f"{path}: payload.pool: {spec.pool} needs a .npy or .parquet file (rows) or a "
            ".jsonl file (one request body a line); a .json file is one body"
        )
    array, rows = tensor.data, spec.batch_size
    # The last batch may be partial (a batch run's set of N rows in batches of b): it is
    # filled from the file's first rows; any larger shortfall is an error.
    if array.shape[0] <= (spec.pool - 1) * rows:
        raise InputError(
            f"{path}: payload.pool: {spec.pool} with batch_size {rows} needs more than "
            f"{(spec.pool - 1) * rows} rows, the file has {array.shape[0]}"
        )
    return [
        [
            Tensor(
                tensor.name,
                tensor.datatype,
                np.take(array, range(i * rows, (i + 1) * rows), axis=0, mode="wrap"),
            )
        ]
        for i in range(spec.pool)
    ]


def parquet_rows(path: Path, input_name: str = "input-0") -> Tensor:
    """A Parquet file's rows as one tensor [rows, columns]: every column numeric (one
    feature each) or one column of equal-length lists (the whole row). InputError (one
    line naming the file) otherwise."""
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: cannot read payload: {exc}") from None
    if table.num_rows == 0:
        raise InputError(f"{path}: has no rows")
    try:
        if table.num_columns == 1 and pa_is_list(table.schema.field(0).type):
            array = np.array(table.column(0).to_pylist())
        else:
            array = np.column_stack([c.to_numpy() for c in table.columns])
    except (ValueError, TypeError) as exc:
        raise InputError(
            f"{path}: rows must be numeric columns, or one column of equal-length lists ({exc})"
        ) from None
    if array.ndim != 2 or array.dtype not in _NUMERIC:
        raise InputError(
            f"{path}: rows must be numeric columns, or one column of equal-length lists "
            f"(got {array.dtype}, {array.ndim} dims)"
        )
    return Tensor(input_name, _NUMERIC[array.dtype], array)


def pa_is_list(kind: Any) -> bool:
    """True when ``kind`` (a pyarrow DataType) is a list or large-list column type."""
    import pyarrow as pa

    return bool(pa.types.is_list(kind) or pa.types.is_large_list(kind))


_NUMERIC = {
    np.dtype(d): name
    for name, d in (
        ("FP32", "float32"), ("FP64", "float64"), ("INT32", "int32"), ("INT64", "int64"),
        ("INT8", "int8"), ("INT16", "int16"), ("UINT8", "uint8"), ("BOOL", "bool"),
    )
}  # fmt: skip


def _jsonl_bodies(path: Path, pool: int) -> list[Payload]:
    """The first ``pool`` lines of a JSON-lines file, each a request body (a JSON object)."""
    bodies: list[Payload] = []
    try:
        for number, body, error in json_lines(path):
            if error is not None:
                raise InputError(f"{path}:{number}: not JSON: {error}")
            if not isinstance(body, dict):
                raise InputError(
                    f"{path}:{number}: each line must be a JSON object (a request body)"
                )
            bodies.append(body)
            if len(bodies) == pool:
                return bodies
    except OSError as exc:
        raise InputError(f"{path}: cannot read payload: {exc.strerror or exc}") from None
    raise InputError(f"{path}: payload.pool: {pool} needs {pool} lines, the file has {len(bodies)}")


def model_requests(target: TargetSpec, adapter: Adapter) -> list[WireRequest]:
    """One encoded request per pooled input of ``target``'s model (``payload.pool`` of them),
    each built by ``adapter``. Raises InputError (one line) as `pool_payloads` and
    ``adapter.build_request`` do."""
    return [adapter.build_request(target, p) for p in pool_payloads(target, adapter)]


def choices_json(
    models: list[tuple[str, float, PayloadSpec, list[WireRequest]]], seed: int
) -> dict[str, Any]:
    """The engine's ``choices``: per model its name, weight, popularity law and bodies
    (base64), the path and rows its answers must carry, and its body headers.

    InputError (one line) when the bodies add up to more than MAX_BODY_BYTES: every load
    process holds them all in memory (and engine-spec.json carries them).
    """
    total = sum(len(r.body) for _, _, _, requests in models for r in requests)
    if total > MAX_BODY_BYTES:
        count = sum(len(requests) for _, _, _, requests in models)
        raise InputError(
            f"payload: {count:,} distinct request bodies are {total / 2**20:,.0f} MiB encoded, "
            f"more than the {MAX_BODY_BYTES // 2**20} MiB every load process holds: use a "
            "smaller payload.pool (or fewer batch inputs, or a larger batch size)"
        )
    out = []
    for name, weight, spec, requests in models:
        first = requests[0]
        out.append(
            {
                "name": name,
                "weight": weight,
                "law": spec.popularity,
                "s": spec.zipf_s,
                "path": first.path,
                "expect_rows": first.expect_rows,
                # one shape per model, so one binary header length for all its bodies
                "headers": {k: v for k, v in first.headers.items() if k in BODY_HEADERS},
                "bodies": [base64.b64encode(r.body).decode() for r in requests],
            }
        )
    return {"seed": seed, "models": out}


def mix_targets(target: TargetSpec) -> list[tuple[TargetSpec, float]]:
    """The target as one profile per model of its mix (``models:``), with each model's
    weight; the target itself with weight 1 when it has no mix."""
    if not target.models:
        return [(target, 1.0)]
    return [
        (
            target.model_copy(
                update={"model": share.name, "payload": share.payload or target.payload}
            ),
            share.weight,
        )
        for share in target.models
    ]


def build_requests(target: TargetSpec) -> tuple[WireRequest, dict[str, Any]]:
    """The base request (address, headers, first body) and every body a request may carry:
    each model of the mix (or the one model) with its pooled inputs, encoded once."""
    adapter = adapter_for(target.protocol)
    models = []
    for one, weight in mix_targets(target):
        models.append((one.model, weight, one.payload, model_requests(one, adapter)))
    return models[0][3][0], choices_json(models, target.payload.seed)
