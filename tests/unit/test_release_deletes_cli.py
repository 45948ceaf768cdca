"""``confsync release-deletes`` with fake services: release, discard, idempotence, errors."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from confsync.calendars import CalendarDoc
from confsync.cli.deletes import LEASE_WAIT_SECONDS
from confsync.cli.status import calendar_status
from confsync.messages import SyncRequest
from confsync.records import (
    CalendarRefs,
    ConferenceRecord,
    PendingOperation,
    SentState,
    conference_key,
)
from tests.unit.test_cli import KEY, T0, Fakes, _run

BY_KEY = ["--calendar-key", KEY]


def _held(conference_id: str, *, calendar_key: str = KEY) -> ConferenceRecord:
    """A held delete whose home is ``calendar_key``: its event left (departed), none is live."""
    refs = CalendarRefs(
        subject="alice@example.com", calendar_id="primary", departed={f"e-{conference_id}": None}
    )
    return ConferenceRecord(
        key=conference_key(conference_id),
        conference_id=conference_id,
        home_key=calendar_key,
        calendars={calendar_key: refs},
        owner="alice@example.com",
        owner_known=True,
        sent=SentState(revision=5, state=None),
        pending=PendingOperation(
            attempts=0, next_attempt_at=T0 - timedelta(hours=1), last_error="held"
        ),
        hold="held",
    )


def _fakes(held: int = 2, **calendar: object) -> Fakes:
    fakes = Fakes()
    fakes.calendars.put(
        CalendarDoc(
            key=KEY,
            subject="alice@example.com",
            calendar_id="primary",
            held_deletes=held,
            **calendar,  # type: ignore[arg-type]
        )
    )
    fakes.records.save([_held(f"c{i}") for i in range(held)])
    fakes.records.save([_held("c-other", calendar_key="ck_other")])
    return fakes


def _records(fakes: Fakes) -> dict[str, ConferenceRecord]:
    return {r.conference_id: r for r in fakes.records.all().values() if r.home_key == KEY}


def _doc(fakes: Fakes) -> CalendarDoc:
    doc = fakes.calendars.get(KEY)
    assert doc is not None
    return doc


def test_release_marks_the_held_deletes_released_and_requests_a_sync(
    capsys: pytest.CaptureFixture[str],
) -> None:
    fakes = _fakes()

    assert _run(fakes, "release-deletes", *BY_KEY) == 0

    assert capsys.readouterr().out.strip() == (
        f"2 held deletes of calendar {KEY} released; a sync was requested to send them"
    )
    for record in _records(fakes).values():
        assert record.hold == "released"
        assert record.pending is not None
        assert record.pending.next_attempt_at == T0  # due now
    assert _doc(fakes).held_deletes == 0
    assert _doc(fakes).lease_owner is None
    assert _doc(fakes).last_outcome == "held deletes released"
    assert fakes.sync_requests.published == [
        SyncRequest(calendar_key=KEY, reason="manual", notified_at=T0)
    ]
    other = fakes.records.all()[conference_key("c-other")]
    assert (other.home_key, other.hold) == ("ck_other", "held")  # another calendar's: left alone


def test_release_json_and_a_repeat_releases_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    fakes = _fakes()

    assert _run(fakes, "release-deletes", *BY_KEY, "--json") == 0
    assert _run(fakes, "release-deletes", *BY_KEY, "--json") == 0

    first, second = (json.loads(line) for line in capsys.readouterr().out.splitlines())
    assert first == {"calendarKey": KEY, "released": 2, "published": True}
    assert second == {"calendarKey": KEY, "released": 0, "published": True}
    assert all(r.hold == "released" for r in _records(fakes).values())


def test_discard_drops_the_held_deletes_and_keeps_the_records(
    capsys: pytest.CaptureFixture[str],
) -> None:
    fakes = _fakes()

    assert _run(fakes, "release-deletes", *BY_KEY, "--discard", "--json") == 0
    assert _run(fakes, "release-deletes", *BY_KEY, "--discard") == 0

    first, second = capsys.readouterr().out.splitlines()
    assert json.loads(first) == {"calendarKey": KEY, "discarded": 2, "published": True}
    assert second == f"0 held deletes of calendar {KEY} discarded; the conferences stay"
    records = _records(fakes)
    assert sorted(records) == ["c0", "c1"]
    for record in records.values():
        assert (record.hold, record.pending, record.status) == (None, None, "active")
        assert list(record.calendars) == [KEY]  # the record stays, for an event coming back
    other = fakes.records.all()[conference_key("c-other")]
    assert other.hold == "held"
    assert _doc(fakes).held_deletes == 0
    assert _doc(fakes).last_outcome == "held deletes discarded"


def test_release_by_subject_and_calendar(capsys: pytest.CaptureFixture[str]) -> None:
    fakes = _fakes(held=1)

    argv = ["release-deletes", "--subject", "alice@example.com", "--calendar", "primary"]
    assert _run(fakes, *argv) == 0

    assert _records(fakes)["c0"].hold == "released"


def test_release_of_an_unknown_calendar_changes_nothing_and_exits_1(
    capsys: pytest.CaptureFixture[str],
) -> None:
    fakes = Fakes()

    assert _run(fakes, "release-deletes", "--calendar-key", "ck_unknown") == 1

    assert "ck_unknown is not enrolled" in capsys.readouterr().err
    assert fakes.sync_requests.published == []


def test_release_waits_for_a_running_sync_then_gives_up_changing_nothing(
    capsys: pytest.CaptureFixture[str],
) -> None:
    fakes = _fakes(lease_owner="run-a", lease_until=T0 + timedelta(minutes=5))

    assert _run(fakes, "release-deletes", *BY_KEY) == 1

    err = capsys.readouterr().err
    assert err.startswith(f"confsync: a sync of calendar {KEY} kept its lease")
    assert err.count("\n") == 1
    assert all(r.hold == "held" for r in _records(fakes).values())
    assert _doc(fakes).held_deletes == 2
    assert _doc(fakes).lease_owner == "run-a"
    assert fakes.sync_requests.published == []
    assert LEASE_WAIT_SECONDS < 5 * 60


def test_release_takes_the_lease_once_the_sync_releases_it() -> None:
    fakes = _fakes(lease_owner="run-a", lease_until=T0 + timedelta(seconds=10))

    assert _run(fakes, "release-deletes", *BY_KEY) == 0

    assert all(r.hold == "released" for r in _records(fakes).values())


@pytest.mark.parametrize(
    "argv",
    [["release-deletes"], ["release-deletes", "--subject", "alice@example.com"]],
)
def test_release_needs_a_calendar(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        _run(Fakes(), *argv)
    assert exit_.value.code == 2


def test_the_status_row_carries_the_held_count() -> None:
    doc = CalendarDoc(key=KEY, subject="alice@example.com", calendar_id="primary", held_deletes=3)

    assert calendar_status(doc, [], 0).held_deletes == 3
