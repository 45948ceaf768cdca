"""Every decoder of outside input decodes or raises the error its caller sorts on; nothing else
escapes (no KeyError, TypeError, AttributeError, OverflowError, UnicodeDecodeError, RecursionError).

An escaping exception is not harmless: the functions treat an unexpected error as transient, so
Pub/Sub redelivers a message that can never decode until it is dead-lettered, and Google re-sends
a notification. The outcomes allowed, per decoder:

- Pub/Sub envelopes, SyncRequests and channel commands (``confsync.messages``), Calendar events
  (``confsync.events.decode_event``): the value, or :class:`~confsync.errors.MalformedInputError`;
- conferencing answers (``confsync.adapters.conferencing``): the value, or the provider errors its
  contract names (:class:`~confsync.errors.ProviderRejectedError` for a contract violation,
  :class:`~confsync.errors.ProviderGoneError` for a deleted conference); ``Retry-After`` and error
  details never fail;
- notification headers (``confsync.intake``): always an answer, never an exception.

Timestamps and stored records have their own property tests (test_timestamps.py,
test_events_and_records.py).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from confsync.adapters.conferencing import (
    _Answer,
    _error_detail,
    _held,
    _owner,
    _provider_answer,
    _Request,
    _retry_after,
)
from confsync.channel_tokens import ChannelTokenKeys, mint_channel_token
from confsync.errors import MalformedInputError, ProviderGoneError, ProviderRejectedError
from confsync.events import decode_event
from confsync.intake import IntakeService
from confsync.messages import (
    decode_channel_command,
    decode_sync_request,
    encode_channel_command,
    encode_sync_request,
    pubsub_message,
)
from confsync.testing.fakes import RecordingPublisher

EXAMPLES = settings(max_examples=200, deadline=None)

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
"""Any JSON value (floats include NaN and the infinities, which Python's json reads and writes)."""

ODD = (
    JSON
    | st.integers(min_value=10**18)
    | st.sampled_from(["", " ", "\ud800", "\x00", "ck_\u202e", "9" * 5000, "2026-11-24T09:00:00"])
)
"""Values chosen to break a field: huge integers, lone surrogates, control characters, long text."""

NESTED = st.integers(min_value=500, max_value=20_000).map(lambda n: b"[" * n + b"]" * n)
"""JSON nested deeper than Python's recursion limit, within the 64 kB payload cap."""


def _dumps(value: Any) -> bytes:
    return json.dumps(value).encode()


def _mutated(base: dict[str, Any]) -> st.SearchStrategy[bytes]:
    """``base`` with some fields replaced by odd values, some removed and some added."""
    return st.builds(
        lambda replaced, removed, added: _dumps(
            {**{k: v for k, v in base.items() if k not in removed}, **replaced, **added}
        ),
        st.dictionaries(st.sampled_from(sorted(base)), ODD, max_size=3),
        st.sets(st.sampled_from(sorted(base)), max_size=2),
        st.dictionaries(st.text(max_size=8), JSON, max_size=2),
    )


def _payloads(*bases: dict[str, Any]) -> st.SearchStrategy[bytes]:
    return (
        st.one_of(*(_mutated(base) for base in bases))
        | JSON.map(_dumps)
        | st.binary(max_size=200)
        | NESTED
        | st.integers(min_value=4300, max_value=6000).map(lambda n: b'{"v": ' + b"1" * n + b"}")
    )


def _decodes_or_malformed(decode: Callable[[bytes], Any], payload: bytes) -> Any:
    try:
        return decode(payload)
    except MalformedInputError:
        return None


def _utf8(*texts: str | None) -> None:
    """What decodes can be written to Firestore and Pub/Sub, which take UTF-8 only."""
    for text in texts:
        if text is not None:
            text.encode("utf-8")


SYNC_REQUEST = {
    "v": 1,
    "calendarKey": "ck_1",
    "reason": "notification",
    "notifiedAt": "2026-11-24T09:00:00.000Z",
    "channelId": "chan-1",
    "messageNumber": 42,
}


@EXAMPLES
@given(_payloads(SYNC_REQUEST))
@example(b"[" * 5000)
@example(b'{"v": 1, "messageNumber": ' + b"1" * 5000 + b"}")
@example(_dumps({**SYNC_REQUEST, "calendarKey": "ck_\ud800"}))
@example(_dumps({**SYNC_REQUEST, "messageNumber": 2**64}))
def test_any_sync_request_payload_decodes_or_is_malformed(payload: bytes) -> None:
    request = _decodes_or_malformed(decode_sync_request, payload)
    if request is not None:
        _utf8(request.calendar_key, request.channel_id)
        assert request.message_number is None or 0 <= request.message_number < 2**63
        assert decode_sync_request(encode_sync_request(request)) == request


CHANNEL_COMMANDS = (
    {"v": 1, "command": "enroll", "subject": "a@example.com", "calendarId": "primary"},
    {"v": 1, "command": "unenroll", "calendarKey": "ck_1", "forget": True, "block": True},
    {"v": 1, "command": "tick", "issuedAt": "2026-11-24T09:00:00Z"},
    {"v": 1, "command": "renew", "calendarKeys": ["ck_1", "ck_2"]},
    {"v": 1, "command": "sweep", "calendarKeys": ["ck_1"]},
)


@EXAMPLES
@given(_payloads(*CHANNEL_COMMANDS))
@example(b"{" * 3 + b"[" * 5000)
@example(_dumps({**CHANNEL_COMMANDS[3], "calendarKeys": ["ck_\udfff"]}))
@example(_dumps({**CHANNEL_COMMANDS[0], "subject": "\ud800@example.com"}))
def test_any_channel_command_payload_decodes_or_is_malformed(payload: bytes) -> None:
    command = _decodes_or_malformed(decode_channel_command, payload)
    if command is not None:
        _utf8(*(value for value in vars_of(command) if isinstance(value, str)))
        assert decode_channel_command(encode_channel_command(command)) == command


def vars_of(command: Any) -> list[Any]:
    """The field values of a command (slots dataclasses have no ``__dict__``)."""
    values = [getattr(command, name) for name in command.__slots__]
    return [v for value in values for v in (value if isinstance(value, tuple) else (value,))]


ENVELOPE = {"message": {"data": "eyJ2IjoxfQ==", "attributes": {"a": "b"}, "messageId": "1"}}


@EXAMPLES
@given(
    JSON
    | st.builds(lambda m: {"message": m}, JSON)
    | st.builds(
        lambda data, attributes, extra: {
            "message": {"data": data, "attributes": attributes, **extra}
        },
        ODD | st.binary(max_size=40).map(lambda b: b.decode("latin-1")),
        ODD,
        st.dictionaries(st.sampled_from(["messageId", "publishTime"]), ODD, max_size=2),
    )
)
@example(ENVELOPE)
@example({"message": {"data": "é"}})
def test_any_pubsub_envelope_decodes_or_is_malformed(data: Any) -> None:
    try:
        message = pubsub_message(data)
    except MalformedInputError:
        return
    assert isinstance(message.data, bytes)
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in message.attributes.items())


CONFERENCE_DATA: dict[str, Any] = {
    "conferenceId": "conf_1",
    "conferenceSolution": {"key": {"type": "addOn"}, "name": "My Web Conference"},
    "entryPoints": [{"entryPointType": "video", "uri": "https://conference.example/j/1"}],
    "parameters": {"addOnParameters": {"parameters": {"k": "v"}}},
}
EVENT: dict[str, Any] = {
    "id": "e1",
    "status": "confirmed",
    "updated": "2026-11-24T09:00:00Z",
    "start": {"dateTime": "2026-11-24T10:00:00+01:00", "timeZone": "Europe/Berlin"},
    "end": {"date": "2026-11-25"},
    "recurrence": ["RRULE:FREQ=DAILY"],
    "attendees": [{"email": "B@example.com"}, {"email": "room@example.com", "resource": True}],
    "organizer": {"email": "a@example.com", "self": True},
    "conferenceData": CONFERENCE_DATA,
    "iCalUID": "uid-1",
}


def _event_variants() -> st.SearchStrategy[Any]:
    top = st.builds(
        lambda replaced: {**EVENT, **replaced},
        st.dictionaries(st.sampled_from(sorted(EVENT)), ODD, max_size=3),
    )
    conference = st.builds(
        lambda replaced: {**EVENT, "conferenceData": {**CONFERENCE_DATA, **replaced}},
        st.dictionaries(st.sampled_from(sorted(CONFERENCE_DATA)), ODD, max_size=3),
    )
    return top | conference | JSON | st.dictionaries(st.text(max_size=8), ODD, max_size=4)


@EXAMPLES
@given(_event_variants())
@example(EVENT)
def test_any_calendar_event_decodes_or_is_malformed(raw: Any) -> None:
    try:
        event = decode_event(raw)
    except MalformedInputError:
        return
    assert event.id


_REQUEST = _Request("PUT", "https://p.example/c/conf_1", "/c/conf_1", "conf_1", 1, b"{}", "k")
_GET = _Request("GET", "https://p.example/c/conf_1", "/c/conf_1", "conf_1", None, b"", "")
HOSTS = frozenset({"conference.example"})
ANSWER = {
    "joinUrl": "https://conference.example/j/1",
    "revision": 1,
    "owner": "a@example.com",
    "status": "active",
    "calendarId": "a@example.com",
    "eventId": "e1",
}


def _answers() -> st.SearchStrategy[bytes]:
    return _payloads(ANSWER, {"status": "deleted"}, {"error": {"code": "x", "message": "m"}})


@EXAMPLES
@given(_answers(), st.sampled_from([200, 201, 204]), st.booleans())
@example(b"[" * 5000, 200, False)
@example(b'{"revision": ' + b"9" * 5000 + b"}", 200, False)
def test_any_provider_answer_decodes_or_breaks_the_contract(
    body: bytes, status: int, oversize: bool
) -> None:
    answer = _Answer(status, body, None, oversize)
    try:
        got = _provider_answer(_REQUEST, answer, HOSTS)
    except ProviderRejectedError:
        pass
    else:
        assert isinstance(got.revision, int)
    with contextlib.suppress(ProviderRejectedError, ProviderGoneError):
        _owner(_GET, answer)
    try:
        held = _held(_GET, answer)
    except ProviderRejectedError:
        return
    assert held.revision >= 0
    assert held.calendar_id is None or (isinstance(held.calendar_id, str) and held.calendar_id)
    assert held.event_id is None or (isinstance(held.event_id, str) and held.event_id)


@EXAMPLES
@given(_answers())
@example(b"[" * 5000)
def test_any_error_body_gives_a_short_detail(body: bytes) -> None:
    assert len(_error_detail(body)) < 1000


@EXAMPLES
@given(
    st.none()
    | st.text(max_size=40)
    | st.integers(min_value=0).map(str)
    | st.sampled_from(
        ["9" * 5000, "9" * 400, "Fri, 31 Dec 9999 23:59:59 GMT", "Mon, 1 Jan 1 0:0:0 +9999"]
    )
)
def test_any_retry_after_header_is_a_finite_delay_or_none(value: str | None) -> None:
    delay = _retry_after(value, lambda: 1_700_000_000.0)
    assert delay is None or 0 <= delay < float("inf")


KEYS = ChannelTokenKeys.parse("k1:first-secret-0123456789", "k1")
CHANNEL = "chan-1"
HEADERS = {
    "X-Goog-Channel-ID": CHANNEL,
    "X-Goog-Channel-Token": mint_channel_token(
        KEYS, CHANNEL, "ck_1", expires=datetime(2026, 12, 24, tzinfo=UTC)
    ),
    "X-Goog-Message-Number": "42",
    "X-Goog-Resource-ID": "res-1",
    "X-Goog-Resource-State": "exists",
}
HEADER_TEXT = st.text(st.characters(max_codepoint=255), max_size=80) | st.sampled_from(
    ["9" * 20, "0", "-1", "\xb2", " 42 ", "x" * 65, "k1.abc.def", "..", "\x00", "\xff" * 3]
)
"""Header values as a WSGI server hands them over: any text of code points 0 to 255 (HTTP header
bytes decoded as Latin-1; nothing else can arrive)."""


@EXAMPLES
@given(
    method=st.sampled_from(["POST", "post", "GET"]) | st.text(max_size=10),
    replaced=st.dictionaries(st.sampled_from(sorted(HEADERS)), HEADER_TEXT, max_size=3),
    added=st.dictionaries(st.text(max_size=20), HEADER_TEXT, max_size=2),
    body_length=st.integers(min_value=-(2**63), max_value=2**63),
)
def test_any_notification_gets_an_answer_and_only_genuine_ones_publish(
    method: str, replaced: dict[str, str], added: dict[str, str], body_length: int
) -> None:
    publisher = RecordingPublisher()
    service = IntakeService(publisher, KEYS, 4096, now=lambda: datetime(2026, 11, 24, tzinfo=UTC))

    answer = service.handle(method, {**HEADERS, **replaced, **added}, body_length)

    assert answer.status in {200, 400, 403, 405, 413, 503}
    assert (answer.status == 200) >= bool(publisher.published)
    for request in publisher.published:
        _utf8(request.calendar_key, request.channel_id)
