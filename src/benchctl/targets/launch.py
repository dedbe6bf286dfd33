"""Launch local real model servers on 127.0.0.1, each from its own cached virtual environment.

What every launcher shares: free loopback ports, the server process in its own session with
its output in a log file (never a pipe), `LaunchedServer` (reach, watch, stop), polling until
ready and the `Launcher` interface with the mapping from a target's
``launch:`` section; and the KServe launcher. The venvs are made by `targets/venvs.py`
(``server_venv``, ``cache_root``, ``venv_python`` and ``LaunchError`` are re-exported here);
the launch settings and the model-name rule are in `targets/launch_settings.py` (re-exported).
"""

from __future__ import annotations

import contextlib
import json
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, Self, TypeVar, Unpack
from urllib.parse import quote

import psutil

from benchctl import lifetime
from benchctl.config import LaunchSpec
from benchctl.targets.launch_settings import NO_SLASH as NO_SLASH
from benchctl.targets.launch_settings import BatchingArgs as BatchingArgs
from benchctl.targets.launch_settings import LaunchArgs as LaunchArgs
from benchctl.targets.launch_settings import LaunchSettings as LaunchSettings
from benchctl.targets.launch_settings import ModelNameError as ModelNameError
from benchctl.targets.launch_settings import absolute_dir as absolute_dir
from benchctl.targets.launch_settings import check_model_name as check_model_name
from benchctl.targets.refmodel import RefModelConfig, config_arguments
from benchctl.targets.venvs import DISPLAY_NAMES, last_line, server_env
from benchctl.targets.venvs import LaunchError as LaunchError
from benchctl.targets.venvs import cache_root as cache_root
from benchctl.targets.venvs import server_venv as server_venv
from benchctl.targets.venvs import venv_python as venv_python

KSERVE_REQUIREMENTS = ["kserve==0.21.0", "numpy==2.4.6"]
SERVERS_DIR = Path(__file__).resolve().parent / "servers"
# Opens loopback URLs directly, whatever the HTTP(S)_PROXY variables say.
NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


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

    @classmethod
    def on_loopback(
        cls,
        kind: str,
        process: subprocess.Popen[bytes],
        log_path: Path,
        *,
        ports: Sequence[int],
        **extra: Any,
    ) -> Self:
        """The server ``process`` listening on 127.0.0.1 at ``ports`` = (HTTP, gRPC, metrics);
        Prometheus metrics at ``/metrics`` of the metrics port (the HTTP port for KServe).
        ``extra``: a subclass's own fields. Raises TypeError for an unknown field."""
        http_port, grpc_port, metrics_port = ports
        return cls(
            kind=kind,
            pid=process.pid,
            http_url=f"http://127.0.0.1:{http_port}",
            grpc_address=f"127.0.0.1:{grpc_port}",
            metrics_url=f"http://127.0.0.1:{metrics_port}/metrics",
            log_path=log_path,
            process=process,
            **extra,
        )

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
    *, log_dir: Path, workers: int = 1, **common: Unpack[LaunchArgs]
) -> LaunchedServer:
    """Start a real KServe ModelServer serving the reference model on 127.0.0.1.

    ``workers``: uvicorn worker processes (>= 1); ``common``: see `LaunchSettings`.
    ``models``, when given, are served instead of ``model_name``: one server, several
    models at different costs (a model mix).
    Returns once `/v2/models/<name>/ready` answers 200 for every model and the gRPC port
    accepts connections; raises LaunchError (one line, naming the log) if the server exits
    first or the timeout passes. Nothing is left running when it raises.
    """
    settings = LaunchSettings.of(log_dir, common)
    names = list(settings.checked_models("KServe", NO_SLASH))
    if workers < 1:
        raise LaunchError(f"KServe workers must be >= 1, got {workers}")
    venv = settings.venv("kserve", KSERVE_REQUIREMENTS)
    http_port, grpc_port = free_ports(2)
    cmd = [
        str(venv_python(venv)), str(SERVERS_DIR / "kserve_server.py"),
        "--http-port", str(http_port), "--grpc-port", str(grpc_port),
        "--model-name", settings.model_name, "--workers", str(workers),
    ]  # fmt: skip
    cmd += config_arguments(settings.model)
    if settings.models:
        cmd += ["--models", json.dumps(settings.models)]
    folder = settings.folder()
    log_path = folder / "kserve.log"
    proc = spawn_logged(cmd, log_path, env=server_env(), cwd=folder)
    server = LaunchedServer.on_loopback(
        "kserve", proc, log_path, ports=(http_port, grpc_port, http_port)
    )
    timeout = settings.ready_timeout
    return until_ready(server, lambda: wait_v2_ready(server, names, grpc_port, timeout))


def wait_v2_ready(
    server: LaunchedServer, names: Iterable[str], grpc_port: int, timeout: float
) -> None:
    """Until ``/v2/models/<name>/ready`` answers HTTP 200 for every name (each within
    ``timeout`` s) and ``grpc_port`` accepts connections: KServe's and MLServer's readiness.
    Raises LaunchError (one line naming the log) if the server exits first or a timeout passes.
    """
    for name in names:
        _wait_ready(
            server, f"{server.http_url}/v2/models/{quote(name, safe='')}/ready", grpc_port, timeout
        )


def _wait_ready(server: LaunchedServer, ready_url: str, grpc_port: int, timeout: float) -> None:
    poll_until_ready(
        server,
        lambda: http_ok(ready_url) and port_open(grpc_port),
        timeout=timeout,
        waiting="was not ready",
        where=ready_url,
    )


def poll_until_ready(
    server: LaunchedServer,
    ready: Callable[[], bool],
    *,
    timeout: float,
    waiting: str,
    where: str = "",
    cause: Callable[[Path], str] | None = None,
    interval: float = 0.1,
) -> None:
    """Call ``ready`` every ``interval`` s until it returns True.

    ``timeout``: seconds before giving up; ``waiting`` and ``where`` word the timeout's
    message (``"<Name> <waiting> after <timeout> s (<where>): <cause> (log: <path>)"``);
    ``cause``: the one line of the server's log that says why (default: its last line).
    Raises LaunchError (one line naming the log) when the server exits first or the timeout
    passes; does not stop the server (``until_ready`` does).
    """
    name = DISPLAY_NAMES.get(server.kind, server.kind)
    why = cause or last_line
    deadline = time.monotonic() + timeout
    while True:
        rc = server.process.poll()
        if rc is not None:
            raise LaunchError(
                f"{name} exited with code {rc} before it was ready: "
                f"{why(server.log_path)} (log: {server.log_path})"
            )
        if ready():
            return
        if time.monotonic() > deadline:
            place = f" ({where})" if where else ""
            raise LaunchError(
                f"{name} {waiting} after {timeout:g} s{place}: "
                f"{why(server.log_path)} (log: {server.log_path})"
            )
        time.sleep(interval)


def http_ok(url: str) -> bool:
    """True when GET ``url`` answers HTTP 200 within 1 s (no proxy); False on any error."""
    try:
        with NO_PROXY.open(url, timeout=1.0) as resp:
            return int(resp.status) == 200
    except (urllib.error.URLError, OSError):
        return False


def port_open(port: int) -> bool:
    """True when 127.0.0.1:``port`` accepts a TCP connection within 1 s."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0):
            return True
    except OSError:
        return False


class Launcher(Protocol):
    """Starts one local real server kind serving the reference model; see LAUNCHERS."""

    def __call__(
        self, spec: LaunchSpec, *, model_name: str, log_dir: Path, log: Callable[[str], None]
    ) -> LaunchedServer: ...


# The reference model's settings a target's ``launch:`` section holds (same names).
_MODEL_SETTINGS = (
    "hidden_width", "hidden_layers", "repeat", "stall_every_s", "stall_for_s", "cost_ms",
    "cache_size",
)  # fmt: skip


def reference_model(spec: LaunchSpec) -> RefModelConfig:
    """The reference model's settings from a target's ``launch:`` section (the rest default)."""
    return RefModelConfig(**{name: getattr(spec, name) for name in _MODEL_SETTINGS})


def served_models(spec: LaunchSpec) -> dict[str, dict[str, Any]] | None:
    """``launch.models`` as {name: RefModelConfig fields that differ from the launch
    section's}, or None when the server serves the target's one model."""
    if not spec.models:
        return None
    return {
        name: {k: v for k, v in served.model_dump().items() if v is not None}
        for name, served in spec.models.items()
    }


def spec_launcher(launch: Callable[..., LaunchedServer], *settings: str) -> Launcher:
    """The `Launcher` that calls ``launch`` (a ``launch_<server>`` function) for a target.

    ``launch`` gets the log folder, the reference model from the ``launch:`` section
    (`reference_model`), the model name, the progress callback, the ``launch:`` fields named
    in ``settings`` (e.g. ``"workers"``) and ``models`` (`served_models`). The launcher
    raises what ``launch`` raises (LaunchError; ModelNameError for a name the server refuses).
    """

    def launcher(
        spec: LaunchSpec, *, model_name: str, log_dir: Path, log: Callable[[str], None]
    ) -> LaunchedServer:
        arguments = {name: getattr(spec, name) for name in settings}
        return launch(
            log_dir=log_dir,
            model=reference_model(spec),
            model_name=model_name,
            log=log,
            models=served_models(spec),
            **arguments,
        )

    return launcher


launch_kserve_spec = spec_launcher(launch_kserve, "workers")
