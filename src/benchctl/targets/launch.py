"""Launch local real model servers on 127.0.0.1, each from its own cached virtual environment.

`server_venv` is shared by every server kind (KServe now; Triton and TorchServe later): it
creates a venv keyed by the server name and the hash of its pinned requirements, once,
and reuses it. A launched server's stdout and stderr go to a log file, never a pipe.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar
from urllib.parse import quote

import psutil

from benchctl import lifetime
from benchctl.config import LaunchSpec
from benchctl.errors import BenchctlError
from benchctl.targets.refmodel import MODEL_NAME, RefModelConfig, config_arguments

KSERVE_REQUIREMENTS = ["kserve==0.21.0", "numpy==2.4.6"]
SERVERS_DIR = Path(__file__).resolve().parent / "servers"
_DISPLAY_NAMES = {"kserve": "KServe", "triton": "Triton", "torchserve": "TorchServe"}
_MARKER = ".benchctl-complete"
# Variables of benchctl's own environment that must not leak into a server's interpreter.
_SCRUBBED_ENV = ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV", "__PYVENV_LAUNCHER__")
_DEFAULT_MODEL = RefModelConfig()  # frozen
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class LaunchError(BenchctlError):
    """A local server could not be set up or started; the message is one line."""


# A REST path parameter (FastAPI: KServe, MLServer) cannot hold "/", even %-encoded.
NO_SLASH = re.compile(r"^[^/]+$")


class ModelNameError(LaunchError):
    """The target's model name is one the launched server does not accept (bad input, 2)."""

    exit_code = 2


def check_model_name(server: str, name: str, pattern: re.Pattern[str]) -> None:
    """ModelNameError (one line naming the field and what is allowed) unless ``name``
    matches the server's rule for model names."""
    if not pattern.match(name):
        raise ModelNameError(
            f"target field 'model': {server} model names must match {pattern.pattern}, got {name!r}"
        )


def cache_root(cache_dir: Path | None = None) -> Path:
    """`cache_dir`, else $BENCHCTL_CACHE_DIR, else ~/.cache/benchctl; always absolute: the
    server venvs' interpreters are run from the servers' own working directories."""
    if cache_dir is not None:
        return Path(os.path.abspath(cache_dir))
    env = os.environ.get("BENCHCTL_CACHE_DIR")
    return Path(os.path.abspath(env)) if env else Path.home() / ".cache" / "benchctl"


def venv_python(venv: Path) -> Path:
    """The interpreter of a venv made by `server_venv`."""
    return venv / "bin" / "python"


def server_venv(
    name: str,
    requirements: list[str],
    *,
    cache_dir: Path | None = None,
    log: Callable[[str], None] = print,
) -> Path:
    """Return a venv with `requirements` installed, creating it on first use.

    The venv lives at <cache>/venvs/<name>-<hash of python version + requirements>. A marker
    file is written only after pip succeeds, so an interrupted install is redone next time;
    a file lock keeps two benchctl processes from building the same venv at once.
    """
    base_python = getattr(sys, "_base_executable", None) or sys.executable
    key = json.dumps([list(sys.version_info[:3]), requirements])
    digest = hashlib.sha256(key.encode()).hexdigest()[:12]
    venvs = cache_root(cache_dir) / "venvs"
    venv = venvs / f"{name}-{digest}"
    if (venv / _MARKER).exists():
        return venv
    venvs.mkdir(parents=True, exist_ok=True)
    install_log = venvs / f"{name}-{digest}.install.log"
    with _file_lock(venvs / f"{name}-{digest}.lock"):
        if (venv / _MARKER).exists():  # built by another process while we waited
            return venv
        display = _DISPLAY_NAMES.get(name, name)
        log(f"creating {display} environment (first use, ~1 min)…")
        if venv.exists():
            shutil.rmtree(venv)  # left by an interrupted attempt
        pip = [str(venv_python(venv)), "-m", "pip", "install", "--disable-pip-version-check"]
        steps = [
            [base_python, "-m", "venv", str(venv)],
            [*pip, "--no-input", "--progress-bar", "off", *requirements],
        ]
        with install_log.open("wb") as out:
            for cmd in steps:
                rc = subprocess.call(
                    cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                    env=_server_env(),
                )  # fmt: skip
                if rc != 0:
                    raise LaunchError(
                        f"creating the {display} environment failed ({Path(cmd[0]).name} exit "
                        f"code {rc}): {_last_line(install_log)} (log: {install_log})"
                    )
        (venv / _MARKER).write_text("\n".join(requirements) + "\n")
    return venv


def absolute_dir(log_dir: Path | str) -> Path:
    """``log_dir`` made absolute (not following symlinks) and created.

    The one place where launchers turn the folder they were given into the folder every path
    handed to a server derives from: servers run with their own working directory, so a
    relative model repository / model store / settings path fails or is silently ignored
    (Triton: "failed to stat file"; torch-model-archiver: "export-path is not a directory";
    MLServer falls back to its defaults on 0.0.0.0:8080-8082). See TARGETS.md.
    """
    path = Path(os.path.abspath(log_dir))
    path.mkdir(parents=True, exist_ok=True)
    return path


def free_ports(count: int) -> list[int]:
    """``count`` distinct free loopback ports."""
    ports: list[int] = []
    while len(ports) < count:
        port = free_port()
        if port not in ports:
            ports.append(port)
    return ports


def spawn_logged(
    cmd: list[str], log_path: Path, *, env: dict[str, str], cwd: Path
) -> subprocess.Popen:
    """A server process in its own session, its output appended to ``log_path`` (a file,
    never a pipe: Java and uvicorn children inherit it and a pipe would hang).

    Its session is one process group holding the whole server tree (TorchServe's Java and
    workers, Triton's stubs, KServe's uvicorn workers); during ``benchctl run`` that group is
    registered with the run's watchdog, which stops it if benchctl is killed
    (see benchctl.lifetime)."""
    with log_path.open("ab") as out, lifetime.spawning():
        process = subprocess.Popen(
            cmd,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=cwd,
            start_new_session=True,
            preexec_fn=lifetime.unblock_stop_signals,
        )
        lifetime.register(process.pid, "server")
    return process


def until_ready(server: S, wait: Callable[[], None]) -> S:
    """Run ``wait``; on any failure stop the server (nothing is left running) and re-raise;
    once ready, remember its process tree (workers and stubs started by then)."""
    try:
        wait()
    except BaseException:
        server.stop(timeout=5.0)
        raise
    server.remember_tree()
    return server


def free_port() -> int:
    """A TCP port that is free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LaunchedServer:
    """A running local server and everything needed to reach, watch and stop it."""

    kind: str
    pid: int
    http_url: str
    grpc_address: str
    metrics_url: str | None
    log_path: Path
    process: subprocess.Popen[bytes]
    _tree: list[psutil.Process] = field(default_factory=list, repr=False, compare=False)

    def alive(self) -> bool:
        """True while the server's main process runs."""
        return self.process.poll() is None

    def remember_tree(self) -> None:
        """Record the current child processes, so that `stop` finds them even if orphaned."""
        with contextlib.suppress(psutil.Error):
            known = {p.pid for p in self._tree}
            kids = psutil.Process(self.pid).children(recursive=True)
            self._tree += [p for p in kids if p.pid not in known]

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM the server, wait up to `timeout` s, then SIGKILL its whole tree (idempotent)."""
        if self.alive():
            self.remember_tree()
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGTERM)  # KServe stops its own workers
        deadline = time.monotonic() + timeout
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout)
        if self.alive():
            self.process.kill()
        self.process.wait()
        rest = [p for p in self._tree if p.is_running()]
        _, survivors = psutil.wait_procs(rest, timeout=max(0.0, deadline - time.monotonic()))
        for p in survivors:
            with contextlib.suppress(psutil.Error):
                p.kill()
        psutil.wait_procs(survivors, timeout=5.0)
        # Whatever of its process group is left (started after remember_tree): it has no
        # server to serve any more.
        lifetime.kill_group(self.pid, signal.SIGKILL)


S = TypeVar("S", bound=LaunchedServer)


def launch_kserve(
    *,
    log_dir: Path,
    model: RefModelConfig = _DEFAULT_MODEL,
    model_name: str = MODEL_NAME,
    workers: int = 1,
    ready_timeout: float = 60.0,
    cache_dir: Path | None = None,
    log: Callable[[str], None] = print,
    models: dict[str, dict[str, Any]] | None = None,
) -> LaunchedServer:
    """Start a real KServe ModelServer serving the reference model on 127.0.0.1.

    ``models`` ({name: RefModelConfig fields to change}), when given, are served instead
    of ``model_name``: one server, several models at different costs (a model mix).
    Returns once `/v2/models/<name>/ready` answers 200 for every model and the gRPC port
    accepts connections; raises LaunchError (one line, naming the log) if the server exits
    first or the timeout passes. Nothing is left running when it raises.
    """
    names = list(models) if models else [model_name]
    for name in names:
        check_model_name("KServe", name, NO_SLASH)
    if workers < 1:
        raise LaunchError(f"KServe workers must be >= 1, got {workers}")
    venv = server_venv("kserve", KSERVE_REQUIREMENTS, cache_dir=cache_dir, log=log)
    http_port, grpc_port = free_ports(2)
    cmd = [
        str(venv_python(venv)), str(SERVERS_DIR / "kserve_server.py"),
        "--http-port", str(http_port), "--grpc-port", str(grpc_port),
        "--model-name", model_name, "--workers", str(workers),
    ]  # fmt: skip
    cmd += config_arguments(model)
    if models:
        cmd += ["--models", json.dumps(models)]
    log_dir = absolute_dir(log_dir)
    log_path = log_dir / "kserve.log"
    proc = spawn_logged(cmd, log_path, env=_server_env(), cwd=log_dir)
    http_url = f"http://127.0.0.1:{http_port}"
    server = LaunchedServer(
        kind="kserve",
        pid=proc.pid,
        http_url=http_url,
        grpc_address=f"127.0.0.1:{grpc_port}",
        metrics_url=f"{http_url}/metrics",
        log_path=log_path,
        process=proc,
    )
    ready_urls = [f"{http_url}/v2/models/{quote(name, safe='')}/ready" for name in names]

    def wait() -> None:
        for url in ready_urls:
            _wait_ready(server, url, grpc_port, ready_timeout)

    return until_ready(server, wait)


def _wait_ready(server: LaunchedServer, ready_url: str, grpc_port: int, timeout: float) -> None:
    name = _DISPLAY_NAMES.get(server.kind, server.kind)
    deadline = time.monotonic() + timeout
    while True:
        rc = server.process.poll()
        if rc is not None:
            raise LaunchError(
                f"{name} exited with code {rc} before it was ready: "
                f"{_last_line(server.log_path)} (log: {server.log_path})"
            )
        if _http_ok(ready_url) and _port_open(grpc_port):
            return
        if time.monotonic() > deadline:
            raise LaunchError(
                f"{name} was not ready after {timeout:g} s ({ready_url}): "
                f"{_last_line(server.log_path)} (log: {server.log_path})"
            )
        time.sleep(0.1)


def _http_ok(url: str) -> bool:
    try:
        with _NO_PROXY.open(url, timeout=1.0) as resp:
            return int(resp.status) == 200
    except (urllib.error.URLError, OSError):
        return False


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0):
            return True
    except OSError:
        return False


def _server_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED_ENV}
    env["PYTHONUNBUFFERED"] = "1"  # the log file is current when a launch fails
    return env


def _last_line(path: Path) -> str:
    """The last non-blank line of a log file, shortened, or a placeholder."""
    try:
        with path.open("rb") as f:
            f.seek(max(0, f.seek(0, os.SEEK_END) - 4096))
            lines = f.read().decode("utf-8", "replace").splitlines()
    except OSError:
        return "(no log)"
    last = next((ln.strip() for ln in reversed(lines) if ln.strip()), "(empty log)")
    return last if len(last) <= 200 else last[:197] + "..."


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    with path.open("w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


class Launcher(Protocol):
    """Starts one local real server kind serving the reference model; see LAUNCHERS."""

    def __call__(
        self, spec: LaunchSpec, *, model_name: str, log_dir: Path, log: Callable[[str], None]
    ) -> LaunchedServer: ...


def reference_model(spec: LaunchSpec) -> RefModelConfig:
    """The reference model's settings from a target's ``launch:`` section."""
    return RefModelConfig(
        hidden_width=spec.hidden_width,
        hidden_layers=spec.hidden_layers,
        repeat=spec.repeat,
        stall_every_s=spec.stall_every_s,
        stall_for_s=spec.stall_for_s,
        cost_ms=spec.cost_ms,
        cache_size=spec.cache_size,
    )


def served_models(spec: LaunchSpec) -> dict[str, dict[str, Any]] | None:
    """``launch.models`` as {name: RefModelConfig fields that differ from the launch
    section's}, or None when the server serves the target's one model."""
    if not spec.models:
        return None
    return {
        name: {k: v for k, v in served.model_dump().items() if v is not None}
        for name, served in spec.models.items()
    }


def single_model_only(spec: LaunchSpec, server: str) -> None:
    """ModelNameError (bad input, one line) when ``launch.models`` asks a launcher that
    serves one model for several."""
    if spec.models:
        raise ModelNameError(
            f"target field 'launch.models': the {server} launcher serves one model; "
            "launch.models works with server: kserve, triton or mlserver"
        )


def launch_kserve_spec(
    spec: LaunchSpec, *, model_name: str, log_dir: Path, log: Callable[[str], None]
) -> LaunchedServer:
    return launch_kserve(
        log_dir=log_dir,
        model=reference_model(spec),
        model_name=model_name,
        workers=spec.workers,
        log=log,
        models=served_models(spec),
    )
