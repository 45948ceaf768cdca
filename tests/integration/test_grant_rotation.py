"""Rotating the OAuth token key on the Firestore emulator: ``confsync re-encrypt-grants`` seals
every stored grant again with the first ``CONFSYNC_OAUTH_TOKEN_KEY`` key, page by page, one
conditional write each, so a rerun changes nothing and a grant stored meanwhile is never
overwritten; the functions' grant reader opens grants sealed with any configured key."""

from __future__ import annotations

import base64
import json
import os
from datetime import UTC, datetime

import pytest

from confsync.adapters import firestore_http as firestore
from confsync.adapters import oauth_grants
from confsync.adapters.oauth_grants import GRANTS_COLLECTION, FirestoreGrantStore
from confsync.cli.commands import main
from confsync.config import load_cli_config
from confsync.grant_crypto import key_id, open_grant, seal_grant
from devstack.gcloud_emulators import EmulatorEndpoints

OLD, NEW = bytes(range(32)), bytes(range(1, 33))
NOW = datetime(2026, 12, 4, tzinfo=UTC)
SUBJECTS = [f"user{i}@example.com" for i in range(5)]


def _key_env(*keys: bytes) -> dict[str, str]:
    value = ",".join(base64.b64encode(k).decode() for k in keys)
    return {**os.environ, "CONFSYNC_OAUTH_TOKEN_KEY": value}


def _cli(capsys: pytest.CaptureFixture[str], *keys: bytes) -> tuple[int, dict[str, object]]:
    code = main(["re-encrypt-grants", "--json"], _key_env(*keys))
    return code, json.loads(capsys.readouterr().out)


@pytest.fixture(name="store")
def store_fixture(
    firestore_emulator: EmulatorEndpoints, monkeypatch: pytest.MonkeyPatch
) -> FirestoreGrantStore:
    """Five grants sealed with OLD, one with NEW; pages of two, so the scan turns pages."""
    monkeypatch.setattr(oauth_grants, "_PAGE", 2)
    client = firestore.Client.from_environment(firestore_emulator.project)
    store = FirestoreGrantStore(client)
    for subject in SUBJECTS:
        store.put(subject, seal_grant(f"1//{subject}", subject, OLD), now=NOW)
    store.put("new@example.com", seal_grant("1//new", "new@example.com", NEW), now=NOW)
    return store


def _sealing_key_ids(store: FirestoreGrantStore) -> set[bytes]:
    return {grant.sealed[1:5] for grant in store.scan()}


def test_re_encrypt_moves_every_grant_to_the_new_key_and_a_rerun_changes_nothing(
    store: FirestoreGrantStore, capsys: pytest.CaptureFixture[str]
) -> None:
    code, report = _cli(capsys, NEW, OLD)

    assert code == 0
    assert report == {
        "resealed": 5,
        "current": 1,
        "changed": 0,
        "unreadable": 0,
        "unreadableDocuments": [],
        "done": True,
    }
    assert _sealing_key_ids(store) == {key_id(NEW)}
    for subject in SUBJECTS:  # the functions, once the old key is dropped, still read each one
        sealed = store.get(subject)
        assert sealed is not None
        assert open_grant(sealed, subject, (NEW,)) == f"1//{subject}"

    again, second = _cli(capsys, NEW, OLD)

    assert again == 0
    assert (second["resealed"], second["current"]) == (0, 6)


def test_before_the_switch_the_functions_read_both_keys(store: FirestoreGrantStore) -> None:
    keys = load_cli_config(_key_env(OLD, NEW)).oauth_token_keys
    assert keys is not None

    for subject in [*SUBJECTS, "new@example.com"]:
        sealed = store.get(subject)
        assert sealed is not None
        assert open_grant(sealed, subject, keys).startswith("1//")


def test_a_grant_stored_after_the_scan_read_it_is_not_overwritten(
    store: FirestoreGrantStore,
) -> None:
    [first, *_] = list(store.scan())
    replacement = seal_grant("1//replaced", first.subject, NEW)
    store.put(first.subject, replacement, now=NOW)  # `confsync grant` runs meanwhile

    written = store.replace(first, seal_grant("1//stale", first.subject, NEW), now=NOW)

    assert written is False
    assert store.get(first.subject) == replacement


def test_a_grant_deleted_after_the_scan_read_it_stays_deleted(store: FirestoreGrantStore) -> None:
    [first, *_] = list(store.scan())
    assert store.delete(first.subject)

    assert store.replace(first, seal_grant("1//x", first.subject, NEW), now=NOW) is False
    assert store.get(first.subject) is None


def test_an_unreadable_document_is_listed_kept_and_fails_the_run(
    store: FirestoreGrantStore,
    firestore_emulator: EmulatorEndpoints,
    capsys: pytest.CaptureFixture[str],
) -> None:
    client = firestore.Client.from_environment(firestore_emulator.project)
    client.collection(GRANTS_COLLECTION).document("og_not_a_grant").set({"grant": "text"})

    code, report = _cli(capsys, NEW, OLD)

    assert code == 1
    assert report["unreadableDocuments"] == ["og_not_a_grant"]
    assert report["resealed"] == 5
    doc = client.collection(GRANTS_COLLECTION).document("og_not_a_grant").get()
    assert doc.to_dict() == {"grant": "text"}
