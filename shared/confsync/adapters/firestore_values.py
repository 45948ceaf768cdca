"""Firestore document values in the REST API's JSON form, and back (a pure codec).

Firestore's REST API writes every value as an object with one key naming its type
(``{"integerValue": "12"}``): 64-bit integers as decimal strings, timestamps as RFC 3339 with up
to nine fractional digits, bytes as base64, maps as ``{"mapValue": {"fields": {...}}}`` and
arrays as ``{"arrayValue": {"values": [...]}}`` (an empty map or array may leave ``fields`` /
``values`` out). :func:`encode_fields` / :func:`decode_fields` convert a whole document body.

Python side: None, bool, int (64-bit), float, str, bytes, datetime (naive: UTC) and
:class:`Timestamp` (a datetime that keeps the nanoseconds Firestore stores), mappings with string
keys, lists and tuples (read back as lists). Decoded timestamps are :class:`Timestamp`, aware, in
UTC. A value of another Python type is a TypeError (a bug in the caller); a JSON value that is
not one of these shapes (or a reference or geo point, which confsync never stores) is a
:class:`ValueDecodeError`, naming where in the document it is.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

__all__ = [
    "Timestamp",
    "ValueDecodeError",
    "decode_fields",
    "decode_value",
    "encode_fields",
    "encode_value",
    "format_timestamp",
    "parse_timestamp",
]

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_RFC3339 = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)[Tt](\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?"
    r"(?:([Zz])|([+-])(\d\d):(\d\d))"
)
_SPECIAL_FLOATS = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


class ValueDecodeError(ValueError):
    """A JSON value that is not a Firestore value confsync reads."""


class Timestamp(datetime):
    """A UTC datetime that also carries the nanoseconds of a Firestore timestamp.

    ``microsecond`` is ``nanosecond // 1000``; :meth:`rfc3339` writes every digit, so a stored
    time (a document's ``update_time``, used as a precondition) survives a read and a write.
    """

    _nanosecond: int = 0

    @property
    def nanosecond(self) -> int:
        """The fraction of the second in nanoseconds."""
        return self._nanosecond or self.microsecond * 1000

    @classmethod
    def of(cls, value: datetime, nanosecond: int | None = None) -> Timestamp:
        """``value`` in UTC (naive: already UTC), with ``nanosecond`` if given."""
        aware = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        nanos = aware.microsecond * 1000 if nanosecond is None else nanosecond
        if not 0 <= nanos < 10**9 or nanos // 1000 != aware.microsecond:
            raise ValueError(f"nanosecond {nanos} does not match microsecond {aware.microsecond}")
        made = cls(*aware.timetuple()[:6], aware.microsecond, tzinfo=UTC)
        made._nanosecond = nanos
        return made

    def rfc3339(self) -> str:
        """This time as RFC 3339 in UTC (:func:`format_timestamp`)."""
        return format_timestamp(self)


def format_timestamp(value: datetime) -> str:
    """``value`` (naive: UTC) as RFC 3339 in UTC, nanoseconds kept for a :class:`Timestamp`
    (or any datetime with a matching ``nanosecond``, as the library's):
    the fraction without trailing zeros, six zeros for none (as the client library writes
    versions, so a version reads the same whichever client read it)."""
    aware = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    nanos = getattr(value, "nanosecond", None)  # a Timestamp, or the library's own kind
    if not isinstance(nanos, int) or nanos // 1000 != aware.microsecond:
        nanos = aware.microsecond * 1000
    fraction = f"{nanos:09d}".rstrip("0") if nanos else "000000"
    return f"{aware.strftime('%Y-%m-%dT%H:%M:%S')}.{fraction}Z"


def parse_timestamp(text: str) -> Timestamp:
    """An RFC 3339 time (any offset, up to nine fractional digits) as a UTC :class:`Timestamp`."""
    found = _RFC3339.fullmatch(text) if isinstance(text, str) else None
    if found is None:
        raise ValueDecodeError(f"not an RFC 3339 timestamp: {str(text)[:40]!r}")
    year, month, day, hour, minute, second = (int(found.group(i)) for i in range(1, 7))
    nanos = int((found.group(7) or "").ljust(9, "0"))
    offset = timedelta(0)
    if found.group(9):
        sign = 1 if found.group(9) == "+" else -1
        offset = sign * timedelta(hours=int(found.group(10)), minutes=int(found.group(11)))
    try:
        zone = timezone(offset)
        utc = datetime(year, month, day, hour, minute, second, nanos // 1000, zone).astimezone(UTC)
    except (ValueError, OverflowError) as err:
        raise ValueDecodeError(f"not a valid time: {text[:40]!r}") from err
    return Timestamp.of(utc, nanos)


def encode_value(value: Any) -> dict[str, Any]:
    """``value`` as a Firestore JSON value."""
    kind = type(value)  # the common exact types first: a record holds thousands of them
    if kind is str:
        return {"stringValue": value}
    if kind is bool:
        return {"booleanValue": value}
    if value is None:
        return {"nullValue": None}
    return _encoded(value)


def _encoded(value: Any) -> dict[str, Any]:
    encoded: Any
    if value is None:
        kind, encoded = "nullValue", None
    elif isinstance(value, bool):  # before int: a bool is an int
        kind, encoded = "booleanValue", value
    elif isinstance(value, int):
        if not _INT64_MIN <= value <= _INT64_MAX:
            raise TypeError(f"integer out of Firestore's 64-bit range: {value}")
        kind, encoded = "integerValue", str(value)
    elif isinstance(value, float):
        kind, encoded = "doubleValue", _double_json(value)
    elif isinstance(value, str):
        kind, encoded = "stringValue", value
    elif isinstance(value, bytes):
        kind, encoded = "bytesValue", base64.b64encode(value).decode("ascii")
    elif isinstance(value, datetime):
        kind, encoded = "timestampValue", format_timestamp(value)
    elif isinstance(value, Mapping):
        kind, encoded = "mapValue", {"fields": encode_fields(value)}
    elif isinstance(value, (list, tuple)):
        kind, encoded = "arrayValue", {"values": [encode_value(item) for item in value]}
    else:
        raise TypeError(f"cannot store a {type(value).__name__} in a Firestore document")
    return {kind: encoded}


def _double_json(value: float) -> float | str:
    """A double in JSON: NaN and the infinities as the strings proto3's JSON mapping uses."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def encode_fields(values: Mapping[str, Any]) -> dict[str, Any]:
    """A document body (a mapping with string keys) as Firestore JSON ``fields``."""
    fields: dict[str, Any] = {}
    for key, value in values.items():
        if not isinstance(key, str):
            raise TypeError(f"document keys are strings, not {type(key).__name__}")
        fields[key] = encode_value(value)
    return fields


def decode_fields(fields: Any, where: str = "document") -> dict[str, Any]:
    """Firestore JSON ``fields`` (absent: None, an empty document) as a Python mapping."""
    if fields is None:
        return {}
    if not isinstance(fields, dict):
        raise ValueDecodeError(f"{where}: fields are not an object")
    return {key: decode_value(value, f"{where}.{key}") for key, value in fields.items()}


def decode_value(value: Any, where: str = "value") -> Any:
    """One Firestore JSON value as Python (see the module's docstring)."""
    if not isinstance(value, dict) or len(value) != 1:
        raise ValueDecodeError(f"{where}: not a Firestore value (one key naming its type)")
    ((kind, inner),) = value.items()
    decoder = _DECODERS.get(kind)
    if decoder is None:
        raise ValueDecodeError(f"{where}: unsupported value type {kind[:40]!r}")
    try:
        return decoder(inner, where)
    except ValueDecodeError:
        raise
    except (TypeError, ValueError, binascii.Error, AttributeError) as err:
        raise ValueDecodeError(f"{where}: malformed {kind}: {err}") from err


def _null(inner: Any, where: str) -> None:
    if inner not in (None, "NULL_VALUE"):
        raise ValueDecodeError(f"{where}: malformed nullValue")


def _boolean(inner: Any, where: str) -> bool:
    if not isinstance(inner, bool):
        raise ValueDecodeError(f"{where}: malformed booleanValue")
    return inner


def _integer(inner: Any, where: str) -> int:
    if isinstance(inner, bool) or not isinstance(inner, (str, int)):
        raise ValueDecodeError(f"{where}: malformed integerValue")
    if isinstance(inner, str) and not re.fullmatch(r"-?\d{1,19}", inner):
        raise ValueDecodeError(f"{where}: malformed integerValue")
    number = int(inner)
    if not _INT64_MIN <= number <= _INT64_MAX:
        raise ValueDecodeError(f"{where}: integerValue out of the 64-bit range")
    return number


def _double(inner: Any, where: str) -> float:
    if isinstance(inner, str) and inner in _SPECIAL_FLOATS:
        return _SPECIAL_FLOATS[inner]
    if isinstance(inner, bool) or not isinstance(inner, (int, float)):
        raise ValueDecodeError(f"{where}: malformed doubleValue")
    return float(inner)


def _string(inner: Any, where: str) -> str:
    if not isinstance(inner, str):
        raise ValueDecodeError(f"{where}: malformed stringValue")
    return inner


def _bytes(inner: Any, where: str) -> bytes:
    if not isinstance(inner, str):
        raise ValueDecodeError(f"{where}: malformed bytesValue")
    return base64.b64decode(inner.encode("ascii"), validate=True)


def _timestamp(inner: Any, where: str) -> Timestamp:
    try:
        return parse_timestamp(inner)
    except ValueDecodeError as err:
        raise ValueDecodeError(f"{where}: {err}") from None


def _map(inner: Any, where: str) -> dict[str, Any]:
    if not isinstance(inner, dict) or set(inner) - {"fields"}:
        raise ValueDecodeError(f"{where}: malformed mapValue")
    return decode_fields(inner.get("fields"), where)


def _array(inner: Any, where: str) -> list[Any]:
    if not isinstance(inner, dict) or set(inner) - {"values"}:
        raise ValueDecodeError(f"{where}: malformed arrayValue")
    items = inner.get("values") or []
    if not isinstance(items, list):
        raise ValueDecodeError(f"{where}: malformed arrayValue")
    return [decode_value(item, f"{where}[{i}]") for i, item in enumerate(items)]


_DECODERS = {
    "nullValue": _null,
    "booleanValue": _boolean,
    "integerValue": _integer,
    "doubleValue": _double,
    "stringValue": _string,
    "bytesValue": _bytes,
    "timestampValue": _timestamp,
    "mapValue": _map,
    "arrayValue": _array,
}
