"""Channel renewal through the whole local stack: the channel is replaced before it expires and
no change is lost across the switch."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest

from tests.e2e.test_whole_stack import Stack, running_stack, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]


@pytest.fixture(scope="module", name="short_lived")
def short_lived_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Channels live 10 s and are renewed once less than 5 s are left (half their lifetime)."""
    with running_stack(
        tmp_path_factory.mktemp("renewal"),
        "CONFSYNC_CHANNEL_TTL_SECONDS=10",
        "CONFSYNC_RENEWAL_WINDOW_SECONDS=8",
    ) as stack:
        yield stack


def test_renewal_replaces_the_channel_before_it_expires_and_loses_no_change(
    short_lived: Stack,
) -> None:
    stack = short_lived
    calendar_id = f"user-{uuid.uuid4().hex[:10]}@example.com"
    stack.enroll(calendar_id)
    wait_for(lambda: len(stack.channels(calendar_id)) == 1, "the enrollment's channel")
    [old] = stack.channels(calendar_id)
    conference = stack.create_conference()
    event = stack.insert_event(calendar_id, conference, summary="Before renewal")
    wait_for(lambda: stack.conference(conference["id"])["title"] == "Before renewal", "adoption")
    time.sleep(max(0.0, int(old["expiration"]) / 1000 - time.time() - 4.5))  # into the window

    stack.tick()
    wait_for(
        lambda: [c["id"] for c in stack.channels(calendar_id)] not in ([], [old["id"]]),
        "the channel to be replaced",
        timeout=4,
    )
    stack.patch_event(calendar_id, event["id"], summary="After renewal")

    wait_for(lambda: stack.conference(conference["id"])["title"] == "After renewal", "the edit")
    [new] = stack.channels(calendar_id)
    assert new["id"] != old["id"]
    assert int(new["expiration"]) > int(old["expiration"])
