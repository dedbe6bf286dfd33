"""Launch a real TorchServe (Java frontend + Python workers) serving the reference model.

Everything lives in ``<log_dir>/torchserve/``: the .mar (archived at launch from
servers/torchserve_handler.py, refmodel.py and its settings), config.properties, a quiet
log4j2 config and TorchServe's own TMPDIR (its pid file, worker sockets, unpacked models).
All five ports are free ones on 127.0.0.1. ``torchserve --start --foreground`` keeps the
launcher process alive with Java as its child and the Python workers under Java, so the
whole server is one process tree under ``LaunchedServer.pid``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Unpack
from urllib.parse import quote

import psutil

from benchctl.targets.launch import (
    NO_PROXY,
    SERVERS_DIR,
    BatchingArgs,
    LaunchedServer,
    LaunchSettings,
    free_ports,
    poll_until_ready,
    port_open,
    spawn_logged,
    spec_launcher,
    until_ready,
)
from benchctl.targets.refmodel import RefModelConfig
from benchctl.targets.venvs import LaunchError, last_line, server_env

TORCHSERVE_REQUIREMENTS = [
    "torch==2.13.0",  # a CPU wheel on this machine's disk; any other version downloads GBs
    "torchserve==0.12.0",
    "torch-model-archiver==0.12.0",
    "pyyaml==6.0.3",  # undeclared by torchserve; without it every worker crash-loops
    "numpy==2.4.6",
]
REFMODEL_FILE = SERVERS_DIR.parent / "refmodel.py"
MODEL_VERSION = "1.0"
_JAVA_MAIN = "org.pytorch.serve.ModelServer"
_VALID_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-.]*$")
_MAX_SCRATCH_CHARS = 80  # + "/.ts.sock.<port>" must stay under the 107-byte AF_UNIX limit
_WORKER_ERROR = re.compile(r"MODEL_LOG - (\w+(?:Error|Exception): .*)")
_NO_BATCH_DELAY_MS = 1  # TorchServe reads maxBatchDelay 0 as "unset" and waits 100 ms
# Per-request INFO lines come from these loggers; everything else keeps INFO. MODEL_LOG (the
# workers' stdout, where load errors go) stays at INFO: the handler quiets its worker itself.
_LOG4J2 = """<?xml version="1.0" encoding="UTF-8"?>
<Configuration status="WARN">
  <Appenders>
    <Console name="STDOUT" target="SYSTEM_OUT">
      <PatternLayout pattern="%d{ISO8601} [%-5p] %t %c - %m%n"/>
    </Console>
  </Appenders>
  <Loggers>
    <Logger name="ACCESS_LOG" level="off" additivity="false"/>
    <Logger name="MODEL_METRICS" level="off" additivity="false"/>
    <Logger name="TS_METRICS" level="off" additivity="false"/>
    <Logger name="MODEL_LOG" level="info"/>
    <Logger name="org.pytorch.serve.wlm.WorkerThread" level="warn"/>
    <Logger name="org.pytorch.serve.wlm.BatchAggregator" level="warn"/>
    <Logger name="org.pytorch.serve.wlm.WorkerLifeCycle" level="warn"/>
    <Logger name="org.pytorch.serve" level="info"/>
    <Root level="warn"><AppenderRef ref="STDOUT"/></Root>
  </Loggers>
</Configuration>
"""


@dataclass
class TorchServeServer(LaunchedServer):
    """A launched TorchServe: also its management API and how to stop it cleanly."""

    management_url: str = ""
    home: Path = Path()
    scratch: Path = Path()  # TorchServe's TMPDIR: pid file, worker sockets, unpacked models
    torchserve: Path = Path()
    env: dict[str, str] = field(default_factory=dict, repr=False)

    def stop(self, timeout: float = 10.0) -> None:
        """``torchserve --stop``, then kill whatever is left of Java and its workers."""
        java = self._java()
        if self.alive():
            self.remember_tree()
            self._stop_command(timeout)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout)
        if java is not None and java.is_running():
            with contextlib.suppress(psutil.Error):
                java.kill()
            psutil.wait_procs([java], timeout=5.0)
        super().stop(timeout)
        shutil.rmtree(self.scratch, ignore_errors=True)

    def _java(self) -> psutil.Process | None:
        """The Java frontend named by TorchServe's pid file, if it still runs."""
        try:
            java = psutil.Process(int((self.scratch / ".model_server.pid").read_text().strip()))
            return java if _JAVA_MAIN in java.cmdline() else None
        except (OSError, ValueError, psutil.Error):
            return None

    def _stop_command(self, timeout: float) -> None:
        with self.log_path.open("ab") as out, contextlib.suppress(subprocess.TimeoutExpired):
            subprocess.run(
                [str(self.torchserve), "--stop"], stdout=out, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, env=self.env, cwd=self.home, timeout=timeout,
                check=False,
            )  # fmt: skip


@dataclass(frozen=True)
class _Ports:
    inference: int
    management: int
    metrics: int
    grpc_inference: int
    grpc_management: int

    @classmethod
    def free(cls) -> _Ports:
        """Five distinct free loopback ports (inference, management, metrics, gRPC inference, gRPC
        management), from ``benchctl.targets.launch.free_ports``.
        """
        return cls(*free_ports(5))


def launch_torchserve(
    *, log_dir: Path, workers: int = 1, **common: Unpack[BatchingArgs]
) -> TorchServeServer:
    """Start a real TorchServe serving the reference model on 127.0.0.1.

    ``common``: see `LaunchSettings` (``ready_timeout`` here defaults to 90 s). ``models``,
    when given, are served instead of ``model_name``: one .mar each (its own ``workers``
    worker processes), at its own cost.
    Returns once the management API reports ``workers`` READY workers for every model and
    the gRPC port accepts connections; raises LaunchError (one line, naming the log) if TorchServe
    exits first or the timeout passes. Nothing is left running when it raises.
    """
    settings = LaunchSettings.of(log_dir, common, batching=True, ready_timeout=90.0)
    served = settings.checked_models("TorchServe", _VALID_NAME)  # torch-model-archiver's rule
    venv = settings.venv("torchserve", TORCHSERVE_REQUIREMENTS)
    log_dir = settings.folder()
    home = log_dir / "torchserve"
    home.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / "torchserve.log"
    ports = _Ports.free()
    for name, changes in served.items():
        own = settings.model_for(changes)
        batching = (settings.max_batch_size, settings.batch_delay_ms)
        _archive(venv, home, own, name, workers, *batching, log_path)
    config = _write_config(home, ports, ",".join(f"{name}.mar" for name in served), workers)
    scratch = _scratch_dir()
    env = _torchserve_env(scratch)
    torchserve = venv / "bin" / "torchserve"
    proc = _start(torchserve, config, log_path, env=env, scratch=scratch)
    server = TorchServeServer.on_loopback(
        "torchserve",
        proc,
        log_path,
        ports=(ports.inference, ports.grpc_inference, ports.metrics),
        management_url=f"http://127.0.0.1:{ports.management}",
        home=home,
        scratch=scratch,
        torchserve=torchserve,
        env=env,
    )

    def wait() -> None:
        for name in served:
            _wait_ready(server, name, workers, ports.grpc_inference, settings.ready_timeout)

    return until_ready(server, wait)


def _start(
    torchserve: Path, config: Path, log_path: Path, *, env: dict[str, str], scratch: Path
) -> subprocess.Popen[bytes]:
    """``torchserve --start --foreground`` with ``config`` (its folder is the working folder);
    LaunchError (one line) when it cannot be started, after removing ``scratch``."""
    home = config.parent
    cmd = [
        str(torchserve), "--start", "--foreground", "--ts-config", str(config),
        "--model-store", str(home / "model-store"), "--log-config", str(home / "log4j2.xml"),
        "--ncs",
    ]  # fmt: skip
    try:
        return spawn_logged(cmd, log_path, env=env, cwd=home)
    except OSError as exc:
        shutil.rmtree(scratch, ignore_errors=True)
        raise LaunchError(f"cannot start TorchServe: {exc} (log: {log_path})") from None


launch_torchserve_spec = spec_launcher(
    launch_torchserve, "workers", "max_batch_size", "batch_delay_ms"
)


def _archive(
    venv: Path,
    home: Path,
    model: RefModelConfig,
    model_name: str,
    workers: int,
    max_batch_size: int,
    batch_delay_ms: float,
    log_path: Path,
) -> None:
    """Write ``model-store/<name>.mar``: handler, refmodel.py, its settings, batch config."""
    src = home / "mar-src"
    src.mkdir(exist_ok=True)
    shutil.copyfile(REFMODEL_FILE, src / "refmodel.py")
    (src / "refmodel.json").write_text(json.dumps(dataclasses.asdict(model)))
    batched = max_batch_size > 1
    delay = max(_NO_BATCH_DELAY_MS, round(batch_delay_ms)) if batched else _NO_BATCH_DELAY_MS
    (src / "model-config.yaml").write_text(
        f"minWorkers: {workers}\nmaxWorkers: {workers}\n"
        f"batchSize: {max(1, max_batch_size)}\nmaxBatchDelay: {delay}\nresponseTimeout: 120\n"
    )
    (home / "model-store").mkdir(exist_ok=True)
    cmd = [
        str(venv / "bin" / "torch-model-archiver"), "--model-name", model_name,
        "--version", MODEL_VERSION, "--handler", str(SERVERS_DIR / "torchserve_handler.py"),
        "--extra-files", f"{src / 'refmodel.py'},{src / 'refmodel.json'}",
        "--config-file", str(src / "model-config.yaml"),
        "--export-path", str(home / "model-store"), "--force",
    ]  # fmt: skip
    with log_path.open("ab") as out:
        rc = subprocess.call(
            cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env=server_env(), cwd=home,
        )  # fmt: skip
    if rc != 0:
        raise LaunchError(
            f"torch-model-archiver failed for model {model_name!r} (exit code {rc}): "
            f"{last_line(log_path)} (log: {log_path})"
        )


def _write_config(home: Path, ports: _Ports, archives: str, workers: int) -> Path:
    """config.properties (loopback addresses, no token auth for this local instance);
    ``archives``: the .mar files to load, comma-separated."""
    (home / "log4j2.xml").write_text(_LOG4J2)
    lines = {
        "inference_address": f"http://127.0.0.1:{ports.inference}",
        "management_address": f"http://127.0.0.1:{ports.management}",
        "metrics_address": f"http://127.0.0.1:{ports.metrics}",
        "grpc_inference_address": "127.0.0.1",
        "grpc_management_address": "127.0.0.1",
        "grpc_inference_port": ports.grpc_inference,
        "grpc_management_port": ports.grpc_management,
        "model_store": home / "model-store",
        "load_models": archives,
        "default_workers_per_model": workers,
        "disable_token_authorization": "true",
        "enable_model_api": "true",
        "metrics_mode": "prometheus",
        "vmargs": "-Xmx512m",
    }
    path = home / "config.properties"
    path.write_text("".join(f"{key}={value}\n" for key, value in lines.items()))
    return path


def _scratch_dir() -> Path:
    """A fresh, short TMPDIR: workers bind Unix sockets in it, and AF_UNIX paths are limited
    to 107 bytes, so a folder deep inside a run directory makes every worker crash-loop."""
    scratch = Path(tempfile.mkdtemp(prefix="benchctl-ts-"))
    if len(str(scratch)) > _MAX_SCRATCH_CHARS:
        scratch.rmdir()
        scratch = Path(tempfile.mkdtemp(prefix="benchctl-ts-", dir="/tmp"))
    return scratch


def _torchserve_env(scratch: Path) -> dict[str, str]:
    """Own TMPDIR/TEMP (pid file, sockets, unpacked models); no inherited TS_* settings."""
    env = {k: v for k, v in server_env().items() if not k.startswith("TS_")}
    env.update(TMPDIR=str(scratch), TEMP=str(scratch), TMP=str(scratch))
    return env


def _wait_ready(
    server: TorchServeServer, model_name: str, workers: int, grpc_port: int, timeout: float
) -> None:
    """Poll the management API until ``workers`` workers of ``model_name`` are READY."""
    describe = f"{server.management_url}/models/{quote(model_name, safe='')}"
    poll_until_ready(
        server,
        lambda: _ready_workers(describe) >= workers and port_open(grpc_port),
        timeout=timeout,
        waiting=f"had fewer than {workers} READY worker(s) for {model_name!r}",
        cause=_cause,
        interval=0.2,
    )


def _ready_workers(describe_url: str) -> int:
    try:
        with NO_PROXY.open(describe_url, timeout=2.0) as resp:
            models = json.loads(resp.read())
        return sum(w.get("status") == "READY" for m in models for w in m.get("workers") or [])
    except (OSError, ValueError, TypeError, AttributeError):
        return 0


def _cause(log_path: Path) -> str:
    """The first Python error a worker logged (crash loops repeat it), else the last line."""
    with contextlib.suppress(OSError), log_path.open(encoding="utf-8", errors="replace") as f:
        for line in f:
            if match := _WORKER_ERROR.search(line):
                cause = match.group(1).strip()
                return cause if len(cause) <= 200 else cause[:197] + "..."
    return last_line(log_path)
