"""An MLServer 1.7.1 runtime (run by a real MLServer from benchctl's cached venv) whose
model takes one [-1, 3] input per datatype named in model-settings.json, and checks what
arrived: the numpy dtype MLServer decoded, the shape, and every value equal to 1 (the
payload is sent with ``fill: ones``). Mis-encoded requests get an error answer."""

import numpy as np
from mlserver import MLModel
from mlserver.codecs import NumpyCodec
from mlserver.errors import InferenceError
from mlserver.types import InferenceRequest, InferenceResponse

NUMPY = {"BOOL": "bool", "UINT8": "uint8", "UINT16": "uint16", "UINT32": "uint32",
         "UINT64": "uint64", "INT8": "int8", "INT16": "int16", "INT32": "int32",
         "INT64": "int64", "FP16": "float16", "FP32": "float32", "FP64": "float64"}  # fmt: skip


class Checker(MLModel):
    async def load(self) -> bool:
        return True

    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        rows = None
        for tensor in payload.inputs:
            d = tensor.datatype.value if hasattr(tensor.datatype, "value") else tensor.datatype
            if d == "BYTES":  # NumpyCodec reads BYTES as fixed-width strings: check the list
                x = np.array(getattr(tensor.data, "root", tensor.data), dtype=object)
                x = x.reshape(tensor.shape)
                ok = all(v in (b"1", "1") for v in x.ravel())
            else:
                x = NumpyCodec.decode_input(tensor)
                ok = x.dtype == np.dtype(NUMPY[d]) and bool((x == 1).all())
            if x.ndim != 2 or x.shape[1] != 3:
                raise InferenceError(f"{tensor.name}: shape {x.shape}")
            if not ok:
                raise InferenceError(f"{tensor.name}: {x.dtype} {x.ravel().tolist()[:6]}")
            rows = x.shape[0]
        y = np.ones((rows, 1), dtype=np.float32)
        return InferenceResponse(
            model_name=self.name, id=payload.id, outputs=[NumpyCodec.encode_output("y", y)]
        )
