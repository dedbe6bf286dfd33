"""Refuse a target's payload file before anything is launched: one that does not exist or
cannot be read, and a ``payload.file`` that would be ignored because ``payload.source`` is not
``file`` (the target docs and error messages ask for both: ``payload.source: file`` and
``payload.file: <path>``)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from benchctl.errors import InputError
from benchctl.specs.path_fields import GivenPath
from benchctl.specs.targets import PayloadSpec, TargetSpec


def check_payload_files(
    target: TargetSpec,
    profile: Path,
    lines: Mapping[tuple, int],
    origins: Mapping[tuple, str],
    given: Mapping[tuple, GivenPath] | None = None,
) -> None:
    """Check the target's ``payload`` and every ``models[i].payload`` of a mix.

    Inputs: the validated target (relative ``payload.file`` already made absolute), its
    profile file, the profile's field lines, the fields set by flags (field path -> flag
    text) and how each path was given (``path_fields.anchor_paths``: its text is shown).
    Raises InputError (one line naming the flag or profile line, the field and the file) when
    ``payload.file`` is set with a ``payload.source`` other than ``file``, or when a
    ``source: file`` payload's file is missing, not a regular file or unreadable."""
    payloads: list[tuple[tuple[str, ...], PayloadSpec]] = [(("payload",), target.payload)]
    for index, share in enumerate(target.models):
        if share.payload is not None:
            payloads.append((("models", str(index), "payload"), share.payload))
    for prefix, payload in payloads:
        as_given = (given or {}).get((*prefix, "file"))
        _check_one(payload, prefix, profile, lines, origins, as_given)


def _check_one(
    payload: PayloadSpec,
    prefix: tuple[str, ...],
    profile: Path,
    lines: Mapping[tuple, int],
    origins: Mapping[tuple, str],
    given: GivenPath | None,
) -> None:
    if payload.file is None:
        return
    field = ".".join(prefix)
    where = _where((*prefix, "file"), profile, lines, origins)
    if payload.source != "file":
        raise InputError(
            f"{where}: field '{field}.file' is set but {field}.source is "
            f"{payload.source!r}, so the file would not be sent: also set {field}.source: "
            f"file (--target-set {field}.source=file), or drop {field}.file"
        )
    problem = _unreadable(payload.file)
    if problem:
        shown = str(payload.file)
        if given is not None and given.text != shown:
            shown = f"{given.text} ({shown})"
        raise InputError(f"{where}: field '{field}.file': {shown}: {problem}")


def _unreadable(path: Path) -> str:
    """Why ``path`` cannot be read as a payload file, or "" when it can."""
    if not path.exists():
        return "no such file"
    if not path.is_file():
        return "not a regular file"
    try:
        with path.open("rb") as handle:
            handle.read(1)
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc})"
    return ""


def _where(
    loc: tuple[str, ...], profile: Path, lines: Mapping[tuple, int], origins: Mapping[tuple, str]
) -> str:
    """The flag that set the field (``--target-set payload.file=x (for targets/k.yaml)``),
    else ``profile:line``, else the profile."""
    for depth in range(len(loc), 0, -1):
        flag = origins.get(loc[:depth])
        if flag:
            return f"{flag} (for {profile})"
    for depth in range(len(loc), 0, -1):
        line = lines.get(loc[:depth])
        if line:
            return f"{profile}:{line}"
    return str(profile)
