"""YAML spec files: safe loading with alias-bomb and depth limits, each field's line, and
pydantic validation errors as one ``file:line: field 'x': ...`` line (InputError, exit 2)."""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import TypeAdapter, ValidationError

from benchctl.errors import InputError
from benchctl.specs.scenarios import SCENARIO_KINDS
from benchctl.text_files import read_utf8_text

# A YAML file whose aliases expand past this many nodes is refused ("billion laughs").
MAX_YAML_NODES = 100_000
BUILT_IN_FILES = "the built-in YAML files"


def read_yaml_mapping(path: Path) -> tuple[Mapping, dict[tuple, int]]:
    """The mapping in a YAML file and its field lines; InputError naming the file and the
    problem for unreadable, non-UTF-8, invalid or alias-bomb YAML."""
    text = read_utf8_text(path)
    node, data = _compose_and_load(text, str(path))
    if not isinstance(data, Mapping):
        raise InputError(f"{path}: expected a mapping of fields (key: value) at the top level")
    return data, _line_map(node)


def load_yaml_text(text: str, where: str) -> Any:
    """The Python value of one YAML document ``text`` (safe loader). InputError naming
    ``where`` (a file or a flag) for invalid YAML, aliases that expand past MAX_YAML_NODES
    values, or nesting too deep."""
    return _compose_and_load(text, where)[1]


def _compose_and_load(text: str, where: str) -> tuple[Any, Any]:
    """(node tree, Python data) of one YAML document with the safe loader, refusing
    documents whose aliases expand past MAX_YAML_NODES nodes or nest too deeply."""
    loader = None
    try:
        loader = yaml.SafeLoader(text)
        node = loader.get_single_node()
        if node is not None:
            size = _expanded_size(node, {})
            if size > MAX_YAML_NODES:
                raise InputError(
                    f"{where}: YAML too large once its aliases (*name) are expanded "
                    f"({size:,} values; at most {MAX_YAML_NODES:,}): write the values out"
                )
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        place = f"{where}:{mark.line + 1}" if mark else where
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InputError(f"{place}: invalid YAML: {problem}") from None
    except RecursionError:
        raise InputError(f"{where}: invalid YAML: nested too deeply") from None
    finally:
        if loader is not None:
            loader.dispose()
    return node, data


def _expanded_size(node: Any, memo: dict[int, int]) -> int:
    """Nodes in the tree with every alias expanded (shared subtrees counted per use)."""
    known = memo.get(id(node))
    if known is not None:
        return known
    memo[id(node)] = MAX_YAML_NODES + 1  # a cycle (recursive alias) counts as too large
    if isinstance(node, yaml.MappingNode):
        size = 1 + sum(_expanded_size(k, memo) + _expanded_size(v, memo) for k, v in node.value)
    elif isinstance(node, yaml.SequenceNode):
        size = 1 + sum(_expanded_size(item, memo) for item in node.value)
    else:
        size = 1
    memo[id(node)] = min(size, MAX_YAML_NODES + 1)
    return size


def _line_map(node: Any, prefix: tuple = ()) -> dict[tuple, int]:
    """(field, subfield, ...) -> 1-based line of that field in the YAML text."""
    lines: dict[tuple, int] = {}
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            path = (*prefix, key_node.value)
            lines[path] = key_node.start_mark.line + 1
            lines.update(_line_map(value_node, path))
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            lines[(*prefix, index)] = item.start_mark.line + 1
            lines.update(_line_map(item, (*prefix, index)))
    return lines


def validate_spec(
    adapter: TypeAdapter,
    data: Any,
    path: Path,
    lines: dict[tuple, int],
    origins: Mapping[tuple, str] | None = None,
    reference: str = BUILT_IN_FILES,
) -> Any:
    """``data`` (read from ``path``, field lines in ``lines``) validated by ``adapter``;
    ``reference``: where every field is shown, for an unknown field ("" for nowhere).
    InputError, one line as ``describe_validation_error`` words it (a field set by a flag,
    per ``origins``, is blamed on the flag), or naming ``path`` when nested too deeply."""
    try:
        return adapter.validate_python(data)
    except ValidationError as exc:
        known = known_fields(adapter)
        raise InputError(
            describe_validation_error(exc, path, lines, origins, known, reference)
        ) from None
    except RecursionError:
        raise InputError(f"{path}: nested too deeply") from None


def describe_validation_error(
    exc: ValidationError,
    path: Path,
    lines: dict[tuple, int],
    origins: Mapping[tuple, str] | None = None,
    known: Sequence[str] = (),
    reference: str = BUILT_IN_FILES,
) -> str:
    """One line: ``file:line: field 'x': what is wrong (allowed: ...)``; a field set on the
    command line (``origins``: field path -> flag) is blamed on that flag instead:
    ``--rate: field 'rate' of scenarios/steady.yaml: ...``. An unknown field gets "did you
    mean" the closest missing field, else the closest of ``known`` (every field name)."""
    errors = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")
    error = errors[0]
    loc = tuple(part for part in error["loc"] if not _is_union_tag(part, error))
    line = None
    for depth in range(len(loc), 0, -1):
        line = lines.get(loc[:depth])
        if line:
            break
    where = f"{path}:{line}" if line else str(path)
    for depth in range(len(loc), 0, -1):
        flag = (origins or {}).get(tuple(str(p) for p in loc[:depth]))
        if flag:
            where = f"{flag} (for {path})"
            break
    else:
        if not loc and origins:  # a rule across fields: say which flags took part
            where = f"{where} (with {', '.join(sorted(set(origins.values())))})"
    field = ".".join(str(p) for p in loc) or "(top level)"
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "union_tag_invalid" or (error["type"] == "union_tag_not_found"):
        field, message = "kind", f"must be one of {', '.join(SCENARIO_KINDS)}"
    elif error["type"] == "extra_forbidden":
        missing = [str(e["loc"][-1]) for e in errors if e["type"] == "missing"]
        close = suggest(str(loc[-1]), missing) or suggest(str(loc[-1]), known) if loc else []
        hint = f"did you mean '{close[0]}'?" if close else "check the spelling"
        shown = f"; {reference} show every field" if reference else ""
        message = f"unknown field ({hint}{shown})"
    elif error["type"] == "literal_error":
        message = f"{message} (got {error.get('input')!r})"
    others = [_other_problem(e, lines) for e in errors[1:]]
    suffix = f" (also: {'; '.join(others)})" if others else ""
    if not loc and field == "(top level)":
        return f"{where}: {message}{suffix}"
    return f"{where}: field '{field}': {message}{suffix}"


def suggest(name: str, choices: Sequence[str]) -> list[str]:
    """The one choice closest to a mistyped ``name`` (difflib ratio >= 0.6), or []."""
    return difflib.get_close_matches(name, [c for c in choices if c != name], n=1)


def known_fields(adapter: TypeAdapter) -> list[str]:
    """Every field name of every model the adapter validates (its JSON schema's
    properties), sorted; [] when the schema cannot be made."""
    try:
        schema = adapter.json_schema()
    except Exception:  # a type without a JSON schema: no suggestions, still one line
        return []
    names: set[str] = set()
    stack: list[Any] = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            properties = node.get("properties")
            if isinstance(properties, dict):
                names.update(properties)
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return sorted(names)


def _other_problem(error: Mapping, lines: dict[tuple, int]) -> str:
    """A further validation error in brief: ``field 'x' (line N): what is wrong``."""
    loc = tuple(part for part in error["loc"] if not _is_union_tag(part, error))
    line = next((lines[loc[:d]] for d in range(len(loc), 0, -1) if lines.get(loc[:d])), None)
    field = ".".join(str(p) for p in loc) or "(top level)"
    where = f"field '{field}'" + (f" (line {line})" if line else "")
    return f"{where}: {error['msg'].removeprefix('Value error, ')}"


def _is_union_tag(part: Any, error: Mapping) -> bool:
    return isinstance(part, str) and part in SCENARIO_KINDS and error["loc"][0] == part


def load_yaml_model(path: Path, model: Any) -> Any:
    """Any YAML file validated against a pydantic model (or TypeAdapter-able type), with
    one-line ``file:line: field 'x': ...`` errors (InputError, exit 2)."""
    if path.is_dir():
        raise InputError(f"{path}: is a folder, not a YAML file")
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    data, lines = read_yaml_mapping(path)
    return validate_spec(TypeAdapter(model), data, path, lines, reference="")
