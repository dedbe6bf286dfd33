"""Triton python-backend model serving the reference model (copied to ``<repo>/<m>/1/model.py``).

Runs inside Triton's python backend stub with the Triton environment's python, never imported
by benchctl itself. Its settings come from ``parameters`` in config.pbtxt (written by
benchctl.targets.launch_triton): ``refmodel_path`` and the RefModelConfig fields, as JSON.
All requests of one ``execute`` call (a dynamic batch) run as one forward pass.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import triton_python_backend_utils as pb_utils  # type: ignore[import-not-found]

_REFMODEL_MODULE = "benchctl_refmodel"


def _load_refmodel(path: str) -> Any:
    """Import refmodel.py by path (benchctl itself is not installed in this venv)."""
    if _REFMODEL_MODULE in sys.modules:
        return sys.modules[_REFMODEL_MODULE]
    spec = importlib.util.spec_from_file_location(_REFMODEL_MODULE, Path(path))
    assert spec is not None and spec.loader is not None, path
    module = importlib.util.module_from_spec(spec)
    sys.modules[_REFMODEL_MODULE] = module
    spec.loader.exec_module(module)
    return module


def _parameters(model_config: dict[str, Any]) -> dict[str, Any]:
    """config.pbtxt ``parameters``: every value is a JSON document in ``string_value``."""
    return {k: json.loads(v["string_value"]) for k, v in model_config["parameters"].items()}


class TritonPythonModel:
    """The reference MLP; one forward pass per batch of requests."""

    def initialize(self, args: dict[str, str]) -> None:
        """Build the reference model from config.pbtxt's parameters (``args["model_config"]``,
        JSON, as Triton's python backend passes it)."""
        params = _parameters(json.loads(args["model_config"]))
        refmodel = _load_refmodel(params.pop("refmodel_path"))
        cfg = refmodel.RefModelConfig(**params)
        self.input_name = refmodel.INPUT_NAME
        self.output_name = refmodel.OUTPUT_NAME
        self.model = refmodel.RefModel(cfg)

    def execute(self, requests: list[Any]) -> list[Any]:
        """One response per request: their inputs concatenated, one forward pass, the rows
        split back; every request gets a TritonError when the inputs are malformed."""
        try:
            inputs = [self._input(r) for r in requests]
            outputs = self.model.predict(np.concatenate(inputs))
        except (ValueError, TypeError) as exc:
            error = pb_utils.TritonError(str(exc))
            return [pb_utils.InferenceResponse(output_tensors=[], error=error) for _ in requests]
        splits = np.cumsum([len(x) for x in inputs])[:-1]
        return [
            pb_utils.InferenceResponse(output_tensors=[pb_utils.Tensor(self.output_name, y)])
            for y in np.split(outputs, splits)
        ]

    def _input(self, request: Any) -> np.ndarray:
        tensor = pb_utils.get_input_tensor_by_name(request, self.input_name)
        if tensor is None:
            raise ValueError(f"expected input {self.input_name!r}")
        return np.asarray(tensor.as_numpy(), dtype=np.float32)
