"""Getting a run ready, shared by ``benchctl run`` and the capacity search: the target as
run.json may keep it, a launched local server, and the engine's spec.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any, Protocol

from rich.console import Console

from benchctl.batch import engine_requests
from benchctl.config import TargetSpec
from benchctl.errors import InputError
from benchctl.plan.shapes import Plan, plan_to_json
from benchctl.reports.terminal.run_progress import print_launch_log, print_launched, print_launching
from benchctl.targets import secrets
from benchctl.targets.registry import SERVERS


class HasPath(Protocol):
    """What ``launch`` needs of a run directory: ``path``, where the server logs."""

    path: Any


def now_iso() -> str:
    """The time now, UTC, ISO 8601 to the second (run.json's timestamps)."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def public_target(target: TargetSpec) -> dict[str, Any]:
    """The target as JSON with its secret header values hidden (what run.json keeps)."""
    return secrets.public_target(target.model_dump(mode="json"), target.safe_headers)


def launcher_for(target: TargetSpec) -> Any:
    """The launcher for the target's kind (``targets.registry.LAUNCHERS``).

    Raises InputError when this kind cannot be launched (naming the kinds that can)."""
    from benchctl.targets.registry import LAUNCHERS, NOT_LAUNCHABLE

    kind = target.launch.server or target.kind
    if kind in NOT_LAUNCHABLE:
        raise InputError(NOT_LAUNCHABLE[kind])
    if kind not in LAUNCHERS:
        raise InputError(
            f"--launch cannot start a {kind} server: launchable kinds are "
            f"{', '.join(sorted(LAUNCHERS))}"
        )
    return LAUNCHERS[kind]


def launch(target: TargetSpec, run_dir: HasPath, console: Console) -> tuple[Any, TargetSpec]:
    """Start a local server of the target's kind on loopback (free ports, logs in the run
    directory); returns (the server handle, the target pointed at it).

    Raises InputError for a kind that cannot be launched, and what the launcher raises
    when the server does not come up."""
    kind = target.launch.server or target.kind
    launcher = launcher_for(target)
    print_launching(console, kind)
    server = launcher(
        target.launch,
        model_name=target.model,
        log_dir=run_dir.path,
        log=lambda message: print_launch_log(console, message),
    )
    print_launched(console, kind, server)
    return server, launched_target(target, server)


def launched_target(target: TargetSpec, server: Any) -> TargetSpec:
    """``target`` pointed at the launched ``server`` (a ``LaunchedServer``): its URL, gRPC
    address and metrics URL, and the URLs its kind's registry entry names in
    ``launched_urls`` (TorchServe: its management API), each when the server has one."""
    update = {"url": server.http_url, "grpc_address": server.grpc_address}
    if server.metrics_url:
        update["metrics_url"] = server.metrics_url
    extra = SERVERS[server.kind].launched_urls if server.kind in SERVERS else ()
    for name in extra:
        if getattr(server, name, None):
            update[name] = getattr(server, name)
    return target.model_copy(update=update)


def engine_spec(scenario: Any, target: TargetSpec, plan: Plan) -> dict[str, Any]:
    """What the engine is told (written to engine-spec.json): the plan, every body the run
    may send, encoded once (payload pool, model mix: targets/pool.py), and the limits.
    Header values are hidden: they reach the engine through its inherited environment,
    never the disk."""
    request, choices = engine_requests(scenario, target)
    if target.tls is not None:
        request = dataclasses.replace(request, tls=target.tls.model_dump(mode="json"))
    spec = {
        "plan": plan_to_json(plan),
        "request": request.to_json(),
        "choices": choices,
        "limits": {
            "max_in_flight": scenario.max_in_flight,
            "drop_after": getattr(scenario, "drop_after", 1.0),
            "timeout": target.timeout,
            "connect_timeout": target.connect_timeout,
        },
    }
    return secrets.hide_request_headers(spec, target.safe_headers)
