"""Serve the reference model with a real MLServer: a custom runtime (an ``MLModel``).

Runs inside the MLServer environment, never imported by benchctl itself. The launcher
(benchctl.targets.launch_mlserver) copies this file next to model-settings.json, whose
``parameters.extra`` give the path of refmodel.py and the RefModelConfig fields.
Deliberately synchronous inside ``predict``: a stall stalls the event loop, as with KServe.
"""

from __future__ import annotations

import importlib.util
import sys
from typing import Any

from mlserver import MLModel
from mlserver.codecs import NumpyCodec
from mlserver.errors import InferenceError
from mlserver.types import InferenceRequest, InferenceResponse

_REFMODEL_MODULE = "benchctl_refmodel"


def _load_refmodel(path: str) -> Any:
    """Import refmodel.py by path (benchctl itself is not installed in this venv)."""
    if _REFMODEL_MODULE in sys.modules:
        return sys.modules[_REFMODEL_MODULE]
    spec = importlib.util.spec_from_file_location(_REFMODEL_MODULE, path)
    assert spec is not None and spec.loader is not None, path
    module = importlib.util.module_from_spec(spec)
    sys.modules[_REFMODEL_MODULE] = module
    spec.loader.exec_module(module)
    return module


class RefModelRuntime(MLModel):
    """The reference MLP behind MLServer's v2 REST and gRPC endpoints."""

    async def load(self) -> bool:
        """Build the reference model from model-settings.json's ``parameters.extra``
        (``refmodel_path``: the path of refmodel.py; ``config``: RefModelConfig fields). Returns
        True (MLServer's "loaded"); KeyError for a missing key, TypeError for an unknown config
        field.
        """
        extra = self.settings.parameters.extra if self.settings.parameters else {}
        refmodel = _load_refmodel(extra["refmodel_path"])
        self._model = refmodel.RefModel(refmodel.RefModelConfig(**extra["config"]))
        self._input, self._output = refmodel.INPUT_NAME, refmodel.OUTPUT_NAME
        return True

    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        """Run the model on the request's input tensor (batch x features) and answer with its output
        tensor (batch x outputs). Raises InferenceError (MLServer answers 400) when the input is
        missing or has the wrong shape or type.
        """
        tensor = next((i for i in payload.inputs if i.name == self._input), None)
        if tensor is None:
            names = [i.name for i in payload.inputs]
            raise InferenceError(f"expected input {self._input!r}, got {names}")
        try:
            y = self._model.predict(NumpyCodec.decode_input(tensor))
        except (ValueError, TypeError) as exc:
            raise InferenceError(str(exc)) from exc
        return InferenceResponse(
            model_name=self.name,
            model_version=self.version,
            id=payload.id,
            outputs=[NumpyCodec.encode_output(self._output, y)],
        )
