"""Serve the reference model with KServe on a chosen address (containers, test hosts).

benchctl's own ``kserve_server.py`` binds 127.0.0.1 only, which is right for ``--launch``
but useless in a container on a bridge network, where the port must be reachable from other
containers. This wrapper loads that file unchanged and only swaps its bind address:

    python kserve_entry.py --host 0.0.0.0 --http-port 8080 --grpc-port 8081 [kserve_server args]

Every other argument goes to kserve_server.py (``--model-name``, ``--workers``,
``--hidden-width``, ``--repeat`` ...). The address also travels in ``BENCHCTL_BIND_HOST``,
so KServe's extra worker processes (``--workers N``), which re-run this file, see it too;
without ``--host`` that variable decides (the image sets 0.0.0.0; with host networking set
127.0.0.1), and without either the address is 0.0.0.0.

Where kserve_server.py is: ``$BENCHCTL_SERVERS_DIR``, else ``/app/targets/servers`` (the
image, docker/servers/kserve.Dockerfile), else the source checkout this file sits in. Run it
with the KServe environment's python (kserve 0.21), never with benchctl's.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

HOST_ENV = "BENCHCTL_BIND_HOST"
SERVERS_ENV = "BENCHCTL_SERVERS_DIR"
IMAGE_SERVERS_DIR = Path("/app/targets/servers")


def _candidates() -> list[Path]:
    """Where kserve_server.py may be: the image's folder, then the checkout this file is in.

    Only a file at docker/servers/ of a checkout has a checkout two levels up: in the image it
    is /app/kserve_entry.py, whose parents are only /app and / (``parents[2]`` would raise).
    """
    here = Path(__file__).resolve()
    found = [IMAGE_SERVERS_DIR]
    if len(here.parents) > 2:
        found.append(here.parents[2] / "src" / "benchctl" / "targets" / "servers")
    return found


def _take_host(argv: list[str]) -> list[str]:
    """Remove ``--host X`` / ``--host=X`` from argv into $BENCHCTL_BIND_HOST."""
    rest: list[str] = []
    args = iter(argv)
    for arg in args:
        if arg == "--host":
            os.environ[HOST_ENV] = next(args, "0.0.0.0")
        elif arg.startswith("--host="):
            os.environ[HOST_ENV] = arg.split("=", 1)[1]
        else:
            rest.append(arg)
    return rest


def servers_dir() -> Path:
    configured = os.environ.get(SERVERS_ENV)
    if configured:
        return Path(configured)
    candidates = _candidates()
    for candidate in candidates:
        if (candidate / "kserve_server.py").is_file():
            return candidate
    looked = ", ".join(map(str, candidates))
    raise SystemExit(f"kserve_server.py not found: set {SERVERS_ENV} (looked in {looked})")


def load_kserve_server() -> ModuleType:
    """Import kserve_server.py by path (it patches KServe's servers at import time)."""
    name = "benchctl_kserve_server"
    if name in sys.modules:
        return sys.modules[name]
    path = servers_dir() / "kserve_server.py"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None, path
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


# Top level on purpose: KServe's worker processes re-run this file as __mp_main__.
sys.argv = [sys.argv[0], *_take_host(sys.argv[1:])]
kserve_server = load_kserve_server()  # takes sys.argv[1:] as its own arguments
kserve_server.LOOPBACK = os.environ.get(HOST_ENV, "0.0.0.0")

if __name__ == "__main__":
    kserve_server.main(kserve_server._ARGV)
