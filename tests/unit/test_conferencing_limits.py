"""What the conferencing adapter sends and takes is bounded, and a join URL reaches the sync only
when it is safe to write into users' events (issue 13, L9 and M3;
docs/decisions/2026-12-03-input-size-caps.md)."""

from __future__ import annotations

import io
import json
import logging
from typing import Any, cast

import pytest
import urllib3

from confsync.adapters.conferencing import (
    MAX_ADDRESS_CHARACTERS,
    MAX_ANSWER_BYTES,
    MAX_ATTENDEES,
    MAX_JOIN_URL_CHARACTERS,
    MAX_TITLE_CHARACTERS,
    HttpConferenceProvider,
)
from confsync.conference import Occurrence
from confsync.errors import ProviderRejectedError
from confsync.planner import DeleteConference
from tests.support.conferences import update

HOSTS = frozenset({"conference.example", "meet.example.com"})


class StubPool:
    """Answers every request with one canned response; keeps the bodies sent."""

    def __init__(self, status: int, body: bytes) -> None:
        self.status = status
        self.body = body
        self.sent: list[bytes] = []

    def request(self, method: str, url: str, **kwargs: Any) -> urllib3.HTTPResponse:
        self.sent.append(kwargs.get("body") or b"")
        return urllib3.HTTPResponse(
            body=io.BytesIO(self.body),
            status=self.status,
            headers={},
            preload_content=kwargs.get("preload_content", True),
        )


def provider(pool: StubPool, hosts: frozenset[str] | None = HOSTS) -> HttpConferenceProvider:
    return HttpConferenceProvider(
        "http://conferencing.invalid",
        credential=None,
        signing_secrets=(),
        sleep=lambda _: None,
        pool=cast(Any, pool),
        join_url_hosts=hosts,
    )


def answer(join_url: object, revision: int = 1) -> bytes:
    return json.dumps({"joinUrl": join_url, "revision": revision}).encode()


def sent(pool: StubPool) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(pool.sent[-1])
    return body


# --- join URLs (M3) ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "join_url",
    [
        "https://conference.example/j/conf_1",
        "https://meet.example.com/j/conf_1?pwd=x",
        "https://Meet.Example.COM./j/conf_1",
        "https://conference.example:443/j/" + "a" * (MAX_JOIN_URL_CHARACTERS - 34),
    ],
)
def test_an_https_url_on_an_allowed_host_reaches_the_sync(join_url: str) -> None:
    assert len(join_url) <= MAX_JOIN_URL_CHARACTERS
    got = provider(StubPool(200, answer(join_url))).update(update("conf_1", 1))
    assert (got.join_url, got.revision) == (join_url, 1)


@pytest.mark.parametrize(
    "join_url",
    [
        "javascript:alert(1)",
        "http://evil.example/phish",
        "http://conference.example/j/conf_1",
        "https://evil.example/j/conf_1",
        "https://conference.example.evil.example/j/conf_1",
        "https://conference.example@evil.example/j/conf_1",
        "https://user:pw@conference.example/j/conf_1",
        "https://conference.example/j/" + "a" * 5000,
        "https://conference.example/j/conf 1",
        "https://conference.example/j/conf_1\n",
        "https:///j/conf_1",
        "//conference.example/j/conf_1",
        "data:text/html,hi",
    ],
)
def test_any_other_url_never_reaches_the_sync_and_is_logged_once(
    join_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="confsync.adapters.conferencing"):
        got = provider(StubPool(200, answer(join_url))).update(update("conf_1", 1))
    assert got.join_url is None
    assert got.revision == 1  # the update itself was applied
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert "conf_1" in errors[0].getMessage()
    assert len(errors[0].getMessage()) < 400  # the URL is clipped
    assert "pw@" not in errors[0].getMessage()  # nor a user name or password in it logged


def test_without_an_allow_list_no_url_reaches_the_sync_and_nothing_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.DEBUG, logger="confsync.adapters.conferencing"):
        got = provider(StubPool(200, answer("https://conference.example/j/c")), None).update(
            update("conf_1", 1)
        )
    assert got.join_url is None
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


# --- what is sent (L9) -------------------------------------------------------------------------


def test_a_title_over_the_cap_is_cut() -> None:
    pool = StubPool(200, answer("https://conference.example/j/c"))
    long = "x" * (MAX_TITLE_CHARACTERS * 10)
    occurrence = Occurrence(
        original_start="2030-03-18T09:00:00+01:00",
        start="2030-03-18T10:00:00+01:00",
        end="2030-03-18T10:30:00+01:00",
        title=long,
    )
    provider(pool).update(update("conf_1", 1, title=long, modified_occurrences=(occurrence,)))
    body = sent(pool)
    assert len(body["title"]) == MAX_TITLE_CHARACTERS
    assert body["title"].startswith("x" * (MAX_TITLE_CHARACTERS - 1))
    assert len(body["modifiedOccurrences"][0]["title"]) == MAX_TITLE_CHARACTERS


def test_a_title_at_the_cap_is_sent_as_it_is() -> None:
    pool = StubPool(200, answer("https://conference.example/j/c"))
    title = "é" * MAX_TITLE_CHARACTERS
    provider(pool).update(update("conf_1", 1, title=title))
    assert sent(pool)["title"] == title


def test_too_many_attendees_are_refused_before_anything_is_sent() -> None:
    pool = StubPool(200, answer("https://conference.example/j/c"))
    attendees = tuple(f"guest{i}@example.com" for i in range(MAX_ATTENDEES + 1))
    with pytest.raises(ProviderRejectedError, match="attendees"):
        provider(pool).update(update("conf_1", 1, attendees=attendees))
    assert pool.sent == []


def test_an_overlong_attendee_address_is_refused_before_anything_is_sent() -> None:
    pool = StubPool(200, answer("https://conference.example/j/c"))
    address = "a" * MAX_ADDRESS_CHARACTERS + "@example.com"
    with pytest.raises(ProviderRejectedError, match="attendee"):
        provider(pool).update(update("conf_1", 1, attendees=(address,)))
    assert pool.sent == []


def test_the_most_attendees_a_meeting_may_have_are_sent() -> None:
    pool = StubPool(200, answer("https://conference.example/j/c"))
    attendees = tuple(f"guest{i}@example.com" for i in range(MAX_ATTENDEES))
    provider(pool).update(update("conf_1", 1, attendees=attendees))
    assert len(sent(pool)["attendees"]) == MAX_ATTENDEES


# --- what is taken (L9) ------------------------------------------------------------------------


def test_an_oversize_answer_is_a_contract_violation_and_is_not_read_whole() -> None:
    padding = " " * MAX_ANSWER_BYTES
    body = b'{"joinUrl": "https://conference.example/j/c", "revision": 1' + padding.encode() + b"}"
    with pytest.raises(ProviderRejectedError, match="larger than"):
        provider(StubPool(200, body)).update(update("conf_1", 1))


def test_an_oversize_error_answer_keeps_its_status_without_detail() -> None:
    body = b'{"error": {"code": "x", "message": "' + b"m" * MAX_ANSWER_BYTES + b'"}}'
    with pytest.raises(ProviderRejectedError, match=r"HTTP 400$"):
        provider(StubPool(400, body)).update(update("conf_1", 1))


def test_an_oversize_answer_to_a_delete_still_counts() -> None:
    provider(StubPool(200, b"x" * (MAX_ANSWER_BYTES + 10))).delete(
        DeleteConference(record_key="rec-conf_1", conference_id="conf_1", revision=1)
    )


class PreloadingPool(StubPool):
    """A pool that ignores ``preload_content`` (the body is in memory already)."""

    def request(self, method: str, url: str, **kwargs: Any) -> urllib3.HTTPResponse:
        self.sent.append(kwargs.get("body") or b"")
        return urllib3.HTTPResponse(body=self.body, status=self.status, headers={})


def test_an_answer_already_in_memory_is_read_too() -> None:
    got = provider(PreloadingPool(200, answer("https://conference.example/j/c"))).update(
        update("conf_1", 1)
    )
    assert got.join_url == "https://conference.example/j/c"
    with pytest.raises(ProviderRejectedError, match="larger than"):
        provider(PreloadingPool(200, b" " * (MAX_ANSWER_BYTES + 1))).update(update("conf_1", 1))
