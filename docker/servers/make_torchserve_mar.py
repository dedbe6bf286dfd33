"""Build a TorchServe model store and config for benchctl's reference model, for a server elsewhere.

The .mar is archived by the same code as ``benchctl run --target torchserve --launch``
(``benchctl.targets.launch_torchserve._archive``: servers/torchserve_handler.py, refmodel.py,
refmodel.json with the model's settings, model-config.yaml with workers and batching). Next to
it go a config.properties for a container (all APIs on 0.0.0.0 at TorchServe's default
ports, token auth off, Prometheus metrics, ``TS_*`` environment overrides on) and the
launcher's quiet log4j2.xml:

    OUT/model-store/<model>.mar   OUT/config.properties   OUT/log4j2.xml

    python docker/servers/make_torchserve_mar.py OUT [--workers 2] [--max-batch-size 8
        --batch-delay-ms 5] [--repeat 40] [--archiver-env DIR] [--model-store PATH]

Needs benchctl importable and ``torch-model-archiver`` in ``--archiver-env`` (a folder with
``bin/torch-model-archiver``; default: this interpreter's environment). Token auth is off and
the management API listens on 0.0.0.0: publish it on 127.0.0.1 only or keep it inside the
cluster network, as docker/compose.yaml does.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from benchctl.targets.launch_torchserve import _LOG4J2, _archive
from benchctl.targets.refmodel import (
    MODEL_NAME,
    RefModelConfig,
    add_config_arguments,
    config_from_arguments,
)

DEFAULT_MODEL = RefModelConfig()  # frozen

PORTS = {"inference": 8080, "management": 8081, "metrics": 8082, "grpc_inference": 7070,
         "grpc_management": 7071}  # fmt: skip


def config_properties(model_store: str, model_name: str, workers: int) -> str:
    """config.properties for a server reached from other containers (TorchServe's ports)."""
    lines = {
        "inference_address": f"http://0.0.0.0:{PORTS['inference']}",
        "management_address": f"http://0.0.0.0:{PORTS['management']}",
        "metrics_address": f"http://0.0.0.0:{PORTS['metrics']}",
        "grpc_inference_address": "0.0.0.0",
        "grpc_management_address": "0.0.0.0",
        "grpc_inference_port": PORTS["grpc_inference"],
        "grpc_management_port": PORTS["grpc_management"],
        "model_store": model_store,
        "load_models": f"{model_name}.mar",
        "default_workers_per_model": workers,
        "disable_token_authorization": "true",
        "enable_model_api": "true",
        "metrics_mode": "prometheus",
        "vmargs": "-Xmx512m",
        # TS_<KEY> variables override these keys (TS_INFERENCE_ADDRESS=...): how
        # compose.hostnet.yaml moves every API to 127.0.0.1 without another image.
        "enable_envvars_config": "true",
    }
    return "".join(f"{key}={value}\n" for key, value in lines.items())


def make_model_store(
    out: Path,
    *,
    archiver_env: Path,
    model_store: str = "/home/model-server/model-store",
    model_name: str = MODEL_NAME,
    model: RefModelConfig = DEFAULT_MODEL,
    workers: int = 1,
    max_batch_size: int = 0,
    batch_delay_ms: float = 0.0,
) -> Path:
    """Write OUT/model-store/<model>.mar, OUT/config.properties and OUT/log4j2.xml.

    Returns the path of the .mar.
    """
    if not (archiver_env / "bin" / "torch-model-archiver").exists():
        raise SystemExit(f"no bin/torch-model-archiver in {archiver_env}: pass --archiver-env")
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="benchctl-mar-") as scratch:
        home = Path(scratch)
        log = home / "archive.log"
        batching = (max_batch_size, batch_delay_ms)
        _archive(archiver_env, home, model, model_name, workers, *batching, log)
        store = out / "model-store"
        store.mkdir(exist_ok=True)
        mar = store / f"{model_name}.mar"
        shutil.copyfile(home / "model-store" / mar.name, mar)
    (out / "config.properties").write_text(config_properties(model_store, model_name, workers))
    (out / "log4j2.xml").write_text(_LOG4J2)
    return mar


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--archiver-env", type=Path, default=Path(sys.prefix))
    parser.add_argument("--model-store", default="/home/model-server/model-store",
                        help="where OUT/model-store is on the server")  # fmt: skip
    parser.add_argument("--model-name", default=MODEL_NAME)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--max-batch-size", type=int, default=0)
    parser.add_argument("--batch-delay-ms", type=float, default=0.0)
    add_config_arguments(parser)
    args = parser.parse_args(argv)
    model = config_from_arguments(args)
    mar = make_model_store(
        args.out,
        archiver_env=args.archiver_env,
        model_store=args.model_store,
        model_name=args.model_name,
        model=model,
        workers=args.workers,
        max_batch_size=args.max_batch_size,
        batch_delay_ms=args.batch_delay_ms,
    )
    print(f"wrote {mar}, {args.out / 'config.properties'}, {args.out / 'log4j2.xml'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
