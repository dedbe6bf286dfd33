"""Arms of a split run (``benchctl run ... --split A=95,B=5``), inside a load process.

Each request goes to one arm. Without simulated users an arm is drawn per request by its
weight; with ``users`` (sticky cohorts) each request is first given a user drawn uniformly
from ``0 .. users-1`` and goes to that user's arm, fixed by a hash of the user id
(:func:`benchctl.splits.arm_of_user`). Drawing the user of each arrival uniformly at random
splits the scenario's arrival process into ``users`` independent processes of rate
``rate / users`` (thinning), so their superposition is the scenario's process, Poisson
included.

:class:`ArmChooser` is the driver's chooser (``next()`` once per request) and
:class:`ArmTransport` its transport: one client per arm (each arm may be another server and
protocol), picked by the choice's arm. Draws are seeded per load process.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from benchctl.load.choice import Choice, RequestChooser
from benchctl.load.clients import Outcome, Transport, make_transport
from benchctl.splits import arms_of_users
from benchctl.targets.wire import WireRequest

BLOCK = 4096  # arms (and users) drawn at once


@dataclass(frozen=True, slots=True)
class ArmChoice:
    """One request of a split run: its arm (name and index), simulated user (None without
    ``users``) and the arm's own choice (None: the arm's base request)."""

    arm: str
    index: int
    user: int | None
    inner: Choice | None
    base_body: bytes
    twin: Choice | None = None  # shadow runs: the same input for the shadow arm

    @property
    def body(self) -> bytes:
        """The request body (bytes) to send: the arm's chosen input's, else the arm's base
        request's.
        """
        return self.inner.body if self.inner is not None else self.base_body

    @property
    def model(self) -> str | None:
        """The model name of the arm's chosen input (a multi-model mix); None: base request."""
        return self.inner.model if self.inner is not None else None

    @property
    def input_id(self) -> int | None:
        """The index of the arm's chosen input in its payload pool, None for the base request."""
        return self.inner.input_id if self.inner is not None else None


class ArmChooser:
    """The driver's chooser for a split run (``split`` tells the driver to record arms)."""

    split = True
    exhausted = False

    def __init__(self, arms: dict[str, Any], worker: int = 0, workers: int = 1) -> None:
        entries = arms["arms"]
        self.names = [a["name"] for a in entries]
        weights = np.asarray([float(a["weight"]) for a in entries])
        self._p = weights / weights.sum()
        self._choosers = [
            RequestChooser(a["choices"], worker, workers) if a.get("choices") else None
            for a in entries
        ]
        self._base_bodies = [base64.b64decode(a["request"]["body"]) for a in entries]
        self.users = int(arms.get("users") or 0)
        self._user_arm = (
            np.asarray(arms_of_users(self.users, weights.tolist())) if self.users else None
        )
        self._rng = np.random.default_rng([int(arms.get("seed", 0)), worker, 20])
        # shadow run: every request to arm 0, its twin (same position in the shadow arm's
        # pool: the same input when both arms' payload settings match) to arm 1
        self.shadow = bool(arms.get("shadow"))
        served, twin = [*self._choosers, None][:2] if self.shadow else (None, None)
        self._twins = (
            {id(c): t for c, t in zip(served.entries, twin.entries, strict=False)}
            if served is not None and twin is not None
            else {}
        )
        self._arms: list[int] = []
        self._users: list[int] = []

    def _refill(self) -> None:
        if self._user_arm is not None:
            users = self._rng.integers(0, self.users, size=BLOCK)
            self._users = users.tolist()[::-1]
            self._arms = self._user_arm[users].tolist()[::-1]
        else:
            self._arms = self._rng.choice(len(self.names), size=BLOCK, p=self._p).tolist()[::-1]

    def next(self) -> ArmChoice:
        """The arm (and inner choice) of the next request; called once per request.

        Shadow runs always pick the served arm (index 0) and attach the same input for the shadow
        arm as ``twin``. Otherwise arms are drawn by weight (or by the user's arm with ``users``) in
        blocks of BLOCK draws from this process's seeded generator. Returns an ArmChoice; never
        exhausted; raises nothing of its own.
        """
        if self.shadow:
            chooser = self._choosers[0]
            inner = chooser.next() if chooser is not None else None
            twin = self._twins.get(id(inner)) if inner is not None else None
            return ArmChoice(self.names[0], 0, None, inner, self._base_bodies[0], twin)
        if not self._arms:
            self._refill()
        index = self._arms.pop()
        user = self._users.pop() if self._user_arm is not None else None
        chooser = self._choosers[index]
        inner = chooser.next() if chooser is not None else None
        return ArmChoice(self.names[index], index, user, inner, self._base_bodies[index])


class ArmTransport:
    """One transport per arm; ``send`` uses the choice's arm."""

    def __init__(self, arms: dict[str, Any], *, concurrency: int) -> None:
        self._transports: list[Transport] = []
        for arm in arms["arms"]:
            request = WireRequest.from_json(arm["request"])
            self._transports.append(
                make_transport(
                    request,
                    concurrency=concurrency,
                    timeout=arm["timeout"],
                    connect_timeout=arm["connect_timeout"],
                )
            )

    def send(self, choice: Any = None) -> Outcome:
        """Send ``choice`` (an ArmChoice) through its arm's transport and return that
        transport's Outcome: (status, error kind or "", bytes received, sent_at, answered_at).
        Like every Transport it does not raise for a failed request; AttributeError if
        ``choice`` is not an ArmChoice.
        """
        return self._transports[choice.index].send(choice.inner)

    def close(self) -> None:
        """Close every arm's transport (their connections). Returns None."""
        for transport in self._transports:
            transport.close()


def split_parts(spec: dict[str, Any], worker: int, workers: int) -> tuple[Any, ArmChooser]:
    """The transport and chooser of a split or shadow run's load process (engine spec
    ``arms``; shadow: load/shadow.py)."""
    arms = spec["arms"]
    transport = ArmTransport(arms, concurrency=spec["limits"]["max_in_flight"])
    if arms.get("shadow"):
        from benchctl.load.shadow import ShadowTransport

        served, shadow = transport._transports
        folder = Path(arms["shadow_dir"])
        return ShadowTransport(served, shadow, folder, worker), ArmChooser(arms, worker, workers)
    return transport, ArmChooser(arms, worker, workers)


def close_split(transport: Any) -> None:
    """End of a load process's plan: a shadow run's pairs still held are written."""
    if hasattr(transport, "flush"):
        transport.close()
