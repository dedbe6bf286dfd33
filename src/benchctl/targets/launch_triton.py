"""Launch a real NVIDIA Triton Inference Server (CPU, python backend) with the reference model.

The ``tritonserver`` binary bundled in nvidia-pytriton runs directly (3-4x faster than
PyTriton's Python proxy), from a cached venv with numpy<2. It needs, see TARGETS.md: the
python backend stub copied into its ``backends/python/`` (done once, in the cached venv);
``LD_LIBRARY_PATH`` = pytriton's bundled libs + the LIBDIR of the venv's base Python (else the
stub loads another libpython); the venv's ``bin/`` first on ``PATH`` (the stub finds its
packages through ``python3`` on PATH). The model repository is written to the log folder.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import asdict
from pathlib import Path
from typing import Unpack

from benchctl.targets import refmodel
from benchctl.targets.launch import (
    SERVERS_DIR,
    BatchingArgs,
    LaunchedServer,
    LaunchSettings,
    check_model_name,
    free_ports,
    http_ok,
    poll_until_ready,
    port_open,
    spawn_logged,
    spec_launcher,
    until_ready,
)
from benchctl.targets.refmodel import RefModelConfig
from benchctl.targets.venvs import LaunchError, last_line, server_env, venv_python

TRITON_REQUIREMENTS = ["nvidia-pytriton==0.7.0", "numpy==1.26.4"]
MODEL_FILE = SERVERS_DIR / "triton_model.py"
REPOSITORY = "triton-models"  # the model repository's folder inside log_dir
_STUB = "triton_python_backend_stub"
_VALID_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")
_TRITON_ERROR = re.compile(r"^E\d{4} ")  # glog error lines: E1106 12:00:00.000 ...
_HARMLESS = re.compile(r"CUDA|Cuda|NVML|DCGM")  # a CPU-only machine logs these at start-up


def launch_triton(
    *, log_dir: Path, instances: int = 1, **common: Unpack[BatchingArgs]
) -> LaunchedServer:
    """Start a real Triton serving the reference model on 127.0.0.1 (free ports).

    ``common``: see `LaunchSettings`. ``models``, when given, are served instead of
    ``model_name``: one repository entry each (its own stubs), at its own cost.

    ``max_batch_size`` > 0 turns on dynamic batching with ``batch_delay_ms`` as the longest
    queue delay; ``instances`` model instances run as separate python backend stubs. Returns
    once the server and the model are ready; raises LaunchError (one line, naming the log)
    otherwise, leaving nothing running.
    """
    settings = LaunchSettings.of(log_dir, common, batching=True)
    served = settings.served
    max_batch_size, batch_delay_ms = settings.max_batch_size, settings.batch_delay_ms
    for name in served:
        _check_arguments(name, instances, max_batch_size, batch_delay_ms)
    server_dir, env = _triton_runtime(settings.venv("triton", TRITON_REQUIREMENTS))
    log_dir = settings.folder()
    batching = {"max_batch_size": max_batch_size, "batch_delay_ms": batch_delay_ms}
    for index, (name, changes) in enumerate(served.items()):
        repository = write_model_repository(
            log_dir / REPOSITORY,
            model_name=name,
            model=settings.model_for(changes),
            instances=instances,
            fresh=index == 0,
            **batching,
        )
    ports = free_ports(3)  # HTTP, gRPC, metrics
    log_path = log_dir / "triton.log"
    proc = spawn_logged(_command(server_dir, repository, ports), log_path, env=env, cwd=log_dir)
    server = LaunchedServer.on_loopback("triton", proc, log_path, ports=ports)
    # Once ready, the python backend stubs (one per model instance) are in the tree.

    def wait() -> None:
        for name in served:
            _wait_ready(server, name, tuple(ports[1:]), settings.ready_timeout)

    return until_ready(server, wait)


def _command(server_dir: Path, repository: Path, ports: list[int]) -> list[str]:
    """The tritonserver command line: every endpoint on 127.0.0.1 at ``ports`` (HTTP, gRPC,
    metrics), server-side latency summaries on, no GPU metrics."""
    http_port, grpc_port, metrics_port = ports
    return [
        str(server_dir / "bin" / "tritonserver"),
        f"--model-repository={repository}",
        f"--backend-directory={server_dir / 'backends'}",
        "--http-address=127.0.0.1", f"--http-port={http_port}",
        "--grpc-address=127.0.0.1", f"--grpc-port={grpc_port}",
        "--metrics-address=127.0.0.1", f"--metrics-port={metrics_port}",
        "--metrics-config=summary_latencies=true",
        "--allow-gpu-metrics=false", "--log-verbose=0", "--exit-timeout-secs=5",
    ]  # fmt: skip


# ``workers`` does not apply to Triton: see ``instances``.
launch_triton_spec = spec_launcher(launch_triton, "instances", "max_batch_size", "batch_delay_ms")


def write_model_repository(
    root: Path,
    *,
    model_name: str,
    model: RefModelConfig,
    instances: int,
    max_batch_size: int,
    batch_delay_ms: float,
    fresh: bool = True,
) -> Path:
    """``root/<model_name>/config.pbtxt`` + ``1/model.py`` (replacing what was there; with
    ``fresh`` False, other models already in ``root`` are kept)."""
    if fresh and root.exists():
        shutil.rmtree(root)
    version_dir = root / model_name / "1"
    version_dir.mkdir(parents=True)
    shutil.copyfile(MODEL_FILE, version_dir / "model.py")
    config = model_config(
        model_name,
        model,
        instances=instances,
        max_batch_size=max_batch_size,
        batch_delay_ms=batch_delay_ms,
    )
    (root / model_name / "config.pbtxt").write_text(config)
    return root


def model_config(
    model_name: str,
    model: RefModelConfig,
    *,
    instances: int,
    max_batch_size: int,
    batch_delay_ms: float,
) -> str:
    """config.pbtxt text. The batch dimension is always explicit to clients: v2 metadata
    reports ``[-1, input_dim]`` both with batching (implicit batch dim) and without
    (``max_batch_size: 0`` with a ``-1`` leading dim)."""
    lead = [] if max_batch_size > 0 else [-1]
    params = {"refmodel_path": str(Path(refmodel.__file__).resolve()), **asdict(model)}
    lines = [
        f"name: {json.dumps(model_name)}",
        'backend: "python"',
        f"max_batch_size: {max_batch_size}",
        _tensor("input", refmodel.INPUT_NAME, [*lead, model.input_dim]),
        _tensor("output", refmodel.OUTPUT_NAME, [*lead, model.output_dim]),
        f"instance_group [{{ count: {instances} kind: KIND_CPU }}]",
    ]
    if max_batch_size > 0:
        delay_us = round(batch_delay_ms * 1000)
        lines.append(f"dynamic_batching {{ max_queue_delay_microseconds: {delay_us} }}")
    for key, value in params.items():  # values are JSON, quoted again as pbtxt strings
        text = json.dumps(json.dumps(value))
        lines.append(f'parameters {{ key: "{key}" value: {{ string_value: {text} }} }}')
    return "\n".join(lines) + "\n"


def _tensor(kind: str, name: str, dims: list[int]) -> str:
    return f'{kind} [{{ name: "{name}" data_type: TYPE_FP32 dims: {dims} }}]'


def _check_arguments(
    model_name: str, instances: int, max_batch_size: int, batch_delay_ms: float
) -> None:
    check_model_name("Triton", model_name, _VALID_NAME)
    if instances < 1 or max_batch_size < 0 or batch_delay_ms < 0:
        raise LaunchError(
            f"Triton needs instances >= 1, max_batch_size >= 0 and batch_delay_ms >= 0, got "
            f"{instances}, {max_batch_size}, {batch_delay_ms}"
        )


def _triton_runtime(venv: Path) -> tuple[Path, dict[str, str]]:
    """The bundled server folder (stub installed) and the environment to run it in."""
    probe = (
        "import json, sys, sysconfig; print(json.dumps([sysconfig.get_path('purelib'), "
        "sysconfig.get_config_var('LIBDIR'), '%d.%d' % sys.version_info[:2]]))"
    )
    out = subprocess.run(
        [str(venv_python(venv)), "-c", probe],
        capture_output=True, text=True, check=False, env=server_env(),
    )  # fmt: skip
    if out.returncode != 0:
        raise LaunchError(f"the Triton environment's python failed: {out.stderr.strip()[-200:]}")
    site, libdir, version = json.loads(out.stdout)
    server_dir = Path(site) / "pytriton" / "tritonserver"
    _install_stub(server_dir, version)
    env = server_env()
    libs = [str(Path(site) / "nvidia_pytriton.libs"), libdir, env.get("LD_LIBRARY_PATH", "")]
    env["LD_LIBRARY_PATH"] = os.pathsep.join(p for p in libs if p)
    env["PATH"] = os.pathsep.join([str(venv / "bin"), env.get("PATH", os.defpath)])
    return server_dir, env


def _install_stub(server_dir: Path, version: str) -> None:
    """Copy the python backend stub for ``version`` next to the backend (atomic, once)."""
    target = server_dir / "backends" / "python" / _STUB
    if target.exists():
        return
    source = server_dir / "python_backend_stubs" / version / _STUB
    if not source.is_file():
        raise LaunchError(f"nvidia-pytriton has no python backend stub for Python {version}")
    partial = target.with_name(f"{_STUB}.{os.getpid()}.partial")
    shutil.copy2(source, partial)
    os.replace(partial, target)


def _wait_ready(
    server: LaunchedServer, model_name: str, ports: tuple[int, ...], timeout: float
) -> None:
    """Until the server, the model and every port answer; LaunchError if Triton exits first."""
    urls = [f"{server.http_url}/v2/health/ready", f"{server.http_url}/v2/models/{model_name}/ready"]
    poll_until_ready(
        server,
        lambda: all(http_ok(u) for u in urls) and all(port_open(p) for p in ports),
        timeout=timeout,
        waiting="was not ready",
        where=urls[1],
        cause=_first_error,
    )


def _first_error(log_path: Path) -> str:
    """Triton's first real error, one line (its last line only says 'failed to load')."""
    try:
        lines = log_path.read_text("utf-8", "replace").splitlines()
    except OSError:
        return "(no log)"
    errors = (ln for ln in lines if _TRITON_ERROR.match(ln) and not _HARMLESS.search(ln))
    first = next(errors, None)
    if first is None:
        return last_line(log_path)
    message = first.split("] ", 1)[-1].strip('"').split("\\n", 1)[0].strip()
    return message if len(message) <= 200 else message[:197] + "..."
