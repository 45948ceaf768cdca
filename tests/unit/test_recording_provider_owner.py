"""RecordingProvider's owners: set by a test, read with ``owner_of``, every read in ``calls``.

The behaviour it shares with the HTTP adapter is held by tests/contracts/test_provider_contract.py;
this is what only the fake has: its request log and its arrangement methods.
"""

from __future__ import annotations

import pytest

from confsync.errors import ProviderGoneError, ProviderRejectedError, ProviderUnavailableError
from confsync.testing import RecordingProvider
from confsync.testing.fakes import ProviderCall
from tests.support.conferences import OWNER, update


def test_every_owner_read_is_logged_with_its_outcome_and_no_revision() -> None:
    provider = RecordingProvider()
    provider.create("c1", owner=OWNER)
    provider.failures.append(ProviderUnavailableError("HTTP 503"))

    with pytest.raises(ProviderUnavailableError):
        provider.owner_of("c1")
    assert provider.owner_of("c1") == OWNER
    with pytest.raises(ProviderGoneError):
        provider.owner_of("c2")
    with pytest.raises(ProviderRejectedError):
        provider.owner_of("c/1")

    assert provider.calls == [
        ProviderCall("owner_of", "c1", None, "failed: ProviderUnavailableError"),
        ProviderCall("owner_of", "c1", None, "read"),
        ProviderCall("owner_of", "c2", None, "gone"),
        ProviderCall("owner_of", "c/1", None, "rejected"),
    ]


def test_reads_are_not_applied_operations() -> None:
    provider = RecordingProvider()
    provider.create("c1", owner=OWNER)
    provider.owner_of("c1")
    provider.update(update("c1", 1))

    assert [call.kind for call in provider.applied()] == ["update"]


def test_a_test_may_set_or_clear_an_owner() -> None:
    provider = RecordingProvider()
    provider.create("c1")
    assert provider.owner_of("c1") is None

    provider.set_owner("c1", "Grace@Example.com")
    assert provider.owner_of("c1") == "Grace@Example.com"

    provider.set_owner("c1", None)
    assert provider.owner_of("c1") is None
