"""Explicit registries: wire protocols -> adapters, server kinds -> local launchers.

Adding a server: its adapter(s) in ADAPTERS (if it brings a new protocol) and its launcher
in LAUNCHERS (or why it cannot be launched in NOT_LAUNCHABLE); nothing else needs to know.
"""

from __future__ import annotations

from benchctl.targets.adapter import Adapter
from benchctl.targets.launch import Launcher, launch_kserve_spec
from benchctl.targets.launch_mlserver import launch_mlserver_spec
from benchctl.targets.launch_torchserve import launch_torchserve_spec
from benchctl.targets.launch_triton import launch_triton_spec
from benchctl.targets.tfserving import TfServingGrpc
from benchctl.targets.torchserve import TorchServeGrpc, TorchServeRest
from benchctl.targets.v1 import RestV1
from benchctl.targets.v2 import GrpcV2, RestV2

ADAPTERS: dict[str, Adapter] = {
    a.protocol: a
    for a in (RestV1(), RestV2(), GrpcV2(), TfServingGrpc(), TorchServeRest(), TorchServeGrpc())
}

LAUNCHERS: dict[str, Launcher] = {
    "kserve": launch_kserve_spec,
    "mlserver": launch_mlserver_spec,
    "triton": launch_triton_spec,
    "torchserve": launch_torchserve_spec,
}

# Kinds `--launch` refuses, and why (checked before anything is created).
NOT_LAUNCHABLE: dict[str, str] = {
    "tfserving": "TF-Serving cannot be launched here: tensorflow_model_server is not on PyPI, "
    "Debian or npm; point the target at a running TF-Serving (url/grpc_address) and run "
    "without --launch",
}
