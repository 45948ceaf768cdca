"""Field paths, server-side transforms and the JSON ``Write`` messages of Firestore's REST API.

The write shapes follow what google-cloud-firestore sends for the same calls, so a store moved
from the library keeps its meaning:

* ``set(data)``: the whole document replaced (no mask), transforms of top-level sentinels;
* ``set(data, merge=True)``: only the leaf fields of ``data`` written (nested maps merged, an
  empty map is a leaf), the document created if missing;
* ``update(fields)``: the keys are field paths (``a.b``, or quoted ``a.`b-c```); each named field
  replaced (a map value replaces the whole map), :data:`DELETE_FIELD` removes one; the
  document must exist unless another precondition is given;
* ``delete()``.

A field path segment is written bare when it is an identifier (``[A-Za-z_][A-Za-z0-9_]*``), else
in backquotes with ``\\`` and ````` escaped (:func:`field_path`, :func:`split_path`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from confsync.adapters.firestore_values import encode_value, format_timestamp

__all__ = [
    "DELETE_FIELD",
    "DeleteField",
    "Increment",
    "Maximum",
    "Precondition",
    "delete_write",
    "field_path",
    "set_write",
    "split_path",
    "update_write",
]

_SIMPLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True, slots=True)
class DeleteField:
    """The sentinel of a field that :func:`update_write` removes."""


DELETE_FIELD = DeleteField()


@dataclass(frozen=True, slots=True)
class Increment:
    """Add ``value`` to the stored number (missing: 0), on the server."""

    value: int | float


@dataclass(frozen=True, slots=True)
class Maximum:
    """Store the larger of ``value`` and the stored number (missing: ``value``), on the server."""

    value: int | float


@dataclass(frozen=True, slots=True)
class Precondition:
    """A write's condition: the document exists (or not), or was last written at
    ``last_update_time`` (a datetime, nanoseconds kept, or an RFC 3339 string)."""

    exists: bool | None = None
    last_update_time: datetime | str | None = None

    def to_json(self) -> dict[str, Any]:
        if self.last_update_time is not None:
            when = self.last_update_time
            return {"updateTime": when if isinstance(when, str) else format_timestamp(when)}
        return {} if self.exists is None else {"exists": self.exists}


def field_path(*segments: str) -> str:
    """The field path of ``segments`` (each quoted as needed)."""
    if not segments or any(not isinstance(s, str) or not s for s in segments):
        raise ValueError("a field path is one or more non-empty strings")
    return ".".join(
        s if _SIMPLE.fullmatch(s) else "`" + s.replace("\\", "\\\\").replace("`", "\\`") + "`"
        for s in segments
    )


def split_path(path: str) -> tuple[str, ...]:
    """The segments of field path ``path``; ValueError when it is not one."""
    segments: list[str] = []
    at = 0
    while True:
        if path.startswith("`", at):
            segment, at = _quoted(path, at + 1)
        else:
            found = _SIMPLE.match(path, at)
            if found is None:
                raise ValueError(f"not a field path: {path!r}")
            segment, at = found.group(), found.end()
        segments.append(segment)
        if at == len(path):
            return tuple(segments)
        if path[at] != ".":
            raise ValueError(f"not a field path: {path!r}")
        at += 1


def _quoted(path: str, at: int) -> tuple[str, int]:
    chars: list[str] = []
    while at < len(path):
        char = path[at]
        if char == "\\" and at + 1 < len(path):
            chars.append(path[at + 1])
            at += 2
        elif char == "`":
            if not chars:
                break
            return "".join(chars), at + 1
        else:
            chars.append(char)
            at += 1
    raise ValueError(f"not a field path: {path!r}")


def _transform(path: str, sentinel: Increment | Maximum) -> dict[str, Any]:
    kind = "increment" if isinstance(sentinel, Increment) else "maximum"
    return {"fieldPath": path, kind: encode_value(sentinel.value)}


def _nest(fields: dict[str, Any], segments: tuple[str, ...], value: Any) -> None:
    """Put ``value`` at ``segments`` in the Python body ``fields``, making maps on the way."""
    for segment in segments[:-1]:
        inner = fields.setdefault(segment, {})
        if not isinstance(inner, dict):
            raise ValueError(f"field path {'.'.join(segments)} runs through a value")
        fields = inner
    fields[segments[-1]] = value


def _write(
    name: str, body: dict[str, Any], mask: list[str] | None, transforms: list[dict[str, Any]]
) -> dict[str, Any]:
    fields = {key: encode_value(value) for key, value in body.items()}
    write: dict[str, Any] = {"update": {"name": name, "fields": fields}}
    if mask is not None:  # sorted, as the library sends them (results come in this order)
        write["updateMask"] = {"fieldPaths": sorted(mask)}
    if transforms:
        write["updateTransforms"] = sorted(transforms, key=lambda t: str(t["fieldPath"]))
    return write


def set_write(name: str, data: Mapping[str, Any], *, merge: bool = False) -> dict[str, Any]:
    """The write of ``set(data)`` (see the module's docstring) on document ``name``."""
    body: dict[str, Any] = {}
    transforms: list[dict[str, Any]] = []
    leaves: list[str] = []

    def walk(values: Mapping[str, Any], prefix: tuple[str, ...], into: dict[str, Any]) -> None:
        for key, value in values.items():
            if not isinstance(key, str):
                raise TypeError(f"document keys are strings, not {type(key).__name__}")
            if isinstance(value, (Increment, Maximum)):
                transforms.append(_transform(field_path(*prefix, key), value))
            elif merge and isinstance(value, Mapping) and value:
                walk(value, (*prefix, key), into.setdefault(key, {}))
            else:
                into[key] = value  # a sentinel deeper down is a TypeError of the encoder
                if merge:
                    leaves.append(field_path(*prefix, key))

    walk(data, (), body)
    return _write(name, body, leaves if merge else None, transforms)


def update_write(
    name: str, fields: Mapping[str, Any], precondition: Precondition | None = None
) -> dict[str, Any]:
    """The write of ``update(fields)`` on document ``name`` (must exist unless
    ``precondition`` says otherwise)."""
    if not fields:
        raise ValueError("an update names at least one field")
    body: dict[str, Any] = {}
    mask: list[str] = []
    transforms: list[dict[str, Any]] = []
    for path, value in fields.items():
        segments = split_path(path)
        canonical = field_path(*segments)
        if isinstance(value, (Increment, Maximum)):
            transforms.append(_transform(canonical, value))
            continue
        mask.append(canonical)
        if not isinstance(value, DeleteField):
            _nest(body, segments, value)
    write = _write(name, body, mask, transforms)
    write["currentDocument"] = (precondition or Precondition(exists=True)).to_json()
    return write


def delete_write(name: str, precondition: Precondition | None = None) -> dict[str, Any]:
    """The write that deletes document ``name`` (if ``precondition`` holds)."""
    write: dict[str, Any] = {"delete": name}
    if precondition is not None and (condition := precondition.to_json()):
        write["currentDocument"] = condition
    return write
