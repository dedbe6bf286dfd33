"""TorchServe custom handler serving the benchctl reference MLP (same math and cost as KServe).

Archived into the .mar next to ``refmodel.py`` and ``refmodel.json`` (the model's settings)
by benchctl.targets.launch_torchserve; run by TorchServe's Python worker, never imported by
benchctl. A request is a JSON body ``{"instances": [[...], ...]}`` (the REST body, or the
gRPC input ``data``); the answer is ``{"predictions": [[...], ...]}``, one row per instance.
With batching on, the rows of every request in a batch go through one forward pass.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import sys
from pathlib import Path
from typing import Any

import numpy as np

_REFMODEL_MODULE = "benchctl_refmodel"
_STATE: dict[str, Any] = {}


def handle(data: list[dict[str, Any]] | None, context: Any) -> list[Any] | None:
    """TorchServe's function entry point; ``data is None`` is the initialize call."""
    if data is None:
        _initialize(Path(context.system_properties["model_dir"]))
        return None
    model = _STATE["model"]
    rows: list[np.ndarray | str] = []
    for idx, request in enumerate(data):
        try:
            rows.append(_rows(request, model.cfg.input_dim))
        except ValueError as exc:
            context.set_response_status(400, str(exc), idx)
            rows.append(str(exc))
    good = [r for r in rows if not isinstance(r, str)]
    out = model.predict(np.concatenate(good)) if good else None
    return _split(rows, out)


def _initialize(model_dir: Path) -> None:
    refmodel = _load_refmodel(model_dir / "refmodel.py")
    settings = json.loads((model_dir / "refmodel.json").read_text())
    _STATE["model"] = refmodel.RefModel(refmodel.RefModelConfig(**settings))
    logging.getLogger().setLevel(logging.WARNING)  # the worker logs one INFO line per request


def _load_refmodel(path: Path) -> Any:
    """Import the archived refmodel.py by path (benchctl is not installed in this venv)."""
    spec = importlib.util.spec_from_file_location(_REFMODEL_MODULE, path)
    assert spec is not None and spec.loader is not None, path
    module = importlib.util.module_from_spec(spec)
    sys.modules[_REFMODEL_MODULE] = module  # dataclasses resolve their module by name
    spec.loader.exec_module(module)
    return module


def _rows(request: dict[str, Any], width: int) -> np.ndarray:
    """The request's ``instances`` as a float32 [rows, width] array; ValueError if malformed."""
    body = request.get("data", request.get("body"))
    if isinstance(body, bytes | bytearray):  # gRPC input, or REST without a JSON content type
        try:
            body = json.loads(body)
        except ValueError:
            raise ValueError("request body is not JSON") from None
    if not isinstance(body, dict) or "instances" not in body:
        raise ValueError('request body needs "instances": [[...], ...]')
    try:
        x = np.asarray(body["instances"], dtype=np.float32)
    except (ValueError, TypeError):
        raise ValueError("instances must be rows of numbers") from None
    if x.ndim != 2 or x.shape[1] != width:
        raise ValueError(f"expected input of shape [batch, {width}], got {list(x.shape)}")
    return x


def _split(rows: list[np.ndarray | str], out: np.ndarray | None) -> list[Any]:
    """One answer per request: its slice of ``out``, or the error of a rejected one."""
    answers: list[Any] = []
    start = 0
    for x in rows:
        if isinstance(x, str):
            answers.append({"error": x})
            continue
        assert out is not None
        answers.append({"predictions": out[start : start + len(x)].tolist()})
        start += len(x)
    return answers
