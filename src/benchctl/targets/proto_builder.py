"""Protobuf message classes from a short field table, for servers with no usable Python stubs.

TorchServe ships its ``inference.proto`` only inside its frontend jar, and TF-Serving's
``tensorflow-serving-api`` imports all of TensorFlow (1.6 GB); the few messages benchctl needs
from them are described here as tables and built at import into a private descriptor pool
(never the default one, so they cannot clash with generated code for the same packages).
Package, message names and field numbers must be those of the real .proto files: then the
bytes are the same on the wire. Fields a table leaves out are skipped by the parser.

A table maps a message name (``"Outer.Inner"`` for a nested message) to its fields, each
``(name, number, type)`` or ``(name, number, type, oneof name)``. ``type`` is a scalar
(``string``, ``bytes``, ``bool``, ``int32``, ``int64``, ``uint32``, ``uint64``, ``float``,
``double``), the full name of a message or enum (``".tensorflow.DataType"``), or
``"map<KEY, VALUE>"``; a ``*`` before the name makes the field repeated.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

_F = descriptor_pb2.FieldDescriptorProto
_SCALARS = {
    "string": _F.TYPE_STRING,
    "bytes": _F.TYPE_BYTES,
    "bool": _F.TYPE_BOOL,
    "int32": _F.TYPE_INT32,
    "int64": _F.TYPE_INT64,
    "uint32": _F.TYPE_UINT32,
    "uint64": _F.TYPE_UINT64,
    "float": _F.TYPE_FLOAT,
    "double": _F.TYPE_DOUBLE,
}
Field = tuple[Any, ...]  # (name, number, type[, oneof])


@dataclass(frozen=True)
class ProtoFile:
    """One proto3 file's worth of messages and enums in one package.

    ``messages``: {message name: [field, ...]} as described in the module docstring.
    ``enums``: {enum name (``"Outer.State"`` when nested): {value name: number}}.
    """

    package: str
    messages: dict[str, list[Field]]
    enums: dict[str, dict[str, int]] = field(default_factory=dict)


def build(*files: ProtoFile, imports: tuple[ModuleType, ...] = ()) -> dict[str, type]:
    """Message classes for every message of ``files``, built in a fresh descriptor pool.

    ``imports``: generated ``*_pb2`` modules whose types the tables name (e.g.
    ``wrappers_pb2`` for ``.google.protobuf.Int64Value``); a file may also name types of
    the files before it. Returns {message name as in its table: class}. Raises TypeError
    (from protobuf) when a table names a type that is defined nowhere, or a field twice.
    """
    pool = descriptor_pool.DescriptorPool()
    deps = []
    for module in imports:
        proto = descriptor_pb2.FileDescriptorProto()
        module.DESCRIPTOR.CopyToProto(proto)
        pool.Add(proto)
        deps.append(proto.name)
    enum_names = {f".{f.package}.{name}" for f in files for name in f.enums}
    for file in files:
        proto = _file_proto(file, list(deps), enum_names)
        pool.Add(proto)
        deps.append(proto.name)
    return {
        name: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"{f.package}.{name}"))
        for f in files
        for name in f.messages
    }


def _file_proto(file: ProtoFile, deps: list[str], enum_names: set[str]) -> Any:
    proto = descriptor_pb2.FileDescriptorProto(
        name=f"benchctl/{file.package.replace('.', '_')}_minimal.proto",
        package=file.package,
        syntax="proto3",
        dependency=deps,
    )
    for dotted, values in file.enums.items():
        owner, _, enum_name = dotted.rpartition(".")
        container = _message(proto, owner).enum_type if owner else proto.enum_type
        enum = container.add(name=enum_name)
        for value_name, number in values.items():
            enum.value.add(name=value_name, number=number)
    for dotted, fields in file.messages.items():
        message = _message(proto, dotted)
        for spec in fields:
            _add_field(f".{file.package}.{dotted}", message, spec, enum_names)
    return proto


def _message(file: Any, dotted: str) -> Any:
    """The DescriptorProto for ``A`` or ``A.B`` (nested) in ``file``, created if missing."""
    parent: Any = file
    for part in dotted.split("."):
        siblings = parent.message_type if parent is file else parent.nested_type
        parent = next((m for m in siblings if m.name == part), None) or siblings.add(name=part)
    return parent


def _add_field(scope: str, message: Any, spec: Field, enum_names: set[str]) -> None:
    """Add one table field to ``message``, whose full name is ``scope``."""
    name, number, kind, *oneof = spec
    field = message.field.add(name=name.lstrip("*"), number=number, label=_F.LABEL_OPTIONAL)
    if name.startswith("*"):
        field.label = _F.LABEL_REPEATED
    if kind in _SCALARS:
        field.type = _SCALARS[kind]
    elif kind.startswith("map<"):  # a repeated nested XEntry {key = 1; value = 2}
        key, value = (part.strip() for part in kind[4:-1].split(","))
        entry = message.nested_type.add(name=_camel(field.name) + "Entry")
        entry.options.map_entry = True
        _add_field(f"{scope}.{entry.name}", entry, ("key", 1, key), enum_names)
        _add_field(f"{scope}.{entry.name}", entry, ("value", 2, value), enum_names)
        field.label, field.type = _F.LABEL_REPEATED, _F.TYPE_MESSAGE
        field.type_name = f"{scope}.{entry.name}"
    else:
        field.type = _F.TYPE_ENUM if kind in enum_names else _F.TYPE_MESSAGE
        field.type_name = kind
    if oneof:
        names = [o.name for o in message.oneof_decl]
        if oneof[0] not in names:
            message.oneof_decl.add(name=oneof[0])
            names.append(oneof[0])
        field.oneof_index = names.index(oneof[0])


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))
