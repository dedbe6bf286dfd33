"""Cached virtual environments for local servers, and the error every launch step raises.

Each server kind runs from its own venv (TARGETS.md: Triton needs numpy<2, TorchServe needs
torch, KServe and MLServer pull their own pins), created on first use under the cache folder
and keyed by the server name and the hash of its pinned requirements, then reused.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

from benchctl.errors import BenchctlError
from benchctl.targets.registry import SERVERS

# a server kind as people write it: its entry in targets/registry.py
DISPLAY_NAMES = {kind: server.display for kind, server in SERVERS.items()}
_MARKER = ".benchctl-complete"
# Variables of benchctl's own environment that must not leak into a server's interpreter.
_SCRUBBED_ENV = ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV", "__PYVENV_LAUNCHER__")


class LaunchError(BenchctlError):
    """A local server could not be set up or started; the message is one line."""


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
        display = DISPLAY_NAMES.get(name, name)
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
                    env=server_env(),
                )  # fmt: skip
                if rc != 0:
                    raise LaunchError(
                        f"creating the {display} environment failed ({Path(cmd[0]).name} exit "
                        f"code {rc}): {last_line(install_log)} (log: {install_log})"
                    )
        (venv / _MARKER).write_text("\n".join(requirements) + "\n")
    return venv


def server_env() -> dict[str, str]:
    """benchctl's environment for a server process, less the variables that would make the
    server's interpreter use benchctl's packages (PYTHONPATH, VIRTUAL_ENV, ...), with
    unbuffered Python output so that its log is current when a launch fails."""
    env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED_ENV}
    env["PYTHONUNBUFFERED"] = "1"  # the log file is current when a launch fails
    return env


def last_line(path: Path) -> str:
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
