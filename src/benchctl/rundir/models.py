"""Typed views of run.json and capacity.json, with migrations from older schema versions.

The files stay plain JSON (readable without benchctl); these pydantic models say what their
fields are, keep every field they do not name (``extra="allow"``: a newer writer's fields
survive a read and write), and bring a document of an older ``schema_version`` up to date
before validating it:

* run.json: version 1 is today's. A run.json without ``schema_version`` (runs written
  before the field existed) has the same fields: it migrates to 1 unchanged otherwise.
* capacity.json: version 2 is today's. Version 1 (and a document without the field) had
  the capacity only inside ``single_replica``: migration copies ``capacity_rps``, ``bound``
  and ``capacity_band_rps`` (its ``lower_rps``, ``upper_rps``) to the top level, as readers
  of version 1 documents did.
* A capacity.json of a version newer than this benchctl knows is read as it is (no
  migration; its unknown fields kept). A newer run.json is refused before it gets here
  (``benchctl.rundir.contract.check_version_and_keys``: one line, upgrade benchctl), as
  every command would otherwise read fields whose meaning it does not know.

Field-kind damage in run.json is reported by ``benchctl.rundir.contract.check_run_json``
(one line naming the field) before the model sees it, so every command reports it alike.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, PrivateAttr, ValidationError

from benchctl.errors import InputError
from benchctl.rundir.names import CAPACITY, CAPACITY_SCHEMA_VERSION, RUN_SCHEMA_VERSION

Number = int | float


class _Section(BaseModel):
    """A JSON object whose named fields are typed and whose other fields are kept."""

    model_config = ConfigDict(extra="allow")


class _Document(_Section):
    """A whole JSON file: read with ``from_json`` (migrated), written with ``to_json`` (the
    fields in the order they were read, so a file read and written back is unchanged)."""

    _read_as: dict[str, Any] = PrivateAttr(default_factory=dict)

    @classmethod
    def _read(
        cls, data: dict[str, Any], steps: dict[int, Migration], current: int, path: Path | str
    ) -> Any:
        migrated = migrate(data, steps, current, path)
        try:
            document = cls.model_validate(migrated)
        except ValidationError as exc:
            raise InputError(_one_line(exc, path)) from None
        document._read_as = migrated
        return document

    def to_json(self) -> dict[str, Any]:
        """The JSON object to write: the fields read or set (in the order read, then new
        ones), nothing added."""
        return _in_order(self.model_dump(mode="json", exclude_unset=True), self._read_as)


class ScenarioSection(_Section):
    """run.json ``scenario``: the scenario file's stem, path, time scale and parsed spec."""

    name: str | None = None
    file: str | None = None
    time_scale: Number | None = None
    spec: dict[str, Any] | None = None


class TargetSection(_Section):
    """run.json ``target``: the target profile's name, path, public spec (secrets
    redacted) and what was launched (None when the server was already running)."""

    name: str | None = None
    file: str | None = None
    spec: dict[str, Any] | None = None
    launched: Any = None


class PhaseRecord(_Section):
    """One phase of the plan: ``start`` and ``end`` in seconds since the run's start."""

    name: Any = None
    start: Number
    end: Number


class PlanSection(_Section):
    """run.json ``plan``: duration (s), expected request count, open or closed loop, the
    phases, and the intended rate curve as [time s, rate req/s] pairs."""

    duration: Number | None = None
    expected_requests: Any = None
    open_loop: bool | None = None
    phases: list[PhaseRecord] | None = None
    curve: list[tuple[Number, Number]] | None = None


class CountsSection(_Section):
    """run.json ``counts``: requests sent, dropped, rows written and the like (each >= 0)."""

    sent: Number | None = None
    dropped: Number | None = None
    rows: Number | None = None
    unwritten: Number | None = None
    sent_not_recorded: Number | None = None
    recovered_rows: Number | None = None


class RunInfo(_Document):
    """run.json: what was run, against what, when, on which machine, and how it ended.

    ``status`` is one of completed, interrupted, failed, running (names.py). Times in
    ``engine`` (``t0``) are seconds on the engine's clock; ``started_at``/``ended_at`` are
    ISO 8601 UTC text. Sections benchctl does not type (``engine``, ``generator``,
    ``telemetry``, ``versions``, ``host``, ``owner``, ``arms`` ...) are kept as dicts."""

    schema_version: int = RUN_SCHEMA_VERSION
    id: str | None = None
    status: str | None = None
    reason: str | None = None
    command: Any = None
    scenario: ScenarioSection | None = None
    target: TargetSection | None = None
    plan: PlanSection | None = None
    engine: dict[str, Any] | None = None
    counts: CountsSection | None = None
    generator: dict[str, Any] | None = None
    telemetry: dict[str, Any] | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any], path: Path | str = "run.json") -> RunInfo:
        """The model of a run.json object, migrated to ``RUN_SCHEMA_VERSION``. InputError
        (one line naming ``path``) for a schema_version that is not a whole number >= 0, or
        a field of the wrong kind."""
        return cls._read(data, _RUN_MIGRATIONS, RUN_SCHEMA_VERSION, path)


class Capacity(_Document):
    """capacity.json (``benchctl analyze``): one replica's capacity under the SLO and what
    derives from it. Units: rates in req/s, latencies in ms, cost in ``cost.currency``.

    ``capacity_rps``: the capacity (never extrapolated) or None; ``capacity_band_rps``:
    [low, high]; ``bound``: ``measured`` or ``lower`` (at least ``low``); ``slo``: the SLO
    text (``p99<200ms``); ``single_replica``, ``replicas``, ``cost``, ``autoscaling``,
    ``points``, ``latency_model``: the sections described in the README. Sections are kept
    as written (reports show damaged ones as absent): use ``number`` and ``section``."""

    schema_version: int = CAPACITY_SCHEMA_VERSION
    run: Any = None
    slo: Any = None
    capacity_rps: Any = None
    capacity_band_rps: Any = None
    bound: Any = None
    confidence: Any = None
    single_replica: Any = None
    cost: Any = None
    replicas: Any = None
    warnings: Any = None

    @classmethod
    def from_json(cls, data: dict[str, Any], path: Path | str = "capacity.json") -> Capacity:
        """The model of a capacity.json object, migrated to ``CAPACITY_SCHEMA_VERSION``.
        InputError (one line naming ``path``) for a schema_version that is not a whole
        number >= 0."""
        return cls._read(data, _CAPACITY_MIGRATIONS, CAPACITY_SCHEMA_VERSION, path)

    @classmethod
    def lenient(cls, data: dict[str, Any]) -> Capacity:
        """As ``from_json`` for a report that must not fail on a damaged file: a document
        whose schema_version cannot be read is taken as it is, and headline fields missing
        in any version are filled from ``single_replica``. Never raises."""
        with contextlib.suppress(InputError):  # a version that cannot be read: taken as it is
            data = migrate(data, _CAPACITY_MIGRATIONS, CAPACITY_SCHEMA_VERSION, CAPACITY)
        return cls.model_construct(**_headline_from_single(dict(data)))

    def number(self, name: str) -> float | None:
        """A top-level field as a float (``capacity_rps``), or None if it is not a number."""
        value = getattr(self, name, None)
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None
        return float(value)

    def section(self, name: str) -> dict[str, Any]:
        """A top-level object (``single_replica``, ``cost``), or an empty dict."""
        value = getattr(self, name, None)
        return value if isinstance(value, dict) else {}


Migration = Callable[[dict[str, Any]], dict[str, Any]]


def migrate(
    data: dict[str, Any], steps: dict[int, Migration], current: int, path: Path | str
) -> dict[str, Any]:
    """``data`` brought from its ``schema_version`` (absent: 0) to ``current`` by applying
    ``steps[v]`` (version v -> v+1) in turn; returns a new dict, ``data`` is unchanged. A
    version above ``current`` (a later benchctl's) is returned as it is. InputError naming
    ``path`` if the version is not a whole number >= 0."""
    version = data.get("schema_version", 0)
    if isinstance(version, bool) or not isinstance(version, int) or version < 0:
        shown = repr(version) if len(repr(version)) <= 40 else repr(version)[:37] + "..."
        raise InputError(
            f"{path}: damaged: field 'schema_version' must be a whole number >= 0, got {shown}"
        )
    document = dict(data)
    for step in range(version, current):
        document = steps[step](document)
        document["schema_version"] = step + 1
    return document


def _run_0_to_1(data: dict[str, Any]) -> dict[str, Any]:
    """run.json before ``schema_version`` existed: the same fields; the version goes first,
    where today's writer puts it."""
    return {"schema_version": 1, **{k: v for k, v in data.items() if k != "schema_version"}}


def _headline_from_single(data: dict[str, Any]) -> dict[str, Any]:
    """capacity.json 1 -> 2: the headline fields at the top, from ``single_replica``, where
    version 1 kept them (``capacity_rps``; ``bound``, default ``measured``;
    ``capacity_band_rps`` from ``lower_rps``/``upper_rps``). Fields present stay."""
    single = data.get("single_replica")
    single = single if isinstance(single, dict) else {}
    document = dict(data)
    document.setdefault("capacity_rps", single.get("capacity_rps"))
    document.setdefault("bound", single.get("bound") or "measured")
    if "lower_rps" in single and "upper_rps" in single:
        document.setdefault("capacity_band_rps", [single["lower_rps"], single["upper_rps"]])
    return document


_RUN_MIGRATIONS: dict[int, Migration] = {0: _run_0_to_1}
# capacity.json without schema_version was written by version 1's analyzer (same fields)
_CAPACITY_MIGRATIONS: dict[int, Migration] = {0: dict, 1: _headline_from_single}


def _in_order(value: Any, like: Any) -> Any:
    """``value`` with its objects' keys in the order ``like`` (what was read) had them; keys
    ``like`` lacks follow. pydantic dumps declared fields first, extra ones after."""
    if isinstance(value, dict) and isinstance(like, dict):
        first = {k: _in_order(value[k], like[k]) for k in like if k in value}
        return {**first, **{k: v for k, v in value.items() if k not in first}}
    if isinstance(value, list) and isinstance(like, list | tuple) and len(value) == len(like):
        return [_in_order(v, w) for v, w in zip(value, like, strict=True)]
    return value


def _one_line(exc: ValidationError, path: Path | str) -> str:
    """``PATH: damaged: field 'a.b' must be ..., got V`` for the first validation error."""
    error = exc.errors()[0]
    field = ".".join(str(part) for part in error["loc"])
    value = error.get("input")
    shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
    return f"{path}: damaged: field '{field}' {error['msg'].lower()}, got {shown}"
