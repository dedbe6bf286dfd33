"""A real KServe 0.21 ModelServer (run with benchctl's cached KServe venv) whose models take
one [-1, 3] input of each v2 datatype KServe knows, and check what arrived: the numpy dtype
KServe decoded, the shape, and every value equal to 1 (the payload is sent with
``fill: ones``). Any mis-encoding (wrong width, wrong field, FP16 as FP32) is an error answer.

Models: ``alltypes`` (BOOL, UINT8..UINT64, INT8..INT64, FP16, FP32, FP64, BYTES) and
``nofp16`` (the same without FP16, for REST JSON). KServe has no BF16.
Loopback only: reuses the patches of benchctl's own servers/kserve_server.py.

python dtypes_kserve.py HTTP_PORT GRPC_PORT
"""

import importlib.util
import sys
from pathlib import Path

HTTP, GRPC = int(sys.argv[1]), int(sys.argv[2])
sys.argv = sys.argv[:1]
SERVER = Path(__file__).resolve().parents[3] / "src/benchctl/targets/servers/kserve_server.py"
spec = importlib.util.spec_from_file_location("benchctl_kserve_server", SERVER)
patches = importlib.util.module_from_spec(spec)
spec.loader.exec_module(patches)  # loopback binding, quiet logs

import kserve  # noqa: E402
import numpy as np  # noqa: E402
from kserve.errors import InvalidInput  # noqa: E402
from kserve.protocol.infer_type import InferOutput, InferResponse  # noqa: E402
from kserve.utils.numpy_codec import to_np_dtype  # noqa: E402
from kserve.utils.utils import generate_uuid  # noqa: E402

ALL = ["BOOL", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64",
       "FP16", "FP32", "FP64", "BYTES"]  # fmt: skip
ONE = {"BOOL": True, "BYTES": (b"1", "1")}


class Checker(kserve.Model):
    def __init__(self, name, datatypes):
        super().__init__(name)
        self.datatypes = datatypes

    def load(self):
        self.ready = True
        return True

    def get_input_types(self):
        return [
            {"name": f"in_{d.lower()}", "datatype": d, "shape": [-1, 3]} for d in self.datatypes
        ]

    def get_output_types(self):
        return [{"name": "y", "datatype": "FP32", "shape": [-1, 1]}]

    def predict(self, payload, headers=None):
        rows = None
        for d in self.datatypes:
            name = f"in_{d.lower()}"
            tensor = payload.get_input_by_name(name)
            if tensor is None or tensor.datatype != d:
                raise InvalidInput(f"{name}: missing or not {d}")
            x = tensor.as_numpy()
            if x.dtype != np.dtype(to_np_dtype(d)) or x.ndim != 2 or x.shape[1] != 3:
                raise InvalidInput(f"{name}: got {x.dtype} {x.shape}")
            want = ONE.get(d, 1)
            ok = all(v in want for v in x.ravel()) if d == "BYTES" else bool((x == want).all())
            if not ok:
                raise InvalidInput(f"{name}: values are not all 1: {x.ravel().tolist()[:6]}")
            rows = x.shape[0]
        y = np.ones((rows, 1), dtype=np.float32)
        out = InferOutput("y", list(y.shape), "FP32")
        out.set_data_from_numpy(y, binary_data=payload.use_binary_outputs)
        return InferResponse(
            response_id=payload.id or generate_uuid(),
            model_name=self.name,
            infer_outputs=[out],
            use_binary_outputs=payload.use_binary_outputs,
        )


models = [Checker("alltypes", ALL), Checker("nofp16", [d for d in ALL if d != "FP16"])]
for m in models:
    m.load()
kserve.ModelServer(
    http_port=HTTP, grpc_port=GRPC, workers=1, enable_latency_logging=False, grace_period=2
).start(models)
