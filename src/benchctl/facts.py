"""Facts recorded with every run: versions of what measured, and the machine it ran on."""

from __future__ import annotations

import os
import platform
import socket
import sys
from importlib import metadata
from typing import Any

import psutil

_PACKAGES = ("benchctl", "locust", "gevent", "geventhttpclient", "grpcio", "numpy", "pyarrow")


def versions() -> dict[str, str]:
    """Versions of what measured, for run.json: ``{"python": "3.11.9", "benchctl": ..., "locust":
    ..., ...}`` for each package in _PACKAGES, from the installed distributions' metadata; ``"not
    installed"`` for one that is missing. Raises nothing.
    """
    found = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def host() -> dict[str, Any]:
    """The machine the run ran on, for run.json: hostname, platform string, logical CPU count
    (``os.cpu_count()``, may be None), CPU model, total memory in GiB (bytes / 2**30, one decimal)
    and the Python executable's path. Raises nothing of its own (psutil errors propagate).
    """
    return {
        "hostname": socket.gethostname(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "python_executable": sys.executable,
    }


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"
