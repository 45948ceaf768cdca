"""Enrolment end to end on the local stack: the add-on enrols its user with a Google ID token,
forged or foreign tokens enrol nobody, an operator enrols 200 users from a file, and a user removed
from the Workspace ends disconnected, then unenrolled after the retention.

ID tokens come from the Google auth stand-in (``POST /emulator/v1/id-tokens``), signed with the key
whose certificates intake fetches (``GOOGLE_ID_TOKEN_CERTS_URL``), as Google's are; forged ones are
signed here with a key of our own.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from google.auth import crypt, jwt

from tests.e2e.stack_steps import calendar_key_of, new_user
from tests.e2e.test_whole_stack import Stack, running_stack, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

RETENTION_S = 60  # the minimum CONFSYNC_DISCONNECTED_RETENTION_SECONDS accepts


@pytest.fixture(scope="module", name="stack")
def stack_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    # A tick sweeps calendars idle for 2 s (a fixed interval: floor and cap alike);
    # disconnected ones are unenrolled after a minute.
    with running_stack(
        tmp_path_factory.mktemp("stack"),
        "CONFSYNC_SWEEP_INTERVAL_SECONDS=2",
        "CONFSYNC_SWEEP_MAX_INTERVAL_SECONDS=2",
        f"CONFSYNC_DISCONNECTED_RETENTION_SECONDS={RETENTION_S}",
    ) as up:
        yield up


def mint(stack: Stack, email: str, **knobs: Any) -> str:
    """An ID token of ``email`` from the auth stand-in (for the stack's add-on audience unless
    ``audience`` says otherwise)."""
    verified = bool(knobs.pop("emailVerified", True))
    return stack.id_token(email, emailVerified=verified, **knobs)


def forged(stack: Stack, email: str) -> str:
    """A token with every claim right, signed by a key that is not Google's (the stand-in's key
    id, so only the signature betrays it)."""
    certs = requests.get(f"{stack.env['GOOGLE_AUTH_EMULATOR_URL']}/oauth2/v1/certs", timeout=10)
    [key_id, *_] = certs.json()
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    now = int(time.time())
    claims = {
        "iss": "https://accounts.google.com",
        "aud": stack.env["ENROLL_AUDIENCE"],
        "sub": "1" + uuid.uuid4().hex[:20],
        "email": email,
        "email_verified": True,
        "hd": email.rpartition("@")[2],
        "iat": now,
        "exp": now + 3600,
    }
    signer = crypt.RSASigner.from_string(pem.decode(), key_id=key_id)
    token: bytes = jwt.encode(signer, claims)
    return token.decode()


def enrol(
    stack: Stack, token: str | None, body: Any = None, *, method: str = "POST"
) -> requests.Response:
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    data = b"" if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    return requests.request(method, stack.env["ENROLL_URL"], headers=headers, data=data, timeout=10)


def row(stack: Stack, email: str) -> Mapping[str, Any] | None:
    """The user's own calendar in ``confsync status --json``, None when it was never enrolled."""
    done = stack.confsync("status", "--calendar-key", calendar_key_of(email), "--json")
    if done.returncode == 1 and "not enrolled" in done.stdout + done.stderr:
        return None
    assert done.returncode == 0, done.stdout + done.stderr
    rows = json.loads(done.stdout)["calendars"]
    return rows[0] if rows else None


def watched_and_synced(stack: Stack, email: str) -> bool:
    found = row(stack, email)
    return (
        found is not None
        and found["state"] == "active"
        and found["syncToken"] is True
        and len(stack.channels(email)) == 1
    )


def test_an_id_token_enrols_its_user_with_a_channel_and_a_sync_token_within_20_s(
    stack: Stack,
) -> None:
    alice = new_user("alice")

    answer = enrol(stack, mint(stack, alice), {"calendarId": "primary"})

    assert answer.status_code == 202, answer.text
    wait_for(lambda: watched_and_synced(stack, alice), "alice active and synced", timeout=20)
    again = enrol(stack, mint(stack, alice))  # the add-on asks again: nothing changes
    assert again.status_code == 202
    time.sleep(2)
    assert len(stack.channels(alice)) == 1


def test_every_bad_token_or_body_is_refused_and_enrols_nobody(stack: Stack) -> None:
    mallory = new_user("mallory")
    outsider = f"eve-{uuid.uuid4().hex[:8]}@other.test"
    victim = new_user("victim")
    cases: list[tuple[str, requests.Response, int]] = [
        ("no token", enrol(stack, None), 401),
        ("not a JWT", enrol(stack, "not-a-token"), 401),
        ("forged signature", enrol(stack, forged(stack, mallory)), 401),
        ("expired", enrol(stack, mint(stack, mallory, expiresInSeconds=-600)), 401),
        ("other audience", enrol(stack, mint(stack, mallory, audience="someone-else")), 401),
        ("other issuer", enrol(stack, mint(stack, mallory, issuer="https://evil.test")), 401),
        ("unverified e-mail", enrol(stack, mint(stack, mallory, emailVerified=False)), 403),
        ("other domain", enrol(stack, mint(stack, outsider)), 403),
        ("no Workspace domain", enrol(stack, mint(stack, mallory, hd=None)), 403),
        (
            "a body naming another subject",
            enrol(stack, mint(stack, mallory), {"subject": victim, "calendarId": victim}),
            400,
        ),
        ("a body that is not JSON", enrol(stack, mint(stack, mallory), b"{"), 400),
        ("an oversized body", enrol(stack, mint(stack, mallory), b"x" * 100_000), 413),
        ("GET", enrol(stack, mint(stack, mallory), method="GET"), 405),
    ]

    for what, answer, status in cases:
        assert answer.status_code == status, f"{what}: {answer.status_code} {answer.text}"
        assert mallory not in answer.text, what
        assert "eyJ" not in answer.text, what
    # a genuine enrolment sent after them is done; none of theirs was
    bob = new_user("bob")
    assert enrol(stack, mint(stack, bob)).status_code == 202
    wait_for(lambda: watched_and_synced(stack, bob), "bob enrolled")
    time.sleep(2)
    for user in (mallory, outsider, victim):
        assert row(stack, user) is None, user
        assert stack.channels(user) == []


def test_an_operator_enrols_200_users_from_a_file_and_a_rerun_finds_them_enrolled(
    stack: Stack, tmp_path: Path
) -> None:
    users = [new_user(f"bulk{n:03}") for n in range(200)]
    listing = tmp_path / "users.txt"
    listing.write_text("# a Workspace roll-out\n" + "".join(f"{u}\n" for u in users))

    first = stack.confsync("enroll", "--from-file", str(listing), "--wait", "240", "--json",
                           timeout=280)  # fmt: skip

    assert first.returncode == 0, first.stdout + first.stderr
    summary = json.loads(first.stdout)
    assert summary["enrolled"] == 200, summary
    assert summary["ready"] == 200, summary
    assert all(watched_and_synced(stack, u) for u in users[::20])
    second = stack.confsync("enroll", "--from-file", str(listing), "--json", timeout=120)
    assert second.returncode == 0, second.stdout + second.stderr
    again = json.loads(second.stdout)
    assert again["alreadyEnrolled"] == 200, again
    assert again["enrolled"] == 0


def test_a_removed_user_ends_disconnected_then_unenrolled_after_the_retention(
    stack: Stack,
) -> None:
    carol = new_user("carol")
    assert enrol(stack, mint(stack, carol)).status_code == 202
    wait_for(lambda: watched_and_synced(stack, carol), "carol enrolled")

    stack.remove_user(carol)  # the Workspace admin deletes carol

    def state() -> Mapping[str, Any]:
        stack.tick()  # the sweep finds the calendar gone
        found = row(stack, carol)
        assert found is not None
        return found

    wait_for(lambda: state()["state"] == "disconnected", "carol disconnected", timeout=60)
    disconnected = state()
    assert disconnected["lastOutcome"]  # the reason, e.g. the calendar answered 404
    assert disconnected["state"] == "disconnected"
    wait_for(lambda: state()["state"] == "unenrolled", "carol unenrolled", timeout=RETENTION_S + 60)
