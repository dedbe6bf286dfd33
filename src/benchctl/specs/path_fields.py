"""The paths in a scenario or target spec (a replay's ``trace``, ``payload.file``, a model
mix's ``models[i].payload.file``, ``tls.*_file``): made absolute when the spec is loaded, so
run.json keeps a path that reads the same file from any folder, and the one-line error that
says where a path that cannot be read was given.

A path written in a scenario or target file is relative to that file's folder; one given on
the command line (``--set``, ``--target-set``) is relative to the current folder. Both are
stored resolved (absolute, symlinks followed) in the spec and so in run.json.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchctl.errors import InputError

# Fields that hold a path, per spec kind; "*" is every item of a list.
PATH_FIELDS: dict[str, tuple[tuple[str, ...], ...]] = {
    "scenarios": (("trace",),),
    "targets": (
        ("payload", "file"),
        ("models", "*", "payload", "file"),
        ("tls", "ca_file"),
        ("tls", "cert_file"),
        ("tls", "key_file"),
    ),
}


@dataclass(frozen=True)
class GivenPath:
    """A path field as the user gave it: ``text`` as written, and ``where``: the flag with
    its value (``--set trace=./x.csv``) or the file, line and field (``my.yaml:4: field
    'trace'``)."""

    text: str
    where: str

    def unreadable(self, path: Path, reason: str) -> str:
        """``WHERE: cannot read TEXT (PATH): REASON``, the absolute ``path`` shown when it
        differs from the text given."""
        shown = self.text if self.text == str(path) else f"{self.text} ({path})"
        return f"{self.where}: cannot read {shown}: {reason}"


def anchor_paths(
    data: dict,
    fields: Sequence[tuple[str, ...]],
    spec_file: Path,
    lines: Mapping[tuple, int],
    origins: Mapping[tuple, str],
) -> dict[tuple[str, ...], GivenPath]:
    """Make every path in ``fields`` of ``data`` absolute, in place: one written in
    ``spec_file`` against that file's folder, one set by a flag (``origins``: field path ->
    flag, or a parent section set whole) against the current folder; ``~`` is the home
    folder. Returns field path (list indices as text) -> how it was given, for each path
    field present. Raises nothing: a value that is no text is left for validation."""
    given: dict[tuple[str, ...], GivenPath] = {}
    for field in fields:
        for loc, node in _places(data, field):
            value = node.get(loc[-1])
            if not isinstance(value, str) or not value:
                continue
            flag = _flag(loc, origins)
            base = Path.cwd() if flag else spec_file.parent
            node[loc[-1]] = str((base / Path(value).expanduser()).resolve())
            given[loc] = GivenPath(value, _where(loc, value, flag, spec_file, lines))
    return given


def check_readable(path: Path | None, given: GivenPath | None) -> None:
    """InputError (one line, ``GivenPath.unreadable``) when the file at ``path`` cannot be
    opened and read (missing, a folder, no permission); nothing for None."""
    reason = _unreadable(path)
    if reason and given is None:
        raise InputError(f"{path}: cannot read: {reason}")
    if reason and given is not None and path is not None:
        raise InputError(given.unreadable(Path(path), reason))


def check_stored_path(run_json: Path, field: str, value: Any, other: str = "") -> None:
    """InputError (one line) when a path kept in a run's run.json (``field``, e.g.
    ``scenario.spec.trace``) cannot be read: which file and field, why, and what to do
    (``other``: another way out, e.g. "or give --traffic SCENARIO"). A relative path (runs
    made before paths were stored absolute) is relative to the folder the run was made in,
    which run.json does not say: it is tried against the current folder. Nothing for a
    value that is no text."""
    if not isinstance(value, str) or not value:
        return
    path = Path(value).expanduser()
    reason = _unreadable(path)
    if not reason:
        return
    where = f"{run_json}: field '{field}': cannot read {value}"
    also = f" ({other})" if other else ""
    if not path.is_absolute():
        raise InputError(
            f"{where} ({path.resolve()}): {reason}; the run keeps it relative to the folder "
            f"it was made in: run this command from that folder{also}"
        )
    raise InputError(f"{where}: {reason}; put the file back at that path{also}")


def _unreadable(path: Path | None) -> str:
    """Why the file at ``path`` cannot be opened and read (the system's words), or ""."""
    if path is None:
        return ""
    try:
        with Path(path).open("rb") as handle:
            handle.read(1)
    except OSError as exc:
        return exc.strerror or type(exc).__name__
    return ""


def _places(data: Any, field: tuple[str, ...]) -> list[tuple[tuple[str, ...], dict]]:
    """(field path, the dict holding its last part) for each place ``field`` names in
    ``data`` ("*" expands over a list's items, their index as text)."""
    found: list[tuple[tuple[str, ...], dict]] = []

    def walk(node: Any, rest: tuple[str, ...], loc: tuple[str, ...]) -> None:
        if not rest:
            return
        head, tail = rest[0], rest[1:]
        if head == "*":
            if isinstance(node, list):
                for index, item in enumerate(node):
                    walk(item, tail, (*loc, str(index)))
            return
        if not isinstance(node, dict):
            return
        if not tail:
            if head in node:
                found.append(((*loc, head), node))
            return
        walk(node.get(head), tail, (*loc, head))

    walk(data, field, ())
    return found


def _flag(loc: tuple[str, ...], origins: Mapping[tuple, str]) -> str:
    """The flag that set the field or a section above it (``--set trace``), or ""."""
    for depth in range(len(loc), 0, -1):
        if loc[:depth] in origins:
            return origins[loc[:depth]]
    return ""


def _where(
    loc: tuple[str, ...], value: str, flag: str, spec_file: Path, lines: Mapping[tuple, int]
) -> str:
    """``--set trace=./x.csv``, ``--target-set tls: field 'tls.ca_file'`` (a section set
    whole), or ``FILE:LINE: field 'payload.file'``."""
    dotted = ".".join(loc)
    if flag:
        return f"{flag}={value}" if flag.endswith(f" {dotted}") else f"{flag}: field '{dotted}'"
    as_lines = tuple(int(part) if part.isdigit() else part for part in loc)
    line = next((lines[as_lines[:d]] for d in range(len(loc), 0, -1) if as_lines[:d] in lines), 0)
    return f"{spec_file}:{line}: field '{dotted}'" if line else f"{spec_file}: field '{dotted}'"
