"""Which request to send next: a model (by weight) and one of its pooled inputs (by its
popularity law), picked from bodies encoded before the run (``choices`` in the engine spec,
written by :mod:`benchctl.targets.pool`).

The request loop calls ``RequestChooser.next()`` once per request: it returns a prebuilt
:class:`Choice`; the random draws are made in blocks with numpy, so a pick costs a list
index. Draws are seeded per load process (the spec's seed and the worker's index), so a run
is reproducible for a given number of workers.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

import numpy as np

from benchctl.targets.pool import popularity

BLOCK = 4096  # picks drawn at once


@dataclass(frozen=True)
class Choice:
    """One request as sent: model name, input id (index in its pool), encoded body, the
    HTTP path (or gRPC method), rows a valid answer carries, and body headers (may be {})."""

    model: str
    input_id: int
    body: bytes
    path: str
    expect_rows: int
    headers: dict[str, str]


class RequestChooser:
    """Picks each request's model and input from the engine spec's ``choices``."""

    def __init__(self, choices: dict[str, Any], worker: int = 0, workers: int = 1) -> None:
        entries: list[Choice] = []
        probability: list[np.ndarray] = []
        models = choices["models"]
        total = float(sum(m["weight"] for m in models))
        for model in models:
            bodies = [base64.b64decode(b) for b in model["bodies"]]
            headers = dict(model.get("headers") or {})
            for i, body in enumerate(bodies):
                entries.append(
                    Choice(model["name"], i, body, model["path"], model["expect_rows"], headers)
                )
            law = popularity(len(bodies), model["law"], model.get("s", 1.0))
            probability.append(law * (model["weight"] / total))
        self.entries = entries
        self._p = np.concatenate(probability)
        self._p /= self._p.sum()
        self._rng = np.random.default_rng([int(choices.get("seed", 0)), worker])
        self._picks: list[int] = []
        self._constant = entries[0] if len(entries) == 1 else None
        # ``once`` (a batch run's finite set): every entry sent exactly once, in order, this
        # process taking every ``workers``-th; then ``exhausted`` and the request loop stops
        self._once = bool(choices.get("once"))
        self._queue = entries[worker::workers][::-1] if self._once else []
        self.exhausted = self._once and not self._queue

    @property
    def models(self) -> list[str]:
        """The distinct model names among the entries, in first-seen order."""
        return list(dict.fromkeys(c.model for c in self.entries))

    def next(self) -> Choice:
        """The next request to send (in ``once`` mode: only while not ``exhausted``)."""
        if self._once:
            choice = self._queue.pop()
            self.exhausted = not self._queue
            return choice
        if self._constant is not None:
            return self._constant
        if not self._picks:
            self._picks = self._rng.choice(len(self.entries), size=BLOCK, p=self._p).tolist()
            self._picks.reverse()
        return self.entries[self._picks.pop()]
