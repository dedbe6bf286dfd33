"""Helpers for the fault tests: start the installed ``benchctl`` as a user does (a subprocess,
from a fresh directory, default relative ``runs/``), wait for load, read a real KServe's own
request counter, and list what is left of the processes a command started."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

import psutil

from benchctl.targets.launch import LaunchedServer

from ..e2e.helpers import BENCHCTL
from .conftest import target_overrides

_COUNT = re.compile(
    r'^request_predict_seconds_count\{[^}]*model_name="mlp"[^}]*\}\s+([0-9.eE+]+)', re.M
)


def predict_count(server: LaunchedServer) -> int:
    """KServe's own count of predictions of model ``mlp`` (0 before the first one)."""
    assert server.metrics_url is not None
    with urllib.request.urlopen(server.metrics_url, timeout=5) as response:
        text = response.read().decode()
    return int(sum(float(v) for v in _COUNT.findall(text)))


def kserve_args(server: LaunchedServer) -> list[str]:
    """``--target kserve`` pointed at an already running server."""
    return ["--target", "kserve", *(f"--target-set={item}" for item in target_overrides(server))]


class Cli:
    """One ``benchctl`` command running in the background; output goes to files in ``cwd``."""

    def __init__(
        self, args: list[str], cwd: Path, *, tag: str = "cli", logs: Path | None = None
    ) -> None:
        self.cwd = cwd
        self.out = (logs or cwd) / f"{tag}.out"
        self.err = (logs or cwd) / f"{tag}.err"
        with self.out.open("wb") as out, self.err.open("wb") as err:
            self.process = subprocess.Popen(
                [str(BENCHCTL), *args],
                cwd=cwd,
                stdout=out,
                stderr=err,
                stdin=subprocess.DEVNULL,
                env={**os.environ, "COLUMNS": "120"},
                # a terminal's Ctrl-C goes to the CLI as SIGINT: default action, as in a shell
                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
            )
        self.seen: set[int] = set()

    @property
    def pid(self) -> int:
        return self.process.pid

    def text(self) -> str:
        return self.out.read_text(errors="replace") + self.err.read_text(errors="replace")

    def wait_for(self, pattern: str, timeout: float = 120.0) -> None:
        """Until ``pattern`` appears in the output; remembers the process tree meanwhile."""
        deadline = time.monotonic() + timeout
        while pattern not in self.text():
            self.remember_tree()
            assert self.process.poll() is None, f"benchctl ended early:\n{self.text()}"
            assert time.monotonic() < deadline, f"no {pattern!r} after {timeout} s:\n{self.text()}"
            time.sleep(0.1)
        self.remember_tree()

    def remember_tree(self) -> None:
        try:
            for child in psutil.Process(self.pid).children(recursive=True):
                self.seen.add(child.pid)
        except psutil.Error:
            pass

    def wait(self, timeout: float = 90.0) -> int:
        return self.process.wait(timeout)

    def run_dir(self) -> Path:
        runs = sorted((self.cwd / "runs").iterdir())
        assert runs, self.text()
        return runs[-1]

    def run_json(self) -> dict[str, Any]:
        return json.loads((self.run_dir() / "run.json").read_text())


def left_running(pids: set[int]) -> list[str]:
    """The processes of ``pids`` still running (zombies excluded), as 'pid cmdline'."""
    alive = []
    for pid in sorted(pids):
        try:
            process = psutil.Process(pid)
            if process.status() != psutil.STATUS_ZOMBIE:
                alive.append(f"{pid} {' '.join(process.cmdline())[:160]}")
        except psutil.Error:
            continue
    return alive


def wait_gone(pids: set[int], timeout: float = 40.0) -> list[str]:
    """Wait until none of ``pids`` runs; what is still running after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while (alive := left_running(pids)) and time.monotonic() < deadline:
        time.sleep(0.2)
    return alive


def port_listening(url_or_address: str) -> bool:
    """True if something accepts connections at ``http://127.0.0.1:P`` / ``127.0.0.1:P``."""
    port = int(url_or_address.rstrip("/").rsplit(":", 1)[1].split("/")[0])
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0):
            return True
    except OSError:
        return False


def wait_status(cli: Cli, status: str, timeout: float = 40.0) -> dict[str, Any]:
    """run.json once its status is ``status`` (the watchdog recovers a killed run)."""
    deadline = time.monotonic() + timeout
    while True:
        info = cli.run_json()
        if info.get("status") == status or time.monotonic() > deadline:
            return info
        time.sleep(0.2)
