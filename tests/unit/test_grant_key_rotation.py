"""Rotating the OAuth token key: ``CONFSYNC_OAUTH_TOKEN_KEY`` holds the sealing key then older keys
still read, the functions open grants sealed with any of them, and ``confsync re-encrypt-grants``
moves every grant to the sealing key, idempotent and never losing one (an in-memory store here;
tests/integration/test_grant_rotation.py runs it on the Firestore emulator)."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from confsync.cli.commands import main
from confsync.cli.reencrypt import reencrypt_grants, run_reencrypt
from confsync.config import load_cli_config, load_sync_config
from confsync.errors import ConfigurationError
from confsync.grant_crypto import (
    GrantCryptoError,
    GrantKeys,
    StoredGrant,
    key_id,
    open_grant,
    seal_grant,
)
from confsync.parsers import aes_keys

OLD, NEW, LOST = bytes(range(32)), bytes(range(1, 33)), bytes(range(2, 34))
NOW = datetime(2026, 12, 4, tzinfo=UTC)


def b64(key: bytes) -> str:
    return base64.b64encode(key).decode()


class InMemoryGrants:
    """Grants by document id; ``version`` counts writes, and a replace of a changed grant is
    refused like Firestore's precondition. ``before_replace`` lets a test write meanwhile."""

    def __init__(self) -> None:
        self.docs: dict[str, StoredGrant] = {}
        self.writes = 0
        self.before_replace: list[str] = []

    def add(self, subject: str, key: bytes, token: str | None = None) -> str:
        document = f"og_{len(self.docs)}"
        sealed = seal_grant(token or f"1//refresh-{subject}", subject, key)
        self.docs[document] = StoredGrant(document, subject, sealed, version=0)
        return document

    def scan(self) -> Iterator[StoredGrant]:
        yield from list(self.docs.values())

    def replace(self, grant: StoredGrant, sealed: bytes, *, now: datetime) -> bool:
        for document in self.before_replace:  # someone stores a new grant meanwhile
            other = self.docs[document]
            self.docs[document] = replace(other, version=other.version + 1)
        self.before_replace = []
        current = self.docs.get(grant.document)
        if current is None or current.version != grant.version:
            return False
        self.docs[grant.document] = replace(current, sealed=sealed, version=current.version + 1)
        self.writes += 1
        return True

    def token(self, document: str, keys: tuple[bytes, ...]) -> str:
        grant = self.docs[document]
        return open_grant(grant.sealed, grant.subject, keys)


def test_the_token_key_variable_takes_the_sealing_key_then_older_ones() -> None:
    env = {"GOOGLE_CLOUD_PROJECT": "p", "CONFSYNC_OAUTH_TOKEN_KEY": f"{b64(NEW)}, {b64(OLD)}"}

    config = load_cli_config(env)

    assert config.oauth_token_keys == (NEW, OLD)
    assert GrantKeys.of(config.oauth_token_keys).sealing == NEW


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (f"{b64(NEW)},{b64(b'short')}", "key 2: must decode to 32 bytes (AES-256), not 5"),
        (f"{b64(NEW)},{b64(NEW)}", "key 2 repeats an earlier key"),
        (f"{b64(NEW)},", "key 2: must decode to 32 bytes"),
    ],
)
def test_a_bad_older_key_is_named_by_position_never_echoed(value: str, problem: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        load_cli_config({"GOOGLE_CLOUD_PROJECT": "p", "CONFSYNC_OAUTH_TOKEN_KEY": value})

    assert f"CONFSYNC_OAUTH_TOKEN_KEY: {problem}" in str(caught.value)
    assert b64(NEW) not in str(caught.value)


def test_the_sync_opens_grants_sealed_with_an_older_key() -> None:
    env = {
        "GOOGLE_CLOUD_PROJECT": "p",
        "CALENDAR_API_URL": "http://127.0.0.1:8683/calendar/v3/",
        "CONFERENCING_URL": "http://127.0.0.1:8684/",
        "CONFSYNC_JOIN_URL_HOSTS": "conference.example",
        "CONFSYNC_OAUTH_TOKEN_KEY": f"{b64(NEW)},{b64(OLD)}",
    }
    keys = load_sync_config(env).calendar_auth.oauth_token_keys
    assert keys is not None

    assert open_grant(seal_grant("1//old", "a@example.com", OLD), "a@example.com", keys) == "1//old"
    assert open_grant(seal_grant("1//new", "a@example.com", NEW), "a@example.com", keys) == "1//new"


def test_re_encrypting_moves_every_grant_to_the_sealing_key_and_keeps_their_tokens() -> None:
    store = InMemoryGrants()
    old = [store.add(f"user{i}@example.com", OLD) for i in range(3)]
    current = store.add("new@example.com", NEW)

    report = reencrypt_grants(store, GrantKeys(NEW, (OLD,)), clock=lambda: NOW)

    assert (report.resealed, report.current, report.changed, report.unreadable) == (3, 1, 0, [])
    assert report.done
    for document in [*old, current]:
        assert store.docs[document].sealed[1:5] == key_id(NEW)
        assert store.token(document, (NEW,)).startswith(
            "1//refresh-"
        )  # the old key is no longer needed
    with pytest.raises(GrantCryptoError):
        store.token(old[0], (OLD,))


def test_a_second_run_changes_nothing() -> None:
    store = InMemoryGrants()
    store.add("a@example.com", OLD)
    keys = GrantKeys(NEW, (OLD,))
    reencrypt_grants(store, keys, clock=lambda: NOW)
    writes = store.writes

    again = reencrypt_grants(store, keys, clock=lambda: NOW)

    assert (again.resealed, again.current) == (0, 1)
    assert store.writes == writes


def test_a_grant_stored_meanwhile_is_not_overwritten_and_the_run_asks_for_another() -> None:
    store = InMemoryGrants()
    document = store.add("a@example.com", OLD)
    store.before_replace = [document]

    report = reencrypt_grants(store, GrantKeys(NEW, (OLD,)), clock=lambda: NOW)

    assert (report.resealed, report.changed) == (0, 1)
    assert not report.done
    assert store.docs[document].sealed[1:5] == key_id(OLD)  # untouched: still readable with OLD
    assert reencrypt_grants(store, GrantKeys(NEW, (OLD,)), clock=lambda: NOW).done


def test_a_grant_no_configured_key_opens_is_reported_and_left_as_it_is() -> None:
    store = InMemoryGrants()
    lost = store.add("lost@example.com", LOST)
    store.add("a@example.com", OLD)
    before = store.docs[lost]

    report = reencrypt_grants(store, GrantKeys(NEW, (OLD,)), clock=lambda: NOW)

    assert report.unreadable == [lost]
    assert report.resealed == 1
    assert not report.done
    assert store.docs[lost] == before


def test_a_damaged_grant_on_the_active_key_is_unreadable_not_current() -> None:
    store = InMemoryGrants()
    document = store.add("a@example.com", NEW)
    grant = store.docs[document]
    store.docs[document] = replace(grant, sealed=grant.sealed[:-1] + bytes([grant.sealed[-1] ^ 1]))

    report = reencrypt_grants(store, GrantKeys(NEW, (OLD,)), clock=lambda: NOW)

    assert (report.current, report.unreadable) == (0, [document])
    assert not report.done


def test_the_key_set_refuses_a_repeated_or_short_key() -> None:
    with pytest.raises(GrantCryptoError, match="distinct"):
        GrantKeys(NEW, (OLD, NEW))
    with pytest.raises(GrantCryptoError, match="32 bytes"):
        GrantKeys.of([NEW, b"short"])


def test_an_interrupted_run_loses_no_grant_and_a_rerun_finishes() -> None:
    store = InMemoryGrants()
    documents = [store.add(f"user{i}@example.com", OLD) for i in range(4)]
    keys = GrantKeys(NEW, (OLD,))
    real_replace = store.replace
    calls = 0

    def dying_replace(grant: StoredGrant, sealed: bytes, *, now: datetime) -> bool:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise KeyboardInterrupt  # the operator's terminal closes mid-run
        return real_replace(grant, sealed, now=now)

    store.replace = dying_replace  # type: ignore[method-assign]
    with pytest.raises(KeyboardInterrupt):
        reencrypt_grants(store, keys, clock=lambda: NOW)
    for document in documents:  # each grant opens with the configured keys, whichever seals it
        assert store.token(document, keys.opening).startswith("1//refresh-")

    store.replace = real_replace  # type: ignore[method-assign]
    report = reencrypt_grants(store, keys, clock=lambda: NOW)

    assert (report.resealed, report.current) == (2, 2)
    assert all(store.docs[d].sealed[1:5] == key_id(NEW) for d in documents)


def test_the_command_prints_counts_and_exits_1_until_every_grant_is_current() -> None:
    store = InMemoryGrants()
    store.add("a@example.com", OLD)
    lost = store.add("lost@example.com", LOST)
    config = load_cli_config(
        {"GOOGLE_CLOUD_PROJECT": "p", "CONFSYNC_OAUTH_TOKEN_KEY": f"{b64(NEW)},{b64(OLD)}"}
    )
    out = io.StringIO()

    code = run_reencrypt(config, as_json=True, out=out, store=lambda _c: store, clock=lambda: NOW)

    assert code == 1
    assert json.loads(out.getvalue()) == {
        "resealed": 1,
        "current": 0,
        "changed": 0,
        "unreadable": 1,
        "unreadableDocuments": [lost],
        "done": False,
    }
    del store.docs[lost]
    text = io.StringIO()
    assert run_reencrypt(config, as_json=False, out=text, store=lambda _c: store) == 0
    assert text.getvalue().startswith("0 grants sealed again with the active key, 1 already were")


def _no_services(_config: object) -> Any:
    return None  # the command reaches Firestore only through its own store, after the key check


def test_the_command_needs_the_key_and_touches_nothing_without_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["re-encrypt-grants"], {"GOOGLE_CLOUD_PROJECT": "p"}, services=_no_services)

    assert code == 2
    assert "CONFSYNC_OAUTH_TOKEN_KEY is required to re-encrypt grants" in capsys.readouterr().err


@given(st.lists(st.binary(min_size=32, max_size=32), min_size=1, max_size=4, unique=True))
def test_any_list_of_distinct_keys_reads_back_in_order(keys: list[bytes]) -> None:
    assert aes_keys(",".join(b64(k) for k in keys)) == tuple(keys)


@given(st.text(max_size=120))
def test_any_text_is_a_key_list_or_a_value_error(text: str) -> None:
    try:
        keys = aes_keys(text)
    except ValueError:
        return
    assert keys
    assert all(len(k) == 32 for k in keys)
