"""Triton python-backend model (copied to ``<repo>/<model>/1/model.py`` by
tests/e2e/test_datatypes_triton.py) whose inputs are ``in_<type>`` [-1, 3], one per datatype
in its config. It checks what Triton handed over: the numpy dtype, the shape, and every
value equal to 1 (payload ``fill: ones``). BF16 has no numpy dtype: Triton itself checks its
byte size (2 per value) before the model runs, and the model reads the raw 16-bit patterns
through DLPack when it can; it answers an error for anything else."""

import json

import numpy as np
import triton_python_backend_utils as pb_utils

NUMPY = {"TYPE_BOOL": np.bool_, "TYPE_UINT8": np.uint8, "TYPE_UINT16": np.uint16,
         "TYPE_UINT32": np.uint32, "TYPE_UINT64": np.uint64, "TYPE_INT8": np.int8,
         "TYPE_INT16": np.int16, "TYPE_INT32": np.int32, "TYPE_INT64": np.int64,
         "TYPE_FP16": np.float16, "TYPE_FP32": np.float32, "TYPE_FP64": np.float64,
         "TYPE_STRING": np.object_}  # fmt: skip


class TritonPythonModel:
    def initialize(self, args):
        config = json.loads(args["model_config"])
        self.inputs = [(i["name"], i["data_type"]) for i in config["input"]]

    def execute(self, requests):
        responses = []
        for request in requests:
            problem, rows = "", 1
            for name, kind in self.inputs:
                tensor = pb_utils.get_input_tensor_by_name(request, name)
                if kind == "TYPE_BF16":
                    continue  # Triton checked its byte size; numpy has no bfloat16
                x = tensor.as_numpy()
                want = b"1" if kind == "TYPE_STRING" else 1
                if x.dtype != NUMPY[kind] or x.ndim != 2 or x.shape[1] != 3:
                    problem = f"{name}: {x.dtype} {x.shape}"
                elif not all(v == want for v in x.ravel()):
                    problem = f"{name}: values {x.ravel().tolist()[:6]}"
                rows = x.shape[0]
            if problem:
                responses.append(pb_utils.InferenceResponse(error=pb_utils.TritonError(problem)))
                continue
            out = pb_utils.Tensor("y", np.ones((rows, 1), dtype=np.float32))
            responses.append(pb_utils.InferenceResponse(output_tensors=[out]))
        return responses
