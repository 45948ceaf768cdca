"""The REST Firestore client against the Firestore emulator, side by side with the client library.

What one client writes the other reads the same (every kind of value, nanoseconds of update
times included); preconditions, transforms, deletes of single map entries and queries with
cursors behave as the stores rely on; refusals arrive as the errors the stores catch.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from google.auth.credentials import AnonymousCredentials
from google.cloud import firestore

from confsync.adapters.firestore_errors import (
    AlreadyExistsError,
    FailedPreconditionError,
    NotFoundError,
    UnavailableError,
)
from confsync.adapters.firestore_fields import DELETE_FIELD, Increment, Maximum, field_path
from confsync.adapters.firestore_http import Client
from confsync.adapters.firestore_query import DESCENDING, FieldFilter
from devstack.gcloud_emulators import EmulatorEndpoints, free_port

pytestmark = pytest.mark.emulators

T0 = datetime(2026, 12, 4, 9, 30, 15, 123456, tzinfo=UTC)
RICH: dict[str, Any] = {
    "none": None,
    "flag": True,
    "count": 2**62,
    "ratio": -0.25,
    "text": "héllo",
    "blob": b"\x00\xffsealed",
    "at": T0,
    "empty_map": {},
    "empty_list": [],
    "nested": {"list": [1, "two", {"three": [T0]}], "map": {"a-b": {"c": None}}},
}


@pytest.fixture(name="clients")
def clients_fixture(
    firestore_emulator: EmulatorEndpoints,
) -> tuple[Client, firestore.Client]:
    ours = Client.from_environment(firestore_emulator.project)
    library = firestore.Client(
        project=firestore_emulator.project, credentials=AnonymousCredentials()
    )
    return ours, library


def test_what_one_client_writes_the_other_reads(clients: tuple[Client, firestore.Client]) -> None:
    ours, library = clients
    written = ours.collection("things").document("ours").set(RICH)
    library.collection("things").document("theirs").set(RICH)

    theirs = library.collection("things").document("ours").get()
    mine = ours.collection("things").document("theirs").get()

    assert theirs.to_dict() == RICH
    assert mine.to_dict() == RICH
    assert written.update_time is not None
    assert written.update_time.rfc3339() == theirs.update_time.rfc3339()
    again = ours.collection("things").document("theirs").get()
    assert again.update_time is not None
    assert (
        again.update_time.rfc3339()
        == library.collection("things").document("theirs").get().update_time.rfc3339()
    )


def test_a_missing_document_reads_as_absent(clients: tuple[Client, firestore.Client]) -> None:
    ours, _ = clients
    docs = ours.collection("things")
    docs.document("here").set({"a": 1})

    found = {
        s.id: s.to_dict() for s in ours.get_all([docs.document("here"), docs.document("gone")])
    }

    assert found == {"here": {"a": 1}, "gone": None}
    assert not docs.document("gone").get().exists


def test_an_update_on_a_stale_version_is_refused_and_changes_nothing(
    clients: tuple[Client, firestore.Client],
) -> None:
    ours, _ = clients
    ref = ours.collection("calendars").document("ck_1")
    first = ref.set({"lease_owner": None, "n": 1})
    assert first.update_time is not None
    second = ref.update({"n": 2}, option=ours.write_option(last_update_time=first.update_time))

    with pytest.raises(FailedPreconditionError):
        ref.update(
            {"lease_owner": "late"}, option=ours.write_option(last_update_time=first.update_time)
        )

    assert second.update_time is not None
    assert second.update_time > first.update_time
    assert ref.get().to_dict() == {"lease_owner": None, "n": 2}


def test_updates_and_deletes_of_missing_documents_are_not_found(
    clients: tuple[Client, firestore.Client],
) -> None:
    ours, _ = clients
    ref = ours.collection("calendars").document("nobody")
    with pytest.raises(NotFoundError):
        ref.update({"sync_token": None})
    with pytest.raises(NotFoundError):
        ref.delete(option=ours.write_option(exists=True))
    ref.delete()  # unconditional: nothing to do, no error
    assert not ref.get().exists


def test_a_create_of_an_existing_document_is_refused(
    clients: tuple[Client, firestore.Client],
) -> None:
    ours, _ = clients
    ref = ours.collection("conferences").document("cf_1")
    ref.set({"a": 1})
    batch = ours.batch()
    batch.update(ref, {"a": 2}, option=ours.write_option(exists=False))
    with pytest.raises((AlreadyExistsError, FailedPreconditionError)):
        batch.commit()
    assert ref.get().to_dict() == {"a": 1}


def test_transforms_count_on_the_server(clients: tuple[Client, firestore.Client]) -> None:
    ours, _ = clients
    ref = ours.collection("calendar_budget").document("1-0")
    expire = T0 + timedelta(days=1)

    first = ref.set({"asked": Increment(13), "expire_at": expire}, merge=True)
    second = ref.set({"asked": Increment(5), "expire_at": expire}, merge=True)
    ref.update({"notify_seq": Increment(1), "top": Maximum(7), "at": T0})
    ref.update({"notify_seq": Increment(1), "top": Maximum(3)})

    assert (first.transform_results, second.transform_results) == ([13], [18])
    assert ref.get().to_dict() == {
        "asked": 18,
        "expire_at": expire,
        "notify_seq": 2,
        "top": 7,
        "at": T0,
    }


def test_single_map_entries_are_written_and_deleted_by_quoted_path(
    clients: tuple[Client, firestore.Client],
) -> None:
    ours, library = clients
    ref = ours.collection("calendars").document("ck_2")
    ref.set({"channels": {"old-1": {"expires": T0}, "keep": {"expires": T0}}})

    ref.update(
        {
            field_path("channels", "old-1"): DELETE_FIELD,
            field_path("channels", "new.2"): {"expires": T0},
        }
    )

    stored = library.collection("calendars").document("ck_2").get().to_dict()
    assert stored == {"channels": {"keep": {"expires": T0}, "new.2": {"expires": T0}}}


def test_queries_filter_order_and_page_as_the_library_does(
    clients: tuple[Client, firestore.Client],
) -> None:
    ours, library = clients
    batch = ours.batch()
    for i in range(12):
        body = {
            "state": "active" if i % 3 else "disconnected",
            "due": T0 + timedelta(minutes=i % 5),
            "keys": [f"k{i % 2}"],
            "gone": None if i % 4 == 0 else T0,
        }
        batch.set(ours.collection("calendars").document(f"ck_{i:02d}"), body)
    batch.commit()

    def pages(client: Any, flt: Any) -> list[list[str]]:
        found: list[list[str]] = []
        after = None
        while True:
            query = (
                client.collection("calendars")
                .where(filter=flt("state", "in", ["active", "disconnected"]))
                .where(filter=flt("due", "<=", T0 + timedelta(minutes=3)))
                .order_by("due", direction=DESCENDING)
                .limit(4)
            )
            if after is not None:
                query = query.start_after(after)
            page = list(query.stream())
            found.append([s.id for s in page])
            if len(page) < 4:
                return found
            after = page[-1]

    assert pages(ours, FieldFilter) == pages(library, firestore.FieldFilter)
    nulls = ours.collection("calendars").where(filter=FieldFilter("gone", "==", None)).stream()
    assert sorted(s.id for s in nulls) == ["ck_00", "ck_04", "ck_08"]
    contains = ours.collection("calendars").where(
        filter=FieldFilter("keys", "array_contains", "k1")
    )
    assert len(list(contains.stream())) == 6


def test_an_unreachable_server_is_unavailable() -> None:
    client = Client.from_environment(
        "nowhere", env={"FIRESTORE_EMULATOR_HOST": f"127.0.0.1:{free_port()}"}
    )
    with pytest.raises(UnavailableError):
        client.collection("calendars").document("ck_1").get()
