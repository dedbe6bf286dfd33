"""Explicit registries: wire protocols -> adapters, server kinds -> local launchers.

Adding a server: its adapter(s) in ADAPTERS (if it brings a new protocol) and its launcher
in LAUNCHERS; nothing else needs to know.
"""

from __future__ import annotations

from benchctl.targets.adapter import Adapter
from benchctl.targets.launch import Launcher, launch_kserve_spec
from benchctl.targets.v1 import RestV1
from benchctl.targets.v2 import GrpcV2, RestV2

ADAPTERS: dict[str, Adapter] = {a.protocol: a for a in (RestV1(), RestV2(), GrpcV2())}

LAUNCHERS: dict[str, Launcher] = {
    "kserve": launch_kserve_spec,
}
