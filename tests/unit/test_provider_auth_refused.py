"""A provider 401/403 (credential or signature refused) keeps the operation pending with backoff.

A rotation of the bearer credential or of the signing secret done on one side before the other,
or clock skew beyond the signature window, is refused with 401/403. That refusal says nothing
about the operation: once the sides agree again it goes through. So it must never fail the record
at once (a failed record stops following its event until the event changes again); it is pending
like an outage, retried with the same backoff and budget, and every refusal logs one ERROR line
with ``alert`` = ``conference_provider_auth_refused``.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from confsync.errors import ProviderAuthError, ProviderUnavailableError
from confsync.sync.send import AUTH_REFUSED_ALERT
from tests.unit.test_sync_runner import (  # noqa: F401 - world_fixture is a pytest fixture
    CALENDAR,
    KEY,
    World,
    _event,
    world_fixture,
)

REFUSED = "PUT c1 revision 2: HTTP 401 (bad_signature): credential or signature refused"


def auth_alerts(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if getattr(r, "alert", None) == AUTH_REFUSED_ALERT]


def test_auth_error_is_an_outage_not_a_rejection() -> None:
    assert issubclass(ProviderAuthError, ProviderUnavailableError)


def test_401_keeps_the_update_pending_with_backoff_and_alerts(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    world.conference_event("e1", "c1")
    world.sync()
    world.calendar.put(CALENDAR, _event("e1", "c1", summary="Renamed"))
    token_before = world.calendars.get(KEY).sync_token  # type: ignore[union-attr]
    world.provider.failures = [ProviderAuthError(REFUSED)]

    outcome = world.sync()

    assert (outcome.stats.pending, outcome.stats.failed) == (1, 0)
    [record] = world.records.all().values()
    assert record.status == "active"  # not "failed": it still follows its event
    assert record.pending is not None
    assert record.pending.attempts == 1
    assert record.pending.next_attempt_at > world.clock.now  # backoff, not at once
    assert "auth refused" in (record.pending.last_error or "")
    doc = world.calendars.get(KEY)
    assert doc is not None
    assert doc.sync_token != token_before
    assert doc.pending_count == 1
    [alert] = auth_alerts(caplog)
    assert alert.levelname == "ERROR"
    assert "CONFERENCING_SIGNING_SECRET" in alert.getMessage()
    assert alert.labels == {"calendar_key": KEY, "record": record.key}  # type: ignore[attr-defined]

    # The rotation is completed on the other side: the retry goes through.
    world.clock.now += timedelta(minutes=2)
    retry = world.sync()

    assert retry.stats.pending_retried == 1
    assert world.provider.conferences["c1"].state["title"] == "Renamed"  # type: ignore[index]
    [record] = world.records.all().values()
    assert (record.status, record.pending) == ("active", None)


def test_403_on_a_delete_keeps_it_pending(world: World) -> None:
    world.conference_event("e1", "c1")
    world.sync()
    world.calendar.delete(CALENDAR, "e1")
    world.provider.failures = [ProviderAuthError("DELETE c1 revision 2: HTTP 403")]

    outcome = world.sync()

    assert outcome.stats.failed == 0
    assert not world.provider.conferences["c1"].deleted
    world.clock.now += timedelta(minutes=2)
    world.sync()
    assert world.provider.conferences["c1"].deleted


def test_refusals_fail_only_once_the_retry_budget_is_spent(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    world.conference_event("e1", "c1")
    world.sync()  # the owner is known from now on: the refusals hit the PUTs
    world.calendar.put(CALENDAR, _event("e1", "c1", summary="Renamed"))
    world.provider.failures = [ProviderAuthError(REFUSED)] * 3
    calls_before = len(world.provider.calls)

    first = world.sync(pending_max_attempts=3)
    world.clock.now += timedelta(minutes=2)
    second = world.sync(pending_max_attempts=3)

    assert (first.stats.failed, second.stats.failed) == (0, 0)
    [record] = world.records.all().values()
    assert record.status == "active"
    assert record.pending is not None
    assert record.pending.attempts == 2

    world.clock.now += timedelta(minutes=5)
    third = world.sync(pending_max_attempts=3)

    assert third.stats.failed == 1
    [record] = world.records.all().values()
    assert record.status == "failed"
    assert len(auth_alerts(caplog)) == 3  # one per refusal
    assert [c.kind for c in world.provider.calls[calls_before:]] == ["update"] * 3
    failed = [
        r for r in caplog.records if getattr(r, "alert", None) == "conference_operation_failed"
    ]
    assert len(failed) == 1


def test_owner_lookup_refused_is_pending_too_and_alerted(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    world.provider.create("c1", owner=None)
    world.calendar.put(CALENDAR, _event("e1", "c1"))
    world.provider.failures = [ProviderAuthError("GET c1: HTTP 401")]

    outcome = world.sync()

    assert outcome.stats.failed == 0
    [record] = world.records.all().values()
    assert record.status != "failed"
    assert record.pending is not None
    assert record.pending.attempts == 1
    [alert] = auth_alerts(caplog)
    assert alert.levelname == "ERROR"
