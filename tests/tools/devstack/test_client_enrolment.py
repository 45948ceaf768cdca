"""StackClient's enrolment helpers against in-process stand-ins: the ID token a user's add-on
would send (minted by the Google auth stand-in for the stack's audience) and a user who leaves
the Calendar emulator."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from google.auth.transport.requests import Request
from google.oauth2 import id_token

from calendar_emulator.server import EmulatorServer
from devstack.client import StackClient
from devstack.stack import LOCAL_ENROLL_AUDIENCE
from google_auth_emulator.server import GoogleAuthServer

ADA = "ada@example.com"


@pytest.fixture(name="auth")
def fixture_auth() -> Iterator[GoogleAuthServer]:
    with GoogleAuthServer(host="127.0.0.1", port=0) as server:
        yield server


@pytest.fixture(name="client")
def fixture_client(auth: GoogleAuthServer) -> Iterator[StackClient]:
    with EmulatorServer(host="127.0.0.1", port=0) as calendar:
        env = {
            "CALENDAR_EMULATOR_URL": calendar.base_url,
            "CONFERENCING_URL": "http://127.0.0.1:9",
            "PUBSUB_EMULATOR_HOST": "127.0.0.1:9",
            "PROJECT": "unused",
            "GOOGLE_AUTH_EMULATOR_URL": auth.base_url,
            "ENROLL_AUDIENCE": LOCAL_ENROLL_AUDIENCE,
        }
        yield StackClient(env)


def test_id_token_is_one_intake_would_verify_for_the_stacks_audience(
    client: StackClient, auth: GoogleAuthServer
) -> None:
    token = client.id_token(ADA)

    claims = id_token.verify_token(
        token, Request(), audience=LOCAL_ENROLL_AUDIENCE, certs_url=auth.certs_url
    )
    assert (claims["email"], claims["email_verified"], claims["hd"]) == (ADA, True, "example.com")


def test_id_token_passes_the_stand_ins_knobs_on(
    client: StackClient, auth: GoogleAuthServer
) -> None:
    token = client.id_token(ADA, audience="other.apps.example", emailVerified=False)

    claims = id_token.verify_token(
        token, Request(), audience="other.apps.example", certs_url=auth.certs_url
    )
    assert claims["email_verified"] is False
    with pytest.raises(requests.HTTPError):
        client.id_token(ADA, expiresInSeconds="soon")


def test_id_token_needs_the_auth_stand_in() -> None:
    env = {"CALENDAR_EMULATOR_URL": "http://127.0.0.1:9", "CONFERENCING_URL": "http://127.0.0.1:9"}
    client = StackClient({**env, "PUBSUB_EMULATOR_HOST": "127.0.0.1:9", "PROJECT": "p"})

    with pytest.raises(RuntimeError, match="GOOGLE_AUTH_EMULATOR_URL"):
        client.id_token(ADA)


def test_a_removed_user_is_refused_until_undeleted(client: StackClient) -> None:
    client.list_events(ADA)

    assert client.remove_user(ADA)["status"] == "deleted"
    with pytest.raises(requests.HTTPError) as caught:
        client.list_events(ADA)
    assert caught.value.response.status_code == 401

    assert client.remove_user(ADA, "undelete")["status"] == "active"
    assert client.list_events(ADA) == []
