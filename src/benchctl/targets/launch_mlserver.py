"""Launch a real MLServer (Seldon) serving the reference model on 127.0.0.1.

MLServer 1.7.1 from a cached venv; a custom runtime (servers/mlserver_runtime.py) wraps the
reference model. The server folder (settings.json with host 127.0.0.1 and free HTTP, gRPC and
metrics ports; the model folder with model-settings.json and the runtime) is written into the
log folder. Ready when ``/v2/models/<m>/ready`` answers 200 and the gRPC port accepts.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path
from typing import Any, Unpack

from benchctl.targets.launch import (
    NO_SLASH,
    SERVERS_DIR,
    LaunchArgs,
    LaunchedServer,
    LaunchSettings,
    free_ports,
    spawn_logged,
    spec_launcher,
    until_ready,
    wait_v2_ready,
)
from benchctl.targets.refmodel import INPUT_NAME, OUTPUT_NAME, RefModelConfig
from benchctl.targets.venvs import LaunchError, server_env

# uvloop>=0.22 kills MLServer 1.7.1's parallel inference workers at start-up
# (SeldonIO/MLServer#2286: asyncio.get_event_loop() raises in Worker._ignore_signals).
MLSERVER_REQUIREMENTS = ["mlserver==1.7.1", "numpy==2.4.6", "uvloop==0.21.0"]
RUNTIME = SERVERS_DIR / "mlserver_runtime.py"
REFMODEL = SERVERS_DIR.parent / "refmodel.py"
FOLDER = "mlserver"  # the server folder inside log_dir


def launch_mlserver(
    *, log_dir: Path, workers: int = 1, **common: Unpack[LaunchArgs]
) -> LaunchedServer:
    """Start a real MLServer with the reference model; LaunchError (one line) if it fails.

    ``workers`` > 1 turns on MLServer's parallel inference pool with that many processes;
    1 runs inference in the server process. ``common``: see `LaunchSettings`. ``models``,
    when given, are served instead of ``model_name``: one model folder each, all
    in the one server (a model mix; with one worker they take turns on its event loop).
    Returns once every model is ready. Nothing is left running when it raises.
    """
    settings = LaunchSettings.of(log_dir, common)
    served = settings.checked_models("MLServer", NO_SLASH)
    if workers < 1:
        raise LaunchError(f"MLServer workers must be >= 1, got {workers}")
    venv = settings.venv("mlserver", MLSERVER_REQUIREMENTS)
    ports = free_ports(3)
    log_dir = settings.folder()
    (first, changes), *others = served.items()
    own = settings.model_for(changes)
    folder = write_server_folder(log_dir / FOLDER, own, first, ports, workers)
    for name, changes in others:  # a model mix: more model folders beside the first
        write_model_folder(folder, settings.model_for(changes), name)
    log_path = log_dir / "mlserver.log"
    proc = spawn_logged(
        [str(venv / "bin" / "mlserver"), "start", str(folder)],
        log_path,
        env=server_env(),
        cwd=folder,
    )
    server = LaunchedServer.on_loopback("mlserver", proc, log_path, ports=ports)
    timeout = settings.ready_timeout
    return until_ready(server, lambda: wait_v2_ready(server, served, ports[1], timeout))


launch_mlserver_spec = spec_launcher(launch_mlserver, "workers")


def write_server_folder(
    folder: Path, model: RefModelConfig, model_name: str, ports: list[int], workers: int
) -> Path:
    """settings.json, and <model>/model-settings.json beside a copy of the runtime."""
    folder.mkdir(parents=True, exist_ok=True)
    _write_json(folder / "settings.json", server_settings(folder, ports, workers))
    write_model_folder(folder, model, model_name)
    return folder


def write_model_folder(folder: Path, model: RefModelConfig, model_name: str) -> Path:
    """<folder>/<model_name>/: model-settings.json beside a copy of the runtime (MLServer
    loads every such folder under the server folder). Returns the model's folder."""
    model_dir = folder / model_name
    model_dir.mkdir(parents=True, exist_ok=True)
    _write_json(model_dir / "model-settings.json", model_settings(model, model_name))
    shutil.copyfile(RUNTIME, model_dir / RUNTIME.name)
    return model_dir


def server_settings(folder: Path, ports: list[int], workers: int) -> dict[str, Any]:
    """settings.json: host 127.0.0.1, ``ports`` = (HTTP, gRPC, metrics), the parallel
    inference pool (``workers`` > 1; 0 = in the server process), state folders in ``folder``."""
    http_port, grpc_port, metrics_port = ports
    return {
        "host": "127.0.0.1",
        "http_port": http_port,
        "grpc_port": grpc_port,
        "metrics_port": metrics_port,
        "parallel_workers": 0 if workers == 1 else workers,
        "debug": False,
        "metrics_dir": str(folder / ".metrics"),
        "environments_dir": str(folder / ".envs"),
    }


def model_settings(model: RefModelConfig, model_name: str) -> dict[str, Any]:
    """model-settings.json: the runtime class, FP32 ``[-1, width]`` input and output, and the
    reference model's path and settings (read by servers/mlserver_runtime.py)."""

    def tensor(name: str, width: int) -> dict[str, Any]:
        return {"name": name, "datatype": "FP32", "shape": [-1, width]}

    return {
        "name": model_name,
        "implementation": f"{RUNTIME.stem}.RefModelRuntime",
        "inputs": [tensor(INPUT_NAME, model.input_dim)],
        "outputs": [tensor(OUTPUT_NAME, model.output_dim)],
        "parameters": {
            "extra": {"refmodel_path": str(REFMODEL), "config": dataclasses.asdict(model)}
        },
    }


def _write_json(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data, indent=2) + "\n")
