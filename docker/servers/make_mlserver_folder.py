"""Write an MLServer folder that serves benchctl's reference model, for a server elsewhere.

The folder is the one ``benchctl run --target mlserver --launch`` serves, written by the same
code (``benchctl.targets.launch_mlserver.write_server_folder``: settings.json,
``<model>/model-settings.json`` and servers/mlserver_runtime.py). Three changes make it work
in a container:

* ``refmodel.py`` is copied next to the runtime and ``parameters.extra.refmodel_path`` names
  that copy as the server sees it (``<mount path>/<model>/refmodel.py``);
* settings.json has no host or ports: MLServer then takes them from ``MLSERVER_HOST``,
  ``MLSERVER_HTTP_PORT``, ``MLSERVER_GRPC_PORT`` and ``MLSERVER_METRICS_PORT`` (values in
  settings.json would win over the environment), so one image serves on 0.0.0.0 in a compose
  network and on 127.0.0.1 with host networking;
* MLServer's scratch folders (metrics, environments) go under ``--scratch`` (writable by the
  server's user).

    python docker/servers/make_mlserver_folder.py OUT [--mount-path /models] [--workers 2]
        [--repeat 40] ...

OUT is replaced. Needs benchctl importable (``pip install .``).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

from benchctl.targets.launch_mlserver import REFMODEL, write_server_folder
from benchctl.targets.refmodel import (
    MODEL_NAME,
    RefModelConfig,
    add_config_arguments,
    config_from_arguments,
)

DEFAULT_MODEL = RefModelConfig()  # frozen
FROM_ENVIRONMENT = ("host", "http_port", "grpc_port", "metrics_port")


def make_folder(
    out: Path,
    *,
    mount_path: str = "/models",
    scratch: str = "/tmp/mlserver",
    model_name: str = MODEL_NAME,
    model: RefModelConfig = DEFAULT_MODEL,
    workers: int = 1,
) -> Path:
    """Write OUT/settings.json and OUT/<model>/{model-settings.json, runtime, refmodel.py}.

    Returns OUT. Ports given to the launcher's writer are placeholders, removed again.
    """
    if out.exists():
        shutil.rmtree(out)
    write_server_folder(out, model, model_name, [8080, 8081, 8082], workers)
    settings_path = out / "settings.json"
    settings = json.loads(settings_path.read_text())
    for key in FROM_ENVIRONMENT:
        settings.pop(key, None)
    settings["metrics_dir"] = f"{scratch}/metrics"
    settings["environments_dir"] = f"{scratch}/envs"
    settings_path.write_text(json.dumps(settings, indent=2) + "\n")
    model_dir = out / model_name
    shutil.copyfile(REFMODEL, model_dir / REFMODEL.name)
    model_path = model_dir / "model-settings.json"
    model_settings = json.loads(model_path.read_text())
    extra = model_settings["parameters"]["extra"]
    extra["refmodel_path"] = f"{mount_path.rstrip('/')}/{model_name}/{REFMODEL.name}"
    model_path.write_text(json.dumps(model_settings, indent=2) + "\n")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--mount-path", default="/models", help="where OUT is on the server")
    parser.add_argument("--scratch", default="/tmp/mlserver", help="writable folder for MLServer")
    parser.add_argument("--model-name", default=MODEL_NAME)
    parser.add_argument("--workers", type=int, default=1)
    add_config_arguments(parser)
    args = parser.parse_args(argv)
    out = make_folder(
        args.out,
        mount_path=args.mount_path,
        scratch=args.scratch,
        model_name=args.model_name,
        model=config_from_arguments(args),
        workers=args.workers,
    )
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
