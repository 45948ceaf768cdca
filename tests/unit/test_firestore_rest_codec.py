"""The REST Firestore client's encodings are the client library's, value for value.

:mod:`confsync.adapters.firestore_values` (document values), :mod:`.firestore_fields` (field
paths and the ``Write`` messages of set, merge, update and delete) and :mod:`.firestore_query`
(``structuredQuery``) write JSON; each test parses that JSON into the protobuf message the
library builds for the same call and wants them equal, so the stored data and the requests do
not change with the client. Decoding is property-tested: whatever JSON arrives, the answer is a
value or a ValueDecodeError, never another exception. No emulator: nothing is sent.
"""

from __future__ import annotations

import contextlib
import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from google.api_core.datetime_helpers import DatetimeWithNanoseconds
from google.auth.credentials import AnonymousCredentials
from google.cloud import firestore
from google.cloud.firestore_v1 import _helpers
from google.cloud.firestore_v1.base_document import DocumentSnapshot as LibrarySnapshot
from google.cloud.firestore_v1.field_path import FieldPath
from google.cloud.firestore_v1.types import document as document_types
from google.cloud.firestore_v1.types import query as query_types
from google.cloud.firestore_v1.types import write as write_types
from google.protobuf import json_format  # type: ignore[import-untyped]
from hypothesis import given
from hypothesis import strategies as st

from confsync.adapters import firestore_fields as fields
from confsync.adapters.firestore_channels import CHANNEL_QUERY_SHAPES
from confsync.adapters.firestore_errors import (
    AbortedError,
    FailedPreconditionError,
    FirestoreError,
    NotFoundError,
    UnavailableError,
    error_of,
)
from confsync.adapters.firestore_http import Client, DocumentSnapshot
from confsync.adapters.firestore_store import _FILTER_OPS, _ORDER_OPS, QUERY_SHAPES, QueryShape
from confsync.adapters.firestore_values import (
    Timestamp,
    ValueDecodeError,
    decode_value,
    encode_value,
    format_timestamp,
    parse_timestamp,
)

NAME = "projects/p/databases/(default)/documents/calendars/ck_1"

_times = st.datetimes(
    min_value=datetime(1970, 1, 1), max_value=datetime(9999, 12, 31), timezones=st.just(UTC)
)
_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False)
    | st.text()
    | st.binary()
    | _times
)
_keys = st.text(min_size=1)  # Firestore has no empty field names
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_keys, inner, max_size=4),
    max_leaves=20,
)
_documents = st.dictionaries(_keys, _values, max_size=5)
_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=10,
)
_segments = st.text(min_size=1, max_size=12)


def _value_pb(json_value: dict[str, Any]) -> Any:
    return json_format.ParseDict(json_value, document_types.Value.pb()())


def _write_pb(json_write: dict[str, Any]) -> Any:
    return json_format.ParseDict(json_write, write_types.Write.pb()())


def _library_writes(writes: list[Any]) -> list[Any]:
    return [write_types.Write.pb(write) for write in writes]


@given(_values)
def test_every_value_reads_back_as_it_was_written(value: Any) -> None:
    assert decode_value(encode_value(value)) == value


@given(_values)
def test_values_are_encoded_as_the_library_encodes_them(value: Any) -> None:
    library = document_types.Value.pb(_helpers.encode_value(value))
    assert _value_pb(encode_value(value)) == library
    assert decode_value(json_format.MessageToDict(library)) == value


def test_special_doubles_and_empty_containers_keep_their_meaning() -> None:
    assert math.isnan(decode_value(encode_value(math.nan)))
    assert decode_value(encode_value(-math.inf)) == -math.inf
    assert decode_value({"mapValue": {}}) == {}
    assert decode_value({"arrayValue": {}}) == []
    assert decode_value({"nullValue": "NULL_VALUE"}) is None
    assert decode_value(encode_value((1, "a"))) == [1, "a"]


@given(_times, st.integers(min_value=0, max_value=999))
def test_timestamps_keep_their_nanoseconds(moment: datetime, extra: int) -> None:
    nanos = moment.microsecond * 1000 + extra
    stamp = Timestamp.of(moment, nanos)
    read = decode_value(encode_value(stamp))
    assert (read, read.nanosecond) == (moment, nanos)
    library = DatetimeWithNanoseconds.from_rfc3339(stamp.rfc3339())
    assert (library.nanosecond, library.rfc3339()) == (nanos, stamp.rfc3339())


def test_timestamps_with_offsets_and_naive_datetimes_are_utc() -> None:
    read = parse_timestamp("2026-12-04T17:30:00.5+02:00")
    assert read == datetime(2026, 12, 4, 15, 30, 0, 500000, tzinfo=UTC)
    assert format_timestamp(datetime(2026, 12, 4, 15, 30)) == "2026-12-04T15:30:00.000000Z"


@given(_json)
def test_any_json_decodes_or_is_refused_clearly(raw: Any) -> None:
    with contextlib.suppress(ValueDecodeError):
        decode_value(raw)


@pytest.mark.parametrize(
    "raw",
    [
        {"integerValue": "12a"},
        {"integerValue": str(2**63)},
        {"timestampValue": "2026-13-01T00:00:00Z"},
        {"bytesValue": "not base64!"},
        {"referenceValue": "projects/p/databases/(default)/documents/a/b"},
        {"stringValue": "a", "integerValue": "1"},
        {"mapValue": {"fields": {"a": 1}}},
    ],
)
def test_malformed_values_name_what_is_wrong(raw: Any) -> None:
    with pytest.raises(ValueDecodeError, match="value"):
        decode_value(raw)


def test_values_confsync_cannot_store_are_type_errors() -> None:
    with pytest.raises(TypeError):
        encode_value(object())
    with pytest.raises(TypeError):
        encode_value(2**64)


@given(st.lists(_segments, min_size=1, max_size=3))
def test_field_paths_are_quoted_as_the_library_quotes_them(segments: list[str]) -> None:
    path = fields.field_path(*segments)
    assert path == FieldPath(*segments).to_api_repr()
    assert fields.split_path(path) == tuple(segments)


@pytest.mark.parametrize("bad", ["", ".", "a.", "`", "``", "a b", "a.`b"])
def test_a_malformed_field_path_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="field path"):
        fields.split_path(bad)


@given(_documents)
def test_a_set_is_the_library_s_write(document: dict[str, Any]) -> None:
    library = _library_writes(_helpers.pbs_for_set_no_merge(NAME, document))
    assert [_write_pb(fields.set_write(NAME, document))] == library


def test_a_merge_with_a_transform_is_the_library_s_write() -> None:
    expire = datetime(2026, 12, 5, tzinfo=UTC)
    ours = {"asked": fields.Increment(3), "expire_at": expire, "m": {"a": 1, "b": {}}}
    theirs = {"asked": firestore.Increment(3), "expire_at": expire, "m": {"a": 1, "b": {}}}
    library = _library_writes(_helpers.pbs_for_set_with_merge(NAME, theirs, merge=True))
    assert [_write_pb(fields.set_write(NAME, ours, merge=True))] == library


def test_updates_are_the_library_s_writes() -> None:
    version = "2026-12-04T15:00:00.123456Z"  # the library keeps microseconds in preconditions
    when = DatetimeWithNanoseconds.from_rfc3339(version)
    channel = FieldPath("channels", "ch-1").to_api_repr()
    cases: list[tuple[dict[str, Any], dict[str, Any], Any, Any]] = [
        (
            {"notify_seq": fields.Increment(1), "notified_max_ms": fields.Maximum(7), "x": None},
            {
                "notify_seq": firestore.Increment(1),
                "notified_max_ms": firestore.Maximum(7),
                "x": None,
            },
            None,
            None,
        ),
        (
            {channel: {"expires": 1}, "channels.`old`": fields.DELETE_FIELD, "a.b": 2},
            {channel: {"expires": 1}, "channels.`old`": firestore.DELETE_FIELD, "a.b": 2},
            None,
            None,
        ),
        (
            {"lease_owner": "run-1", "channels": {}},
            {"lease_owner": "run-1", "channels": {}},
            fields.Precondition(last_update_time=version),
            _helpers.LastUpdateOption(when),
        ),
    ]
    for ours, theirs, condition, option in cases:
        library = _library_writes(_helpers.pbs_for_update(NAME, theirs, option))
        assert [_write_pb(fields.update_write(NAME, ours, condition))] == library


def test_a_precondition_keeps_the_version_s_nanoseconds() -> None:
    version = "2026-12-04T15:00:00.123456789Z"
    for written in (version, parse_timestamp(version)):
        condition = fields.Precondition(last_update_time=written)
        assert fields.update_write(NAME, {"a": 1}, condition)["currentDocument"] == {
            "updateTime": version
        }


def test_a_conditional_delete_is_the_library_s_write() -> None:
    library = write_types.Write.pb(_helpers.pb_for_delete(NAME, _helpers.ExistsOption(True)))
    assert _write_pb(fields.delete_write(NAME, fields.Precondition(exists=True))) == library
    assert fields.delete_write(NAME) == {"delete": NAME}


def test_a_transform_inside_a_value_is_refused() -> None:
    with pytest.raises(TypeError, match="Increment"):
        fields.update_write(NAME, {"a": {"b": fields.Increment(1)}})
    with pytest.raises(TypeError, match="DeleteField"):
        fields.set_write(NAME, {"a": fields.DELETE_FIELD})


# --- queries -------------------------------------------------------------------------------

_T = datetime(2026, 12, 4, 12, tzinfo=UTC)


def _sample(op: str) -> Any:
    return ["a", "b"] if op in ("in", "array-contains-any") else None if op == "==" else _T


def _library_query(shape: QueryShape, library: firestore.Client, values: list[Any]) -> Any:
    """The same shape built on the client library, as the stores built it before."""
    query: Any = library.collection(shape.collection)
    supplied = iter(values)
    for path, op in shape.fields:
        if op in _ORDER_OPS:
            direction = "ASCENDING" if op == "order-asc" else "DESCENDING"
            query = query.order_by(path, direction=direction)
        else:
            clause = firestore.FieldFilter(path, _FILTER_OPS[op], next(supplied))
            query = query.where(filter=clause)
    return query


def _body(shape: QueryShape) -> dict[str, Any]:
    body: dict[str, Any] = {}
    for path, _ in shape.fields:
        fields._nest(body, fields.split_path(path), _T)
    return body


@pytest.mark.parametrize("shape", QUERY_SHAPES + CHANNEL_QUERY_SHAPES, ids=lambda s: s.method)
def test_every_store_query_is_the_library_s_query(shape: QueryShape) -> None:
    library_client = firestore.Client(project="p", credentials=AnonymousCredentials())
    client = Client("p", http=None)
    values = [_sample(op) for _, op in shape.fields if op in _FILTER_OPS]
    library = _library_query(shape, library_client, values).limit(7)
    ours = shape.build(client.collection(shape.collection), *values).limit(7)
    body, stamp = _body(shape), DatetimeWithNanoseconds.from_rfc3339("2026-12-04T12:00:00Z")
    doc = library_client.collection(shape.collection).document("ck_9")
    library_after = library.start_after(LibrarySnapshot(doc, body, True, stamp, stamp, stamp))
    ours_after = ours.start_after(
        DocumentSnapshot(client.collection(shape.collection).document("ck_9"), True, body)
    )
    for theirs, mine in ((library, ours), (library_after, ours_after)):
        expected = query_types.StructuredQuery.pb(theirs._to_protobuf())
        parsed = json_format.ParseDict(mine.to_json(), query_types.StructuredQuery.pb()())
        assert parsed == expected


# --- errors --------------------------------------------------------------------------------


def _error(status: str, code: int) -> bytes:
    return f'{{"error": {{"code": {code}, "status": "{status}", "message": "m"}}}}'.encode()


@pytest.mark.parametrize(
    ("http_status", "body", "kind"),
    [
        (404, _error("NOT_FOUND", 404), NotFoundError),
        (400, _error("FAILED_PRECONDITION", 400), FailedPreconditionError),
        (409, _error("ABORTED", 409), AbortedError),
        (503, _error("UNAVAILABLE", 503), UnavailableError),
        (504, _error("DEADLINE_EXCEEDED", 504), UnavailableError),
        (429, b"slow down", UnavailableError),
        (502, b"<html>bad gateway</html>", UnavailableError),
        (403, _error("PERMISSION_DENIED", 403), FirestoreError),
    ],
)
def test_answers_become_the_error_the_store_acts_on(
    http_status: int, body: bytes, kind: type[FirestoreError]
) -> None:
    error = error_of(http_status, body, "commit")
    assert type(error) is kind
    assert str(error).startswith(f"commit: HTTP {http_status}")


def test_update_times_keep_the_library_s_text() -> None:
    text = "2026-12-04T15:00:00.1Z"
    assert parse_timestamp(text).rfc3339() == text
    assert parse_timestamp(text) - timedelta(microseconds=100000) == _T + timedelta(hours=3)
