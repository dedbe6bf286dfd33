"""Write a Triton model repository that serves benchctl's reference model (python backend).

The repository is the one ``benchctl run --target triton --launch`` serves, written by the
same code (``benchctl.targets.launch_triton.write_model_repository``: config.pbtxt with the
model's settings as parameters, and servers/triton_model.py as ``1/model.py``). Two changes
make it work on a server elsewhere (a container, a KServe storageUri):

* ``refmodel.py`` is copied next to ``model.py``, so the repository carries everything;
* the ``refmodel_path`` parameter names that copy as the server will see it:
  ``<mount path>/<model>/1/refmodel.py`` (``--mount-path``: ``/models`` in
  docker/servers/triton.Dockerfile, ``/mnt/models`` where KServe's storage initializer puts
  a storageUri).

    python docker/servers/make_triton_repo.py OUT [--mount-path /models] [--instances 2]
        [--max-batch-size 8 --batch-delay-ms 2] [--repeat 40] ...

OUT is replaced. Needs benchctl importable (``pip install .``); the server needs nothing but
its python backend's numpy (the NGC tritonserver images ship it) and Python >= 3.10.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

from benchctl.targets import refmodel
from benchctl.targets.launch_triton import write_model_repository
from benchctl.targets.refmodel import (
    MODEL_NAME,
    RefModelConfig,
    add_config_arguments,
    config_from_arguments,
)

DEFAULT_MODEL = RefModelConfig()  # frozen

REFMODEL_PARAMETER = "refmodel_path"


def _pbtxt_value(value: str) -> str:
    """How launch_triton quotes a parameter value: JSON, then quoted again for pbtxt."""
    return json.dumps(json.dumps(value))


def make_repository(
    out: Path,
    *,
    mount_path: str = "/models",
    model_name: str = MODEL_NAME,
    model: RefModelConfig = DEFAULT_MODEL,
    instances: int = 1,
    max_batch_size: int = 0,
    batch_delay_ms: float = 0.0,
) -> Path:
    """Write the repository under ``out``; returns the path of config.pbtxt."""
    root = write_model_repository(
        out,
        model_name=model_name,
        model=model,
        instances=instances,
        max_batch_size=max_batch_size,
        batch_delay_ms=batch_delay_ms,
    )
    source = Path(refmodel.__file__).resolve()
    shutil.copyfile(source, root / model_name / "1" / "refmodel.py")
    config = root / model_name / "config.pbtxt"
    text = config.read_text()
    local = _pbtxt_value(str(source))
    if f'key: "{REFMODEL_PARAMETER}"' not in text or local not in text:
        raise SystemExit(
            f"{config}: launch_triton no longer writes {REFMODEL_PARAMETER} as this script "
            "expects; update make_triton_repo.py"
        )
    inside = f"{mount_path.rstrip('/')}/{model_name}/1/refmodel.py"
    config.write_text(text.replace(local, _pbtxt_value(inside)))
    return config


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="repository root to write (replaced)")
    parser.add_argument("--mount-path", default="/models", help="where OUT is on the server")
    parser.add_argument("--model-name", default=MODEL_NAME)
    parser.add_argument("--instances", type=int, default=1, help="instance_group count")
    parser.add_argument("--max-batch-size", type=int, default=0, help="> 0: dynamic batching")
    parser.add_argument("--batch-delay-ms", type=float, default=0.0)
    add_config_arguments(parser)
    args = parser.parse_args(argv)
    model = config_from_arguments(args)
    config = make_repository(
        args.out,
        mount_path=args.mount_path,
        model_name=args.model_name,
        model=model,
        instances=args.instances,
        max_batch_size=args.max_batch_size,
        batch_delay_ms=args.batch_delay_ms,
    )
    print(f"wrote {config.parent} (refmodel at {args.mount_path} on the server)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
