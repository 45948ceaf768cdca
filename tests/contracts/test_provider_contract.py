"""One contract for the ConferenceProvider port, run against RecordingProvider and the HTTP adapter.

``RecordingProvider`` stands in for the conferencing system in the sync runner's unit tests. Here
the same assertions run against it and against
:class:`~confsync.adapters.conferencing.HttpConferenceProvider` talking to the conferencing
emulator (in-process, on a free port), which implements ``docs/conferencing-api.yaml`` exactly.
Where the two disagree, the fake is the one to fix.

Each backend is seeded and inspected through a small "arrange" object with the same methods: the
fake through its own fields, the emulator through its admin API.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import pytest
import requests

from conferencing_emulator.server import ConferencingServer
from confsync.adapters.conferencing import HttpConferenceProvider
from confsync.conference import Occurrence
from confsync.errors import (
    ProviderGoneError,
    ProviderRejectedError,
    ProviderStaleRevisionError,
    ProviderUnavailableError,
)
from confsync.planner import DeleteConference, UpdateConference
from confsync.ports import MAX_OWNER_BATCH, ConferenceProvider, HeldConference, ProviderAnswer
from confsync.testing import RecordingProvider
from tests.support.conferences import OWNER, update

ATTEMPTS = 2  # the adapter's requests per operation; an outage fails this many
HTTP_TIMEOUT = 5.0
UNKNOWN = "conf_0000000000000000"


# --- operations -------------------------------------------------------------------------------


def delete(conference_id: str, revision: int) -> DeleteConference:
    return DeleteConference(
        record_key=f"rec-{conference_id}", conference_id=conference_id, revision=revision
    )


def send(provider: ConferenceProvider, op: UpdateConference | DeleteConference) -> None:
    """Either operation, as the runner sends it."""
    if isinstance(op, UpdateConference):
        provider.update(op)
    else:
        provider.delete(op)


# --- the two backends -------------------------------------------------------------------------


@dataclass(frozen=True)
class Stored:
    """A conference as the system holds it."""

    revision: int
    deleted: bool
    title: str | None


@dataclass(frozen=True)
class Created:
    """A conference the add-on created (revision 0) and its join URL."""

    id: str
    join_url: str


class Backend(Protocol):
    provider: ConferenceProvider

    def create(self, owner: str | None = None) -> Created: ...

    def stored(self, conference_id: str) -> Stored: ...

    def move_join_url(self, conference_id: str, join_url: str) -> None: ...

    def fail_next_operation(self) -> None: ...

    def without_batch_read(self) -> None:
        """From now on the system answers as one of contract 2.0.0: no batch read."""
        ...


class FakeBackend:
    """RecordingProvider, seeded and read through its own fields."""

    def __init__(self) -> None:
        self.fake = RecordingProvider()
        self.provider: ConferenceProvider = self.fake
        self._ids = itertools.count(1)

    def create(self, owner: str | None = None) -> Created:
        conference_id = f"conf_{next(self._ids):016x}"
        self.fake.create(conference_id, owner=owner)
        return Created(conference_id, self.fake.conferences[conference_id].join_url)

    def stored(self, conference_id: str) -> Stored:
        found = self.fake.conferences[conference_id]
        title = None if found.state is None else found.state["title"]
        return Stored(revision=found.revision, deleted=found.deleted, title=title)

    def move_join_url(self, conference_id: str, join_url: str) -> None:
        self.fake.set_join_url(conference_id, join_url)

    def fail_next_operation(self) -> None:
        self.fake.failures.append(ProviderUnavailableError("HTTP 503 (unavailable)"))

    def without_batch_read(self) -> None:
        """Nothing to do: the fake has no requests, only per-id outcomes."""


class EmulatorBackend:
    """The HTTP adapter on the emulator, seeded and read through the admin API."""

    def __init__(self, server: ConferencingServer) -> None:
        self.admin = server.base_url + "/emulator/v1"
        self._call("POST", "/reset")
        self.http = HttpConferenceProvider(
            server.base_url,
            credential=None,
            signing_secrets=(),
            timeout=HTTP_TIMEOUT,
            max_attempts=ATTEMPTS,
            sleep=lambda seconds: None,
            join_url_hosts=("conference.example",),
        )
        self.provider: ConferenceProvider = self.http

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        response = requests.request(method, self.admin + path, json=body, timeout=HTTP_TIMEOUT)
        assert response.ok, response.text
        return response.json()

    def create(self, owner: str | None = None) -> Created:
        body: dict[str, Any] = {"title": "Created by the add-on"}
        if owner is not None:
            body["owner"] = owner
        created = self._call("POST", "/conferences", body)
        assert (created["revision"], created["owner"]) == (0, owner)
        return Created(created["id"], created["joinUrl"])

    def stored(self, conference_id: str) -> Stored:
        found = self._call("GET", "/conferences")["conferences"]
        conference = next(c for c in found if c["id"] == conference_id)
        return Stored(
            revision=conference["revision"],
            deleted=conference["status"] == "deleted",
            title=conference["title"],
        )

    def move_join_url(self, conference_id: str, join_url: str) -> None:
        self._call("POST", f"/conferences/{conference_id}/join-url", {"joinUrl": join_url})

    def fail_next_operation(self) -> None:
        self._call("POST", "/faults", [{"status": 503, "count": ATTEMPTS}])

    def without_batch_read(self) -> None:
        # Only the batch read POSTs on /v1 here (conferences are created through the admin API).
        self._call("POST", "/faults", [{"method": "POST", "status": 404}])


@pytest.fixture(
    name="conf",
    params=[
        pytest.param("fake", id="fake"),
        pytest.param("emulator", id="emulator", marks=pytest.mark.emulators),
    ],
)
def conf_fixture(request: pytest.FixtureRequest) -> Iterator[Backend]:
    if request.param == "fake":
        yield FakeBackend()
        return
    backend = EmulatorBackend(request.getfixturevalue("conferencing_server"))
    yield backend
    backend.http.close()


# --- updates and revisions --------------------------------------------------------------------


def test_update_applies_the_state_and_answers_the_join_url_and_revision(conf: Backend) -> None:
    created = conf.create()

    answer = conf.provider.update(update(created.id, 1))

    assert answer == ProviderAnswer(join_url=created.join_url, revision=1)
    assert conf.stored(created.id) == Stored(revision=1, deleted=False, title="Weekly sync")


def test_a_higher_revision_applies_again(conf: Backend) -> None:
    created = conf.create()
    conf.provider.update(update(created.id, 1))

    answer = conf.provider.update(update(created.id, 4, title="Weekly sync, moved"))

    assert answer == ProviderAnswer(join_url=created.join_url, revision=4)
    assert conf.stored(created.id) == Stored(revision=4, deleted=False, title="Weekly sync, moved")


def test_the_same_update_sent_twice_answers_the_same_and_changes_nothing_more(
    conf: Backend,
) -> None:
    created = conf.create()
    op = update(created.id, 3)

    first = conf.provider.update(op)
    second = conf.provider.update(op)

    assert first == second == ProviderAnswer(join_url=created.join_url, revision=3)
    assert conf.stored(created.id).revision == 3


def test_an_equal_revision_with_another_state_is_a_repeat_that_changes_nothing(
    conf: Backend,
) -> None:
    created = conf.create()
    conf.provider.update(update(created.id, 2))

    answer = conf.provider.update(update(created.id, 2, title="Changed meanwhile"))

    assert answer == ProviderAnswer(join_url=created.join_url, revision=2)
    assert conf.stored(created.id).title == "Weekly sync"


def test_a_lower_revision_is_refused_as_stale_and_changes_nothing(conf: Backend) -> None:
    created = conf.create()
    conf.provider.update(update(created.id, 5))

    with pytest.raises(ProviderStaleRevisionError):
        conf.provider.update(update(created.id, 4, title="Older"))
    with pytest.raises(ProviderStaleRevisionError):
        conf.provider.delete(delete(created.id, 4))

    assert conf.stored(created.id) == Stored(revision=5, deleted=False, title="Weekly sync")


def test_the_join_url_answered_follows_the_system(conf: Backend) -> None:
    created = conf.create()
    conf.provider.update(update(created.id, 1))
    moved = f"https://conference.example/j/{created.id}-moved"
    conf.move_join_url(created.id, moved)

    answer = conf.provider.update(update(created.id, 2, title="Renamed"))

    assert answer == ProviderAnswer(join_url=moved, revision=2)
    assert conf.stored(created.id).revision == 2  # moving the link is no revision


# --- deletions --------------------------------------------------------------------------------


def test_delete_marks_it_deleted_and_later_operations_find_it_gone(conf: Backend) -> None:
    created = conf.create()
    conf.provider.update(update(created.id, 1))

    conf.provider.delete(delete(created.id, 2))

    assert conf.stored(created.id) == Stored(revision=2, deleted=True, title="Weekly sync")
    with pytest.raises(ProviderGoneError):
        conf.provider.update(update(created.id, 3))
    with pytest.raises(ProviderGoneError):
        conf.provider.delete(delete(created.id, 3))
    assert conf.stored(created.id).revision == 2


def test_delete_at_the_current_revision_deletes(conf: Backend) -> None:
    created = conf.create()
    conf.provider.update(update(created.id, 2))

    conf.provider.delete(delete(created.id, 2))

    assert conf.stored(created.id) == Stored(revision=2, deleted=True, title="Weekly sync")


def test_the_same_delete_sent_again_is_done_not_an_error(conf: Backend) -> None:
    created = conf.create()
    op = delete(created.id, 1)
    conf.provider.delete(op)

    conf.provider.delete(op)  # a redelivery: its first answer was lost, say

    after = conf.stored(created.id)
    assert (after.revision, after.deleted) == (1, True)


def test_a_deleted_conference_is_gone_whatever_the_revision(conf: Backend) -> None:
    created = conf.create()
    conf.provider.delete(delete(created.id, 5))

    with pytest.raises(ProviderGoneError):
        conf.provider.update(update(created.id, 1))
    with pytest.raises(ProviderGoneError):
        conf.provider.delete(delete(created.id, 1))


def test_an_unknown_conference_is_gone(conf: Backend) -> None:
    conf.create()

    with pytest.raises(ProviderGoneError):
        conf.provider.update(update(UNKNOWN, 1))
    with pytest.raises(ProviderGoneError):
        conf.provider.delete(delete(UNKNOWN, 1))


# --- refusals and outages ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"start": "next tuesday"}, id="start-not-a-time"),
        pytest.param({"end": "2030-03-04T08:00:00+01:00"}, id="end-before-start"),
        pytest.param({"end": "2030-03-05"}, id="date-and-date-time"),
        pytest.param({"start": "2030-03-04T09:00:00"}, id="no-offset"),
        pytest.param({"attendees": ("ada@example.com", "not an address")}, id="attendee"),
        pytest.param({"time_zone": "Mars/Olympus"}, id="time-zone"),
        pytest.param(
            {
                "modified_occurrences": (
                    Occurrence(
                        original_start="2030-03-18T09:00:00+01:00",
                        start="2030-03-18T10:00:00+01:00",
                        end="2030-03-18T09:30:00+01:00",
                        title=None,
                    ),
                )
            },
            id="occurrence-end-before-start",
        ),
    ],
)
def test_an_invalid_state_is_rejected_and_changes_nothing(
    conf: Backend, changes: dict[str, Any]
) -> None:
    created = conf.create()
    conf.provider.update(update(created.id, 1))

    with pytest.raises(ProviderRejectedError):
        conf.provider.update(update(created.id, 2, **changes))

    assert conf.stored(created.id) == Stored(revision=1, deleted=False, title="Weekly sync")


def test_an_invalid_state_is_rejected_before_the_conference_is_looked_up(conf: Backend) -> None:
    with pytest.raises(ProviderRejectedError):
        conf.provider.update(update(UNKNOWN, 1, start="next tuesday"))


def test_an_all_day_state_is_accepted(conf: Backend) -> None:
    created = conf.create()

    answer = conf.provider.update(
        update(created.id, 1, start="2030-03-04", end="2030-03-05", time_zone=None)
    )

    assert answer.revision == 1


@pytest.mark.parametrize(
    "operation",
    [
        pytest.param(lambda c: update(c, -1), id="update-negative-revision"),
        pytest.param(lambda c: delete(c, -1), id="delete-negative-revision"),
        pytest.param(lambda c: update("", 1), id="update-empty-id"),
        pytest.param(lambda c: delete("", 1), id="delete-empty-id"),
        pytest.param(lambda c: update(c + "/x", 1), id="update-slash-in-id"),
        pytest.param(lambda c: delete("../" + c, 1), id="delete-dot-dot-in-id"),
        pytest.param(lambda c: update(c + "?revision=9", 1), id="update-query-in-id"),
        pytest.param(lambda c: delete(c + " ", 1), id="delete-space-in-id"),
        pytest.param(lambda c: update("x" * 129, 1), id="update-id-too-long"),
        pytest.param(lambda c: delete("caf\u00e9", 1), id="delete-non-ascii-id"),
    ],
)
def test_an_operation_no_system_could_take_is_rejected(conf: Backend, operation: Any) -> None:
    created = conf.create()
    op: UpdateConference | DeleteConference = operation(created.id)

    with pytest.raises(ProviderRejectedError):
        send(conf.provider, op)

    after = conf.stored(created.id)
    assert (after.revision, after.deleted) == (0, False)


@pytest.mark.parametrize("kind", ["update", "delete"])
def test_an_outage_raises_provider_unavailable_and_applies_nothing(
    conf: Backend, kind: str
) -> None:
    created = conf.create()
    conf.provider.update(update(created.id, 1))
    conf.fail_next_operation()

    op = update(created.id, 2, title="During the outage") if kind == "update" else None
    with pytest.raises(ProviderUnavailableError):
        send(conf.provider, op or delete(created.id, 2))

    assert conf.stored(created.id) == Stored(revision=1, deleted=False, title="Weekly sync")
    assert conf.provider.update(update(created.id, 2)).revision == 2  # over: it goes through


# --- owners -----------------------------------------------------------------------------------


def test_owner_of_answers_the_owner_the_conference_was_created_for(conf: Backend) -> None:
    created = conf.create(owner=OWNER)

    assert conf.provider.owner_of(created.id) == OWNER


def test_the_owner_comes_back_as_given_not_lower_cased(conf: Backend) -> None:
    created = conf.create(owner="Ada.Lovelace@Example.COM")

    owner = conf.provider.owner_of(created.id)

    assert owner == "Ada.Lovelace@Example.COM"
    assert owner is not None
    assert owner.casefold() == "ada.lovelace@example.com"


def test_a_conference_created_without_an_owner_has_none(conf: Backend) -> None:
    created = conf.create()

    assert conf.provider.owner_of(created.id) is None


def test_reading_the_owner_changes_nothing_and_updates_never_change_it(conf: Backend) -> None:
    created = conf.create(owner=OWNER)
    conf.provider.owner_of(created.id)
    before = conf.stored(created.id)
    assert (before.revision, before.deleted) == (0, False)

    conf.provider.update(update(created.id, 1, organizer="grace@example.com"))

    assert conf.provider.owner_of(created.id) == OWNER
    assert conf.stored(created.id).revision == 1


def test_owner_of_an_unknown_conference_is_gone(conf: Backend) -> None:
    conf.create(owner=OWNER)

    with pytest.raises(ProviderGoneError):
        conf.provider.owner_of(UNKNOWN)


def test_owner_of_a_deleted_conference_is_gone(conf: Backend) -> None:
    created = conf.create(owner=OWNER)
    conf.provider.delete(delete(created.id, 1))

    with pytest.raises(ProviderGoneError):
        conf.provider.owner_of(created.id)


@pytest.mark.parametrize(
    "conference_id",
    [
        pytest.param("", id="empty"),
        pytest.param("a/b", id="slash"),
        pytest.param("..", id="dot-dot"),
        pytest.param("a?b=1", id="query"),
        pytest.param("x" * 129, id="too-long"),
        pytest.param("abc\n", id="newline"),
    ],
)
def test_owner_of_an_id_no_system_could_take_is_rejected(conf: Backend, conference_id: str) -> None:
    conf.create(owner=OWNER)

    with pytest.raises(ProviderRejectedError):
        conf.provider.owner_of(conference_id)


def test_owner_of_during_an_outage_raises_provider_unavailable(conf: Backend) -> None:
    created = conf.create(owner=OWNER)
    conf.fail_next_operation()

    with pytest.raises(ProviderUnavailableError):
        conf.provider.owner_of(created.id)

    assert conf.provider.owner_of(created.id) == OWNER  # over: it answers again


# --- what the system holds (read after a stale delete) -----------------------------------------


def test_held_names_the_revision_and_the_event_of_the_state_held(conf: Backend) -> None:
    created = conf.create(owner=OWNER)
    assert conf.provider.held(created.id) == HeldConference(0, False, None, None)

    conf.provider.update(update(created.id, 7, calendar_id="ada@example.com", event_id="e9"))

    assert conf.provider.held(created.id) == HeldConference(7, False, "ada@example.com", "e9")
    assert conf.stored(created.id).revision == 7  # reading changes nothing


def test_held_answers_a_deleted_conference_with_its_revision(conf: Backend) -> None:
    created = conf.create(owner=OWNER)
    conf.provider.update(update(created.id, 3))
    conf.provider.delete(delete(created.id, 8))

    held = conf.provider.held(created.id)

    assert (held.revision, held.deleted) == (8, True)


def test_held_of_an_unknown_conference_is_gone(conf: Backend) -> None:
    conf.create(owner=OWNER)

    with pytest.raises(ProviderGoneError):
        conf.provider.held(UNKNOWN)


def test_held_during_an_outage_raises_provider_unavailable(conf: Backend) -> None:
    created = conf.create(owner=OWNER)
    conf.fail_next_operation()

    with pytest.raises(ProviderUnavailableError):
        conf.provider.held(created.id)


# --- owners, many at once (contract 2.1.0) ----------------------------------------------------


@pytest.mark.parametrize("batch_read", [True, False], ids=["batch", "without-batch-read"])
def test_owners_of_answers_each_id_as_owner_of_does(conf: Backend, batch_read: bool) -> None:
    if not batch_read:
        conf.without_batch_read()
    owned = conf.create(owner="Ada.Lovelace@Example.COM")
    ownerless = conf.create()
    deleted = conf.create(owner=OWNER)
    conf.provider.delete(delete(deleted.id, 1))

    found = conf.provider.owners_of([owned.id, ownerless.id, deleted.id, UNKNOWN, "a/b", owned.id])

    assert set(found) == {owned.id, ownerless.id, deleted.id, UNKNOWN, "a/b"}
    assert found[owned.id] == "Ada.Lovelace@Example.COM"
    assert found[ownerless.id] is None
    assert isinstance(found[deleted.id], ProviderGoneError)
    assert isinstance(found[UNKNOWN], ProviderGoneError)
    assert isinstance(found["a/b"], ProviderRejectedError)


def test_owners_of_reads_a_hundred_and_changes_nothing(conf: Backend) -> None:
    created = [conf.create(owner=f"user{n}@example.com") for n in range(MAX_OWNER_BATCH)]

    found = conf.provider.owners_of([c.id for c in created])

    assert found == {c.id: f"user{n}@example.com" for n, c in enumerate(created)}
    assert all(
        (conf.stored(c.id).revision, conf.stored(c.id).deleted) == (0, False) for c in created
    )


def test_owners_of_more_than_a_hundred_is_refused_before_anything_is_read(conf: Backend) -> None:
    with pytest.raises(ValueError, match="at most 100"):
        conf.provider.owners_of([f"conf_{n:016x}" for n in range(MAX_OWNER_BATCH + 1)])


def test_owners_of_nothing_is_nothing(conf: Backend) -> None:
    assert conf.provider.owners_of([]) == {}


def test_owners_of_during_an_outage_is_unavailable_for_every_id(conf: Backend) -> None:
    first, second = conf.create(owner=OWNER), conf.create()
    conf.fail_next_operation()

    found = conf.provider.owners_of([first.id, second.id])

    assert set(found) == {first.id, second.id}
    assert all(isinstance(outcome, ProviderUnavailableError) for outcome in found.values())
    assert conf.provider.owners_of([first.id, second.id]) == {first.id: OWNER, second.id: None}
