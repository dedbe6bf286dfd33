"""A batch run's input set from a JSON-lines file: what it can and cannot be (issue 21).

A .npy or .parquet file (or generated inputs) is rows, which a batch run packs ``b`` to a
request. A .jsonl file is request bodies, one a line, sent as written: nothing can pack
several of them into one request, so a batch run counts one inference per line, which is
true only when each line carries one row. ``check_jsonl_set`` refuses, as bad input, a
.jsonl set swept over batch sizes other than 1, and a line whose body says it carries
another number of rows (Open Inference Protocol v2: the first input's ``shape[0]``;
TF-Serving/KServe v1: the length of ``instances``, or of ``inputs`` or its first tensor).
A body in another format is taken as one row.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from benchctl.errors import InputError
from benchctl.text_files import json_lines


def check_jsonl_set(scenario: Any, target: Any) -> None:
    """Refuse a batch ``scenario`` whose input set is the target's .jsonl ``payload.file``
    when it cannot be counted honestly.

    Inputs: a BatchScenario (``batch_sizes``, ``inputs``) and a TargetSpec (``payload``).
    Nothing happens for other input sets. Raises InputError (exit 2, one line naming the
    field or the file and line) when ``batch_sizes`` holds a size other than 1, or one of
    the first ``inputs`` lines carries a known number of rows other than 1. An unreadable
    or malformed file is left to the pool builder, which names it the same way.
    """
    payload = target.payload
    path = payload.file
    if payload.source != "file" or path is None or Path(path).suffix != ".jsonl":
        return
    sizes = [size for size in scenario.batch_sizes if size != 1]
    if sizes:
        raise InputError(
            f"scenario field 'batch_sizes': batch size {sizes[0]} cannot pack {path}: a .jsonl "
            "input set is one request body a line, sent as written; use batch_sizes: [1], or "
            "a .npy or .parquet file of rows (or generated inputs) to batch"
        )
    for number, body in _bodies(Path(path), scenario.inputs):
        rows = body_rows(body)
        if rows is not None and rows != 1:
            raise InputError(
                f"{path}:{number}: a request body of {rows} rows, where a batch run counts "
                "one inference a line: write one row a line, or use a .npy or .parquet file "
                "of rows and batch_sizes"
            )


def body_rows(body: Any) -> int | None:
    """Rows (the batch dimension) a request body carries, or None when its format is not
    known: v2 ``inputs[0].shape[0]``; v1 ``len(instances)``, ``len(inputs)`` (a list) or
    the length of the first tensor of ``inputs`` (a dict of named tensors)."""
    if not isinstance(body, dict):
        return None
    inputs = body.get("inputs")
    if isinstance(inputs, list) and inputs and isinstance(inputs[0], dict):
        shape = inputs[0].get("shape")
        if isinstance(shape, list) and shape and isinstance(shape[0], int):
            return int(shape[0])
        return None
    if isinstance(body.get("instances"), list):
        return len(body["instances"])
    if isinstance(inputs, list):
        return len(inputs)
    if isinstance(inputs, dict) and inputs:
        first = next(iter(inputs.values()))
        return len(first) if isinstance(first, list) else None
    return None


def _bodies(path: Path, count: int) -> list[tuple[int, Any]]:
    """(line number, parsed body) of the first ``count`` non-blank lines; lines that do not
    parse are skipped here (the pool builder refuses them, naming the line)."""
    found: list[tuple[int, Any]] = []
    try:
        for number, body, error in json_lines(path):
            if error is None:
                found.append((number, body))
            if len(found) >= count:
                break
    except OSError:
        return []
    return found
