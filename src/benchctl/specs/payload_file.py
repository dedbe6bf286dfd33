"""Refuse a target's payload file before anything is launched: one that does not exist or
cannot be read, a ``.npy`` that is not NumPy's format or holds Python objects, and a
``payload.file`` that would be ignored because ``payload.source`` is not ``file`` (the
target docs and error messages ask for both: ``payload.source: file`` and
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
    ``source: file`` payload's file is missing, not a regular file, unreadable, or a
    ``.npy`` without NumPy's header (``npy_problem``)."""
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
    return npy_problem(path) if path.suffix == ".npy" else ""


def npy_problem(path: Path) -> str:
    """Why ``path`` (a payload ``.npy``) cannot be read as an array without unpickling, or
    "" when it can: no ``\\x93NUMPY`` magic (NumPy's format, numpy.lib.format), a header
    that does not parse, or an array of Python objects (``allow_pickle`` is never set).
    Reads the header only; OSError when the file cannot be read."""
    import numpy as np

    fmt = np.lib.format
    with path.open("rb") as handle:
        if handle.read(len(fmt.MAGIC_PREFIX)) != fmt.MAGIC_PREFIX:
            return "not a NumPy .npy file (no \\x93NUMPY header)"
        handle.seek(0)
        try:
            version = fmt.read_magic(handle)
            readers = {(1, 0): fmt.read_array_header_1_0, (2, 0): fmt.read_array_header_2_0}
            if version not in readers:
                return ""  # a newer header: np.load reads it, or says why
            dtype = readers[version](handle)[2]
        except ValueError as exc:
            return f"a damaged .npy header ({exc})"
    if dtype.hasobject:
        return (
            f"holds Python objects (dtype {dtype}), which would need unpickling: save a "
            "numeric or string array (e.g. np.save(path, x.astype('float32')))"
        )
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
