"""Conference ids from ``conferenceData``: only ``[A-Za-z0-9_-]{1,128}`` is ever one of ours.

Any other id is dropped where events are decoded, with one WARNING naming the event, so no
matcher takes the event for one carrying our conference and the id never reaches a URL path.
"""

from __future__ import annotations

import logging
import string
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from confsync.conference import CONFERENCE_ID_PATTERN, is_conference_id
from confsync.errors import MalformedInputError
from confsync.events import decode_event
from confsync.planner import (
    ConferenceMatcher,
    DeleteConference,
    PlanContext,
    UpdateConference,
    after_applied,
    fold_events,
    lookup_for,
    plan_page,
)
from confsync.records import ConferenceRecord, conference_key
from tests.support.calendar_events import SOLUTION, conference_data
from tests.support.calendar_events import event as calendar_event

CALENDAR = "alice@example.com"
MATCHER = ConferenceMatcher(solution_names=frozenset({SOLUTION}))
CTX = PlanContext(
    calendar_key="ck_ids",
    calendar_id=CALENDAR,
    matcher=MATCHER,
    relevant_fields=frozenset({"title", "start", "end"}),
)
ALLOWED = frozenset(string.ascii_letters + string.digits + "_-")
LOGGER = "confsync.events"


def oracle(value: str) -> bool:
    """The rule, spelled independently of the regular expression under test."""
    return 1 <= len(value) <= 128 and all(character in ALLOWED for character in value)


def raw_event(conference_id: Any, event_id: str = "e1", **conference: Any) -> dict[str, Any]:
    return calendar_event(
        event_id,
        organizer=CALENDAR,
        organizer_self=True,
        conference=conference_data(conference_id, join_url="https://meet.example/x", **conference),
    )


def ours(raw: dict[str, Any]) -> str | None:
    """The conference id the matcher finds on the decoded event (None: none of ours)."""
    return MATCHER.conference_id(decode_event(raw).conference)


def warnings(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == LOGGER and r.levelno >= logging.WARNING]


# --- examples ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "conference_id",
    ["a", "conf_0123456789abcdef", "abc-defg-hij", "A_b-9", "x" * 128, "-", "_"],
)
def test_an_id_of_the_accepted_form_is_ours_without_a_warning(
    conference_id: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger=LOGGER)

    assert ours(raw_event(conference_id)) == conference_id
    assert warnings(caplog) == []


@pytest.mark.parametrize(
    "conference_id",
    [
        pytest.param("", id="empty"),
        pytest.param("a/b", id="slash"),
        pytest.param("../../v1/conferences", id="path-traversal"),
        pytest.param("a%2Fb", id="percent"),
        pytest.param("x?revision=1", id="query"),
        pytest.param("a#b", id="fragment"),
        pytest.param("a b", id="space"),
        pytest.param("abc\n", id="trailing-newline"),
        pytest.param("caf\u00e9", id="non-ascii-letter"),
        pytest.param("\u0661\u0662", id="non-ascii-digits"),
        pytest.param("x" * 129, id="too-long"),
        pytest.param("a.b", id="dot"),
    ],
)
def test_any_other_id_is_ignored_with_one_warning_naming_the_event(
    conference_id: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger=LOGGER)

    event = decode_event(raw_event(conference_id, event_id="evt-42"))

    assert event.conference is not None  # the rest of conferenceData is still decoded
    assert event.conference.conference_id is None
    assert event.conference.video_uri == "https://meet.example/x"
    assert MATCHER.conference_id(event.conference) is None
    [warning] = warnings(caplog)
    assert "'evt-42'" in warning.getMessage()
    assert "conferenceId" in warning.getMessage()


def test_a_huge_id_is_cut_in_the_warning(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    huge = "/" * 100_000
    long_event_id = "e" * 5_000

    assert ours(raw_event(huge, event_id=long_event_id)) is None

    [warning] = warnings(caplog)
    message = warning.getMessage()
    assert len(message) < 500
    assert "(100000 characters)" in message
    assert "(5000 characters)" in message


def test_control_characters_in_ids_are_escaped_in_the_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger=LOGGER)

    assert ours(raw_event("x\nFORGED LINE", event_id="e\r1")) is None

    [warning] = warnings(caplog)
    assert "\n" not in warning.getMessage()
    assert "\r" not in warning.getMessage()


def test_no_conference_id_at_all_is_no_warning(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    raw = raw_event("unused")
    del raw["conferenceData"]["conferenceId"]  # e.g. a createRequest still pending

    assert ours(raw) is None
    assert warnings(caplog) == []


def test_a_conference_id_of_another_type_is_still_a_malformed_event() -> None:
    with pytest.raises(MalformedInputError, match="conferenceId"):
        decode_event(raw_event(12345))


def test_a_foreign_conference_keeps_a_valid_id_for_the_matcher_to_refuse() -> None:
    raw = raw_event("meet-abc", solution="Google Meet", solution_type="hangoutsMeet")
    event = decode_event(raw)

    assert event.conference is not None
    assert event.conference.conference_id == "meet-abc"
    assert MATCHER.conference_id(event.conference) is None


def _owned(conference_id: str) -> ConferenceRecord:
    """The record a run creates for a conference met for the first time, its owner looked up
    (the calendar's user)."""
    return ConferenceRecord(
        key=conference_key(conference_id),
        conference_id=conference_id,
        home_key=CTX.calendar_key,
        owner=CALENDAR,
        owner_known=True,
    )


def test_the_planner_sees_no_conference_on_an_event_with_a_bad_id() -> None:
    events = [decode_event(raw_event("a/../b"))]

    lookup = lookup_for(events, CTX)
    plan = plan_page(fold_events(events, {}, {}, CTX), CTX)

    assert lookup.record_keys == frozenset()  # no record is even read for it
    assert plan.changed == {}
    assert plan.folded.attachments == {}
    assert plan.operations == ()


def test_an_event_whose_id_turns_bad_leaves_its_conference() -> None:
    """As if its conference had been removed: with no other event, the conference is deleted."""
    key = conference_key("conf-1")
    first = plan_page(
        fold_events([decode_event(raw_event("conf-1"))], {key: _owned("conf-1")}, {}, CTX), CTX
    )
    [created] = first.operations
    assert isinstance(created, UpdateConference)
    assert first.folded.attachments == {"e1": key}
    stored = {k: after_applied(record, created) for k, record in first.changed.items()}

    bad = [decode_event(raw_event("conf/1"))]
    assert lookup_for(bad, CTX).record_keys == frozenset()
    second = plan_page(fold_events(bad, stored, {"e1": key}, CTX), CTX)

    [deleted] = second.operations
    assert isinstance(deleted, DeleteConference)
    assert deleted.conference_id == "conf-1"
    assert second.folded.attachments == {"e1": None}
    refs = second.changed[key].refs_of(CTX.calendar_key)
    assert refs is not None
    assert dict(refs.events) == {}


def test_the_pattern_is_the_documented_one() -> None:
    assert CONFERENCE_ID_PATTERN.pattern == "[A-Za-z0-9_-]{1,128}"
    assert not is_conference_id(None)
    assert not is_conference_id(b"abc")


# --- properties -------------------------------------------------------------------------------

_ALPHABET = st.sampled_from(sorted(ALLOWED))
_MATCHING = st.text(_ALPHABET, min_size=1, max_size=128)
_NEAR_MISSES = st.one_of(
    st.text(_ALPHABET, min_size=129, max_size=300),  # too long
    st.builds(  # one stranger inside an otherwise fine id
        lambda head, odd, tail: head + odd + tail,
        st.text(_ALPHABET, max_size=60),
        st.characters().filter(lambda c: c not in ALLOWED),
        st.text(_ALPHABET, max_size=60),
    ),
)
_ANY = st.one_of(st.text(max_size=200), _MATCHING, _NEAR_MISSES)
_PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_PROPERTY
@given(conference_id=_ANY)
def test_an_arbitrary_string_is_ours_exactly_when_it_has_the_accepted_form(
    conference_id: str,
) -> None:
    found = ours(raw_event(conference_id))

    if oracle(conference_id):
        assert found == conference_id
    else:
        assert found is None


@_PROPERTY
@given(conference_id=_MATCHING)
def test_every_id_of_the_accepted_form_is_ours(conference_id: str) -> None:
    assert ours(raw_event(conference_id)) == conference_id


@_PROPERTY
@given(conference_id=_NEAR_MISSES)
def test_no_near_miss_is_ever_ours(conference_id: str) -> None:
    assert not oracle(conference_id)
    assert ours(raw_event(conference_id)) is None


@_PROPERTY
@given(conference_id=_ANY)
def test_the_helper_agrees_with_the_rule(conference_id: str) -> None:
    assert is_conference_id(conference_id) == oracle(conference_id)
