"""Split runs: A/B and canary traffic between arms in one run (``--split A=95,B=5``).

An arm is a target profile (its name is the profile's name): another server, protocol,
model version or setting. Every arm's target is resolved and, with ``--launch``, launched on
its own free ports; each request goes to one arm (load/arms.py), and requests.parquet gets
an ``arm`` column (and ``user`` with ``--users``). The first arm is the control: the
``--target`` profile. Verdicts against it: analysis/verdicts.py.

This module is the CLI side (no gevent): parsing ``--split``, resolving and launching the
arms, the engine spec's ``arms`` section, and the sticky-user hash both sides use.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import re
from bisect import bisect_right
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchctl.errors import InputError
from benchctl.targets import secrets

ARM_HEADERS_ENV = "BENCHCTL_ARM_HEADERS_{index}"
MAX_USERS = 10_000_000
_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")


@dataclass(frozen=True)
class Arm:
    """One arm: its name (the target profile's), weight (any positive number; shares are
    weight / sum of weights), the resolved target, the profile file and, once launched
    (``--launch``), its server's process id."""

    name: str
    weight: float
    target: Any
    file: Path
    pid: int | None = None


def parse_split(text: str, control: str) -> list[tuple[str, float]]:
    """``"A=95,B=5"`` as ``[(name, weight), ...]``, the control (``--target``) first.

    Raises InputError (one line naming ``--split``) on a malformed entry, a weight that is not
    a positive finite number, a repeated name, fewer than two arms, or a control that is
    not one of the arms.
    """
    arms: list[tuple[str, float]] = []
    for part in (p.strip() for p in text.split(",")):
        name, equals, value = part.partition("=")
        name = name.strip()
        if not equals or not _NAME.match(name):
            raise InputError(
                f"--split: {part!r} is not NAME=WEIGHT (NAME: a target profile name; "
                "e.g. --split kserve=95,kserve-canary=5)"
            )
        try:
            weight = float(value)
        except ValueError:
            weight = math.nan
        if not math.isfinite(weight) or weight <= 0:
            raise InputError(f"--split: weight of {name!r} must be a number > 0, got {value!r}")
        if name in (n for n, _ in arms):
            raise InputError(f"--split: arm {name!r} is given twice; each arm once")
        arms.append((name, weight))
    if len(arms) < 2:
        raise InputError("--split: give at least two arms, e.g. --split A=50,B=50")
    names = [n for n, _ in arms]
    if control not in names:
        raise InputError(
            f"--split: the --target profile ({control!r}) is the control arm and must be one "
            f"of the arms ({', '.join(names)})"
        )
    return sorted(arms, key=lambda arm: arm[0] != control)


def check_users(users: int | None) -> int | None:
    """``--users``: None (no sticky users) or 1..MAX_USERS; InputError otherwise."""
    if users is None:
        return None
    if not 1 <= users <= MAX_USERS:
        raise InputError(f"--users must be between 1 and {MAX_USERS:,}, got {users}")
    return users


def user_point(user: int) -> float:
    """Where user ``user`` falls in [0, 1): the first 8 bytes of SHA-256("benchctl-user-<id>")
    over 2**64. The same id lands at the same point in every run and process."""
    digest = hashlib.sha256(f"benchctl-user-{user}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def arms_of_users(users: int, weights: list[float]) -> list[int]:
    """Each user's arm index: the arm whose slice of [0, 1) (cumulative weight shares) holds
    the user's hash point. A user's arm never changes while the weights stay the same."""
    total = float(sum(weights))
    edges, running = [], 0.0
    for weight in weights[:-1]:
        running += weight / total
        edges.append(running)
    return [bisect_right(edges, user_point(u)) for u in range(users)]


def resolve_arms(
    split: list[tuple[str, float]], load_target: Any, control_target: Any, control_file: Path
) -> list[Arm]:
    """Every arm's target, loaded with ``load_target(name) -> (target, file)``; the control's
    is the one already loaded (with its overrides)."""
    arms = [Arm(split[0][0], split[0][1], control_target, control_file)]
    for name, weight in split[1:]:
        target, file = load_target(name)
        arms.append(Arm(name, weight, target, file))
    return arms


def launch_arms(arms: list[Arm], launch: Any, servers: list[Any]) -> list[Arm]:
    """Launch every arm after the control (already launched by the run) with
    ``launch(arm) -> (server, target)``; each server is appended to ``servers`` as soon
    as it starts (the caller stops them all, even when a later launch fails). Returns the
    arms with their launched addresses."""
    launched = [arms[0]]
    for arm in arms[1:]:
        server, target = launch(arm)
        servers.append(server)
        launched.append(dataclasses.replace(arm, target=target, pid=server.pid))
    return launched


def public_arms(
    arms: list[Arm], users: int | None, public_target: Any, shadow: str | None = None
) -> dict[str, Any]:
    """run.json's ``arms`` section: names in order (control first), shares, users, the
    shadow arm's name (``--shadow``) and each arm's target with secrets redacted
    (``public_target``)."""
    total = sum(a.weight for a in arms)
    return {
        "control": arms[0].name,
        "users": users,
        "shadow": shadow,
        "arms": [
            {
                "name": a.name,
                "weight": a.weight,
                "share": a.weight / total,
                "file": str(a.file),
                "spec": public_target(a.target),
            }
            for a in arms
        ],
    }


def engine_arms(
    arms: list[Arm], users: int | None, requests: list[tuple[Any, dict[str, Any]]], seed: int
) -> dict[str, Any]:
    """The engine spec's ``arms``: per arm its wire request (headers moved to an environment
    variable the engine inherits, as for the run's request: targets/secrets.py), choices
    and time limits. ``requests``: ``(WireRequest, choices)`` per arm."""
    entries = []
    for index, (arm, (request, choices)) in enumerate(zip(arms, requests, strict=True)):
        if arm.target.tls is not None:
            request = dataclasses.replace(request, tls=arm.target.tls.model_dump(mode="json"))
        data = request.to_json()
        headers = dict(data.get("headers") or {})
        secrets.resolve_headers(headers)  # a missing ${VAR} is refused before the engine runs
        variable = ARM_HEADERS_ENV.format(index=index)
        os.environ[variable] = json.dumps(headers)
        data["headers"] = secrets.redact_headers(headers, arm.target.safe_headers)
        data["address"] = secrets.redact_url(data["address"])
        entries.append(
            {
                "name": arm.name,
                "weight": arm.weight,
                "request": data,
                "headers_from_env": variable,
                "choices": choices,
                "timeout": arm.target.timeout,
                "connect_timeout": arm.target.connect_timeout,
            }
        )
    return {"users": users, "seed": seed, "arms": entries}


def restore_arm_headers(spec: dict[str, Any]) -> dict[str, Any]:
    """The engine's side: each arm's real headers from the environment (in memory only)."""
    arms = spec.get("arms")
    if not arms:
        return spec
    entries = []
    for arm in arms["arms"]:
        variable = arm.get("headers_from_env")
        headers = json.loads(os.environ.get(variable) or "{}") if variable else None
        request = arm["request"] if headers is None else {**arm["request"], "headers": headers}
        entries.append({**arm, "request": request})
    return {**spec, "arms": {**arms, "arms": entries}}
