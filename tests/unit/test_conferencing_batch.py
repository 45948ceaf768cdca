"""The adapter's batch read of owners (contract 2.1.0) without a network: a scripted pool.

What a batch answer decodes to, per id (the same outcomes as ``owner_of``); what a failed
request does to every id of it; the fallback to one GET per id on a system without the batch
read, remembered for the provider's life; and a property test of the decoder: any body decodes
to one outcome per id asked, or is refused as a whole with a clear error, and changes nothing.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable
from typing import Any, cast

import pytest
import urllib3
from hypothesis import example, given, settings
from hypothesis import strategies as st

from confsync.adapters.conferencing import HttpConferenceProvider
from confsync.adapters.conferencing_batch import BATCH_PATH, decode_owners
from confsync.errors import (
    ProviderAuthError,
    ProviderGoneError,
    ProviderRejectedError,
    ProviderUnavailableError,
)
from confsync.ports import MAX_OWNER_BATCH, ConferenceProvider

BASE = "http://conferencing.invalid"
A, B, C = "conf_a", "conf_b", "conf_c"
ADA = "Ada@Example.com"


class ScriptedPool:
    """Answers each request by ``answer(method, url, body)``; keeps what was sent."""

    def __init__(self, answer: Callable[[str, str, bytes], tuple[int, bytes]]) -> None:
        self.answer = answer
        self.sent: list[tuple[str, str, bytes]] = []

    def request(self, method: str, url: str, **kwargs: Any) -> urllib3.HTTPResponse:
        body = kwargs.get("body") or b""
        self.sent.append((method, url.removeprefix(BASE), body))
        status, payload = self.answer(method, url.removeprefix(BASE), body)
        return urllib3.HTTPResponse(
            body=io.BytesIO(payload),
            status=status,
            headers={},
            preload_content=kwargs.get("preload_content", True),
        )

    def paths(self) -> list[str]:
        return [f"{method} {path}" for method, path, _ in self.sent]


def provider(pool: ScriptedPool, **overrides: Any) -> HttpConferenceProvider:
    options: dict[str, Any] = {
        "credential": None,
        "signing_secrets": (),
        "sleep": lambda _: None,
        "max_attempts": 2,
        "pool": cast(Any, pool),
        "join_url_hosts": None,
    }
    options.update(overrides)
    return HttpConferenceProvider(BASE, **options)


def summary(conference_id: str, owner: str | None = ADA, status: str = "active") -> dict[str, Any]:
    return {"id": conference_id, "owner": owner, "status": status, "revision": 0}


def batch_answer(*conferences: dict[str, Any], missing: tuple[str, ...] = ()) -> bytes:
    return json.dumps({"conferences": list(conferences), "missing": list(missing)}).encode()


def always(status: int, body: bytes = b"") -> Callable[[str, str, bytes], tuple[int, bytes]]:
    return lambda method, path, sent: (status, body)


def owners_by_get(owners: dict[str, str | None]) -> Callable[[str, str, bytes], tuple[int, bytes]]:
    """A system of contract 2.0.0: no batch read (404), one GET per conference."""

    def answer(method: str, path: str, body: bytes) -> tuple[int, bytes]:
        conference_id = path.rsplit("/", 1)[1]
        if method != "GET" or conference_id not in owners:
            return 404, b'{"error": {"code": "not_found", "message": "no"}}'
        return 200, json.dumps(summary(conference_id, owners[conference_id])).encode()

    return answer


# --- one request for many ----------------------------------------------------------------------


def test_the_owners_come_from_one_post_of_the_ids_and_each_outcome_is_owner_ofs() -> None:
    answer = batch_answer(
        summary(A), summary(B, owner=None), summary(C, status="deleted"), missing=("conf_d",)
    )
    pool = ScriptedPool(always(200, answer))

    found = provider(pool).owners_of([A, B, C, "conf_d", A])

    assert pool.paths() == [f"POST {BATCH_PATH}"]
    assert json.loads(pool.sent[0][2]) == {"ids": [A, B, C, "conf_d"]}  # each id once
    assert (found[A], found[B]) == (ADA, None)
    assert isinstance(found[C], ProviderGoneError)  # deleted
    assert isinstance(found["conf_d"], ProviderGoneError)  # unknown
    assert set(found) == {A, B, C, "conf_d"}


def test_an_id_no_system_could_take_is_refused_and_never_sent() -> None:
    pool = ScriptedPool(always(200, batch_answer(summary(A))))

    found = provider(pool).owners_of(["a/b", A])

    assert isinstance(found["a/b"], ProviderRejectedError)
    assert json.loads(pool.sent[0][2]) == {"ids": [A]}


def test_only_invalid_ids_send_nothing() -> None:
    pool = ScriptedPool(always(500))

    found = provider(pool).owners_of(["..", ""])

    assert pool.sent == []
    assert all(isinstance(outcome, ProviderRejectedError) for outcome in found.values())


def test_more_than_a_hundred_ids_is_a_programming_error() -> None:
    pool = ScriptedPool(always(200, batch_answer()))
    with pytest.raises(ValueError, match="at most 100"):
        provider(pool).owners_of([f"conf_{n}" for n in range(MAX_OWNER_BATCH + 1)])
    assert pool.sent == []


def test_is_the_port() -> None:
    port: ConferenceProvider = provider(ScriptedPool(always(200, batch_answer())))
    assert port.owners_of([]) == {}


# --- partial and broken answers ----------------------------------------------------------------


def test_an_id_neither_answered_nor_named_missing_is_a_contract_violation_for_that_id() -> None:
    pool = ScriptedPool(always(200, batch_answer(summary(A))))

    found = provider(pool).owners_of([A, B])

    assert found[A] == ADA
    assert isinstance(found[B], ProviderRejectedError)
    assert "neither answered nor named missing" in str(found[B])


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param(batch_answer(summary(A), summary(A, owner="x@example.com")), id="twice"),
        pytest.param(batch_answer(summary(A), missing=(A,)), id="answered-and-missing"),
        pytest.param(batch_answer({"id": A, "status": "active"}), id="no-owner"),
        pytest.param(batch_answer(summary(A, owner="")), id="empty-owner"),
        pytest.param(batch_answer({**summary(A), "owner": 7}), id="owner-not-a-string"),
    ],
)
def test_a_conflicting_or_ownerless_entry_is_a_contract_violation_for_its_id(
    answer: bytes,
) -> None:
    found = provider(ScriptedPool(always(200, answer))).owners_of([A])

    assert isinstance(found[A], ProviderRejectedError)
    assert "contract violation" in str(found[A])


def test_entries_about_ids_not_asked_for_are_ignored() -> None:
    junk: Any = "junk"
    answer = batch_answer(summary(A), summary("conf_other"), junk, missing=("conf_x", junk))

    assert provider(ScriptedPool(always(200, answer))).owners_of([A]) == {A: ADA}


@pytest.mark.parametrize(
    "body",
    [b"", b"not json", b"[]", b'{"conferences": []}', b'{"missing": []}', b'{"conferences": {}}'],
)
def test_an_answer_that_is_no_batch_answer_fails_every_id_of_it(body: bytes) -> None:
    found = provider(ScriptedPool(always(200, body))).owners_of([A, B])

    assert set(found) == {A, B}
    for outcome in found.values():
        assert isinstance(outcome, ProviderRejectedError)
        assert "contract violation" in str(outcome)


# --- whole-request failures --------------------------------------------------------------------


def test_an_outage_after_the_retries_is_every_ids_outcome() -> None:
    pool = ScriptedPool(always(503))

    found = provider(pool).owners_of([A, B])

    assert pool.paths() == [f"POST {BATCH_PATH}"] * 2  # max_attempts
    assert all(type(outcome) is ProviderUnavailableError for outcome in found.values())


@pytest.mark.parametrize("status", [401, 403])
def test_a_refused_credential_is_every_ids_outcome_and_not_retried(status: int) -> None:
    pool = ScriptedPool(always(status))

    found = provider(pool).owners_of([A, B])

    assert len(pool.sent) == 1
    assert all(isinstance(outcome, ProviderAuthError) for outcome in found.values())


@pytest.mark.parametrize("status", [400, 409, 413, 422])
def test_another_refusal_is_every_ids_rejection_and_the_batch_read_stays(status: int) -> None:
    pool = ScriptedPool(always(status))
    batch = provider(pool)

    found = batch.owners_of([A, B])
    batch.owners_of([C])

    assert all(isinstance(outcome, ProviderRejectedError) for outcome in found.values())
    assert pool.paths() == [f"POST {BATCH_PATH}"] * 2


def test_a_retried_batch_read_succeeds() -> None:
    answers = iter([(503, b""), (200, batch_answer(summary(A)))])
    pool = ScriptedPool(lambda method, path, body: next(answers))

    assert provider(pool).owners_of([A]) == {A: ADA}


# --- a system without the batch read -----------------------------------------------------------


@pytest.mark.parametrize("status", [404, 405, 410, 501])
def test_without_a_batch_read_each_id_is_read_with_a_get_and_that_is_remembered(
    status: int, caplog: pytest.LogCaptureFixture
) -> None:
    owners = owners_by_get({A: ADA, B: None})

    def answer(method: str, path: str, body: bytes) -> tuple[int, bytes]:
        return (status, b"") if path == BATCH_PATH else owners(method, path, body)

    pool = ScriptedPool(answer)
    old = provider(pool)
    with caplog.at_level(logging.INFO, logger="confsync.adapters.conferencing"):
        first = old.owners_of([A, B, C])
        second = old.owners_of([B])

    assert (first[A], first[B], second) == (ADA, None, {B: None})
    assert isinstance(first[C], ProviderGoneError)
    assert pool.paths() == [
        f"POST {BATCH_PATH}",  # once: not retried (501 included), then remembered
        f"GET /v1/conferences/{A}",
        f"GET /v1/conferences/{B}",
        f"GET /v1/conferences/{C}",
        f"GET /v1/conferences/{B}",
    ]
    assert [r.getMessage() for r in caplog.records].count(
        f"the conferencing system has no batch read (HTTP {status} on {BATCH_PATH}): owners are "
        "read with one GET each from now on"
    ) == 1


def test_the_fallback_keeps_each_gets_own_failure() -> None:
    def answer(method: str, path: str, body: bytes) -> tuple[int, bytes]:
        if path == BATCH_PATH:
            return 404, b""
        return (503, b"") if path.endswith(B) else (200, json.dumps(summary(A)).encode())

    found = provider(ScriptedPool(answer)).owners_of([A, B])

    assert found[A] == ADA
    assert type(found[B]) is ProviderUnavailableError


def test_another_provider_of_the_same_process_asks_again() -> None:
    """What is remembered is the provider's (one per process in the functions)."""
    pool = ScriptedPool(owners_by_get({A: ADA}))
    provider(pool).owners_of([A])
    provider(pool).owners_of([A])

    assert pool.paths().count(f"POST {BATCH_PATH}") == 2


# --- the decoder, for any body -----------------------------------------------------------------

IDS = st.lists(st.sampled_from([A, B, C, "conf_d"]), min_size=1, max_size=4, unique=True)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
ENTRY = st.fixed_dictionaries(
    {"id": st.sampled_from([A, B, C, "conf_d", "conf_x"]) | JSON},
    optional={
        "owner": st.sampled_from([ADA, None, "", 7]) | JSON,
        "status": st.sampled_from(["active", "deleted", None]) | JSON,
    },
)
ANSWER = st.fixed_dictionaries(
    {},
    optional={
        "conferences": st.lists(ENTRY | JSON, max_size=6) | JSON,
        "missing": st.lists(st.sampled_from([A, B, C, "conf_d"]) | JSON, max_size=4) | JSON,
    },
)
BODIES = (
    ANSWER.map(lambda value: json.dumps(value).encode())
    | JSON.map(lambda value: json.dumps(value).encode())
    | st.binary(max_size=64)
    | st.integers(min_value=500, max_value=20_000).map(lambda n: b"[" * n + b"]" * n)
)


@settings(max_examples=300, deadline=None)
@given(asked=IDS, raw=BODIES)
@example(asked=[A], raw=b'{"conferences": [], "missing": []}')
@example(asked=[A], raw=b'{"conferences": [{"id": "conf_a", "owner": null}], "missing": []}')
def test_any_body_decodes_to_one_outcome_per_id_or_is_refused_clearly(
    asked: list[str], raw: bytes
) -> None:
    before = list(asked)
    refusal = ""
    try:
        found = decode_owners("POST batchGet", asked, raw)
    except ProviderRejectedError as refused:
        refusal, found = str(refused), {}
    assert asked == before
    if refusal:
        assert "contract violation" in refusal
        return
    assert list(found) == asked
    for outcome in found.values():
        assert (
            outcome is None
            or (isinstance(outcome, str) and outcome)
            or type(outcome) in (ProviderGoneError, ProviderRejectedError)
        )
