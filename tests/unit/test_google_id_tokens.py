"""The ID token verifier and its certificate cache, with real RSA keys signing real tokens: only a
genuine, current token of an accepted audience verifies, and certificates are fetched once per
max-age, never once per (forged) token."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Mapping

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from confsync.adapters.google_id_tokens import GoogleIdTokenVerifier
from confsync.domains import parse_allowed_domains
from confsync.enroll_intake import EnrollIntakeService
from confsync.id_token_certs import (
    FAILURE_RETRY_S,
    MAX_MAX_AGE_S,
    MIN_MAX_AGE_S,
    UNKNOWN_KEY_REFETCH_S,
    CertsCache,
    FetchedCerts,
    max_age_of,
)
from confsync.id_tokens import CertsUnavailableError, InvalidIdTokenError
from confsync.testing.fakes import RecordingCommandPublisher
from google_auth_emulator.jwts import SigningKey, b64url
from tests.support.id_tokens import ADDON_AUDIENCE, certs_of, claims, mint

GOOGLE_KEY = SigningKey.generate("google-key-1")
ROTATED_KEY = SigningKey.generate("google-key-2")
FORGER_KEY = SigningKey.generate("google-key-1")  # claims Google's key id, signs with its own
AUDIENCES = frozenset({ADDON_AUDIENCE, "other-addon.apps.googleusercontent.com"})


class Certs:
    """Google's certificate endpoint: counts fetches, serves ``keys`` with ``max_age``."""

    def __init__(self, *keys: SigningKey, max_age: float | None = 21600.0) -> None:
        self.certs: Mapping[str, str] = certs_of(*keys)
        self.max_age = max_age
        self.down = False
        self.fetches = 0

    def __call__(self) -> FetchedCerts:
        self.fetches += 1
        if self.down:
            raise CertsUnavailableError("fetching the certificates failed: ConnectTimeoutError")
        return FetchedCerts(self.certs, self.max_age)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _verifier(certs: Certs, clock: Clock | None = None) -> GoogleIdTokenVerifier:
    return GoogleIdTokenVerifier(CertsCache(certs, clock or Clock()), AUDIENCES)


def _refusal(verifier: GoogleIdTokenVerifier, token: str) -> str:
    with pytest.raises(InvalidIdTokenError) as caught:
        verifier.verify(token)
    return str(caught.value)


def _unsigned(header: dict[str, object], body: dict[str, object]) -> str:
    parts = [b64url(json.dumps(part).encode()) for part in (header, body)]
    return ".".join([*parts, b64url(b"not a signature")])


# --- the verifier ----------------------------------------------------------------------------


def test_a_genuine_token_verifies_and_gives_its_claims() -> None:
    verifier = _verifier(Certs(GOOGLE_KEY))

    found = verifier.verify(mint(GOOGLE_KEY))

    assert found["email"] == "alice@example.com"
    assert found["aud"] == ADDON_AUDIENCE
    assert found["hd"] == "example.com"


def test_a_token_for_any_of_the_audiences_verifies() -> None:
    verifier = _verifier(Certs(GOOGLE_KEY))
    other = "other-addon.apps.googleusercontent.com"

    assert verifier.verify(mint(GOOGLE_KEY, aud=other))["aud"] == other


def test_a_token_signed_by_another_key_under_googles_key_id_is_refused() -> None:
    verifier = _verifier(Certs(GOOGLE_KEY))

    assert _refusal(verifier, mint(FORGER_KEY)) == "the token's signature does not verify"


def test_a_token_whose_claims_were_altered_after_signing_is_refused() -> None:
    verifier = _verifier(Certs(GOOGLE_KEY))
    header, _, signature = mint(GOOGLE_KEY).split(".")
    altered = b64url(json.dumps(claims("mallory@example.com")).encode())

    assert _refusal(verifier, f"{header}.{altered}.{signature}") == (
        "the token's signature does not verify"
    )


def test_an_expired_token_is_refused_beyond_the_allowed_skew() -> None:
    verifier = _verifier(Certs(GOOGLE_KEY))
    now = int(time.time())

    late = mint(GOOGLE_KEY, iat=now - 3700, exp=now - 30)  # within the 60 s of skew
    expired = mint(GOOGLE_KEY, iat=now - 3800, exp=now - 200)

    assert verifier.verify(late)["email"] == "alice@example.com"
    assert _refusal(verifier, expired) == "the token has expired"


def test_a_token_issued_in_the_future_is_refused() -> None:
    verifier = _verifier(Certs(GOOGLE_KEY))
    now = int(time.time())

    early = mint(GOOGLE_KEY, iat=now + 600, exp=now + 4200)

    assert _refusal(verifier, early) == "the token is not valid yet (iat in the future)"


def test_a_token_for_another_audience_is_refused() -> None:
    verifier = _verifier(Certs(GOOGLE_KEY))

    refused = mint(GOOGLE_KEY, aud="someone-else.apps.googleusercontent.com")

    assert _refusal(verifier, refused) == (
        "the token's audience is not in CONFSYNC_ENROLL_AUDIENCES"
    )


def test_a_token_without_times_is_refused() -> None:
    verifier = _verifier(Certs(GOOGLE_KEY))

    assert _refusal(verifier, mint(GOOGLE_KEY, exp=None)) == "the token lacks iat or exp"


@pytest.mark.parametrize(
    ("header", "why"),
    [
        ({"alg": "none", "kid": "google-key-1"}, "not signed with RS256"),
        ({"alg": "HS256", "kid": "google-key-1"}, "not signed with RS256"),
        ({"alg": "ES256", "kid": "google-key-1"}, "not signed with RS256"),
        ({"alg": "RS256"}, "names no key id"),
        ({"alg": "RS256", "kid": 7}, "names no key id"),
    ],
)
def test_a_token_not_signed_as_google_signs_is_refused_without_a_fetch(
    header: dict[str, object], why: str
) -> None:
    certs = Certs(GOOGLE_KEY)
    verifier = _verifier(certs)

    assert why in _refusal(verifier, _unsigned(header, claims()))
    assert certs.fetches == 0


@pytest.mark.parametrize(
    "token",
    ["", "a.b.c", "...", "e30.e30.", "bm90IGpzb24.e30.c2ln", "W10.e30.c2ln", "e30.W10.c2ln"],
)
def test_a_malformed_token_is_refused(token: str) -> None:
    certs = Certs(GOOGLE_KEY)

    assert _refusal(_verifier(certs), token)
    assert certs.fetches == 0


def test_a_verifier_needs_an_audience() -> None:
    with pytest.raises(ValueError, match="audience"):
        GoogleIdTokenVerifier(CertsCache(Certs(GOOGLE_KEY)), frozenset())


def test_no_refusal_quotes_the_token() -> None:
    verifier = _verifier(Certs(GOOGLE_KEY))
    payload = base64.urlsafe_b64encode(b"secret-payload-text").decode().rstrip("=")
    tokens = [f"e30.{payload}.c2ln", f"{payload}.{payload}", mint(FORGER_KEY)]

    for token in tokens:
        reason = _refusal(verifier, token)
        assert "secret" not in reason
        assert payload not in reason
        assert token not in reason


# --- the certificate cache -------------------------------------------------------------------


def test_many_tokens_cost_one_fetch() -> None:
    certs = Certs(GOOGLE_KEY)
    verifier = _verifier(certs)

    for n in range(50):
        verifier.verify(mint(GOOGLE_KEY, f"user{n}@example.com"))

    assert certs.fetches == 1


def test_a_flood_of_forged_key_ids_costs_at_most_one_fetch_a_minute() -> None:
    certs = Certs(GOOGLE_KEY)
    clock = Clock()
    verifier = _verifier(certs, clock)
    verifier.verify(mint(GOOGLE_KEY))

    for n in range(200):
        clock.now += 0.25  # 50 seconds in all
        _refusal(verifier, mint(SigningKey(f"forged-{n}", FORGER_KEY.private_key)))

    assert certs.fetches == 1  # the first fetch was less than a minute before
    clock.now += UNKNOWN_KEY_REFETCH_S
    for n in range(200):
        _refusal(verifier, mint(SigningKey(f"forged-again-{n}", FORGER_KEY.private_key)))
    assert certs.fetches == 2


def test_a_rotated_key_is_fetched_once_it_is_published() -> None:
    certs = Certs(GOOGLE_KEY)
    clock = Clock()
    verifier = _verifier(certs, clock)
    verifier.verify(mint(GOOGLE_KEY))

    certs.certs = certs_of(GOOGLE_KEY, ROTATED_KEY)
    clock.now += UNKNOWN_KEY_REFETCH_S

    assert verifier.verify(mint(ROTATED_KEY))["email"] == "alice@example.com"
    assert certs.fetches == 2


def test_the_certificates_are_kept_for_their_max_age() -> None:
    certs = Certs(GOOGLE_KEY, max_age=3600)
    clock = Clock()
    verifier = _verifier(certs, clock)
    verifier.verify(mint(GOOGLE_KEY))

    clock.now += 3599
    verifier.verify(mint(GOOGLE_KEY))
    assert certs.fetches == 1
    clock.now += 1
    verifier.verify(mint(GOOGLE_KEY))
    assert certs.fetches == 2


def test_a_key_google_stopped_publishing_is_refused_after_the_max_age() -> None:
    certs = Certs(GOOGLE_KEY, max_age=3600)
    clock = Clock()
    verifier = _verifier(certs, clock)
    verifier.verify(mint(GOOGLE_KEY))

    certs.certs = certs_of(ROTATED_KEY)
    clock.now += 3600

    assert "key id" in _refusal(verifier, mint(GOOGLE_KEY))


@pytest.mark.parametrize(
    ("max_age", "kept"),
    [
        (None, MIN_MAX_AGE_S),
        (0.0, MIN_MAX_AGE_S),
        (10.0, MIN_MAX_AGE_S),
        (86400.0 * 30, MAX_MAX_AGE_S),
    ],
)
def test_the_max_age_is_kept_within_bounds(max_age: float | None, kept: float) -> None:
    certs = Certs(GOOGLE_KEY, max_age=max_age)
    clock = Clock()
    cache = CertsCache(certs, clock)
    cache.certificate(GOOGLE_KEY.key_id)

    clock.now += kept - 1
    cache.certificate(GOOGLE_KEY.key_id)
    assert certs.fetches == 1
    clock.now += 1
    cache.certificate(GOOGLE_KEY.key_id)
    assert certs.fetches == 2


def test_certificates_that_cannot_be_fetched_are_retried_only_after_a_pause() -> None:
    certs = Certs(GOOGLE_KEY)
    certs.down = True
    clock = Clock()
    cache = CertsCache(certs, clock)

    for _ in range(100):
        with pytest.raises(CertsUnavailableError):
            cache.certificate(GOOGLE_KEY.key_id)
    assert certs.fetches == 1
    certs.down = False
    clock.now += FAILURE_RETRY_S
    assert cache.certificate(GOOGLE_KEY.key_id) == certs.certs[GOOGLE_KEY.key_id]
    assert certs.fetches == 2


def test_a_failed_refetch_for_an_unknown_key_keeps_the_fresh_certificates() -> None:
    certs = Certs(GOOGLE_KEY)
    clock = Clock()
    cache = CertsCache(certs, clock)
    cache.certificate(GOOGLE_KEY.key_id)

    certs.down = True
    clock.now += UNKNOWN_KEY_REFETCH_S
    with pytest.raises(CertsUnavailableError):
        cache.certificate(ROTATED_KEY.key_id)  # may be genuine: 503, not 401

    assert cache.certificate(GOOGLE_KEY.key_id) == certs.certs[GOOGLE_KEY.key_id]
    assert certs.fetches == 2


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("public, max-age=19204, must-revalidate, no-transform", 19204.0),
        ("max-age=0", 0.0),
        ("MAX-AGE = 60", 60.0),
        ('max-age="120"', 120.0),
        ("private", None),
        ("no-store", None),
        ("no-cache, max-age=600", None),
        ("s-maxage=600", None),
        ("max-age=-5", None),
        ("max-age=abc", None),
        ("", None),
        (None, None),
    ],
)
def test_max_age_is_read_from_cache_control(header: str | None, seconds: float | None) -> None:
    assert max_age_of(header) == seconds


@settings(max_examples=200)
@given(st.text(max_size=80))
def test_any_cache_control_header_reads_as_a_max_age_or_none(header: str) -> None:
    found = max_age_of(header)

    assert found is None or found >= 0


# --- the service with the real verifier -------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=400))
@example(f"Bearer {mint(FORGER_KEY)}")
@example("Bearer " + ".".join([b64url(b'{"alg":"RS256","kid":"google-key-1"}'), "e30", "c2ln"]))
@example("Bearer e30.e30.e30")
def test_no_authorization_header_but_a_genuine_token_publishes(authorization: str) -> None:
    publisher = RecordingCommandPublisher()
    certs = Certs(GOOGLE_KEY)
    service = EnrollIntakeService(
        publisher=publisher,
        verifier=_verifier(certs),
        allowed_domains=parse_allowed_domains("example.com"),
        max_body_bytes=4096,
    )

    answer = service.handle("POST", {"Authorization": authorization}, b"")

    assert answer.status == 401
    assert publisher.published == []
    assert certs.fetches <= 1
