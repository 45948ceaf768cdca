"""Google ID tokens verified with google-auth, against certificates fetched over HTTPS.

:func:`certs_fetcher` reads Google's certificate set (``GOOGLE_ID_TOKEN_CERTS_URL``: a JSON object
``{key id: X.509 PEM}``) with its ``Cache-Control`` max-age, for
:class:`~confsync.id_token_certs.CertsCache`; any failure (network, timeout, a status other than
200, a body that is not such an object) is :class:`~confsync.id_tokens.CertsUnavailableError`.

:class:`GoogleIdTokenVerifier` is the :class:`~confsync.id_tokens.IdTokenVerifier`: it reads the
token's header (``alg`` must be RS256, ``kid`` present), takes that key's certificate from the
cache, then lets ``google.auth.jwt.decode`` check the signature, ``iat`` and ``exp`` (with
:data:`~confsync.id_tokens.CLOCK_SKEW_S` of skew) and the audience. google-auth's messages can
quote the token, so they are never passed on: each failure becomes
:class:`~confsync.id_tokens.InvalidIdTokenError` with a fixed reason.

This module imports google-auth's JWT code; intake imports it only when the first
enrolment arrives, so the notification path's cold start does not pay for it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

import urllib3
from google.auth import exceptions as gexc
from google.auth import jwt

from confsync.id_token_certs import CertsCache, CertsFetcher, FetchedCerts, max_age_of
from confsync.id_tokens import CLOCK_SKEW_S, CertsUnavailableError, InvalidIdTokenError

__all__ = ["CERTS_TIMEOUT_S", "GoogleIdTokenVerifier", "certs_fetcher"]

CERTS_TIMEOUT_S = 5.0
_PEM_START = "-----BEGIN CERTIFICATE-----"
_ALGORITHM = "RS256"  # what Google signs ID tokens with; nothing else is accepted
_REASONS = (  # google-auth's message -> what the log says (never the message itself)
    ("expired", "the token has expired"),
    ("too early", "the token is not valid yet (iat in the future)"),
    ("audience", "the token's audience is not in CONFSYNC_ENROLL_AUDIENCES"),
    ("signature", "the token's signature does not verify"),
    ("required claim", "the token lacks iat or exp"),
)


def certs_fetcher(
    url: str, *, timeout: float = CERTS_TIMEOUT_S, pool: urllib3.PoolManager | None = None
) -> CertsFetcher:
    """Fetches the certificate set at ``url``: one GET per call, no retry (the cache decides
    when to try again)."""
    http = pool or urllib3.PoolManager(maxsize=1)

    def fetch() -> FetchedCerts:
        try:
            answer = http.request("GET", url, timeout=urllib3.Timeout(total=timeout), retries=False)
            body = json.loads(answer.data) if answer.status == 200 else None
        except (urllib3.exceptions.HTTPError, ValueError) as err:
            raise CertsUnavailableError(f"fetching {url} failed: {type(err).__name__}") from err
        if answer.status != 200:
            raise CertsUnavailableError(f"fetching {url} answered {answer.status}")
        if (
            not isinstance(body, dict)
            or not body
            or not all(
                isinstance(kid, str) and isinstance(pem, str) and pem.startswith(_PEM_START)
                for kid, pem in body.items()
            )
        ):
            raise CertsUnavailableError(f"{url} did not answer a {{key id: certificate}} object")
        return FetchedCerts(body, max_age_of(answer.headers.get("Cache-Control")))

    return fetch


class GoogleIdTokenVerifier:
    """The :class:`~confsync.id_tokens.IdTokenVerifier` of Google ID tokens for the given
    audiences (the add-ons' OAuth client ids)."""

    def __init__(
        self, certs: CertsCache, audiences: frozenset[str], *, clock_skew_s: int = CLOCK_SKEW_S
    ) -> None:
        if not audiences:
            raise ValueError("an ID token verifier needs at least one accepted audience")
        self._certs = certs
        self._audiences = sorted(audiences)
        self._clock_skew_s = clock_skew_s

    def verify(self, token: str) -> Mapping[str, object]:
        """The claims of a genuine, current token of an accepted audience (see the module)."""
        try:
            header = jwt.decode_header(token)  # type: ignore[no-untyped-call]
        except (ValueError, TypeError, gexc.GoogleAuthError) as err:
            raise InvalidIdTokenError("the token is not a well-formed JWT") from err
        if header.get("alg") != _ALGORITHM:
            raise InvalidIdTokenError("the token is not signed with RS256")
        key_id = header.get("kid")
        if not isinstance(key_id, str) or not key_id:
            raise InvalidIdTokenError("the token names no key id")
        certificate = self._certs.certificate(key_id)
        try:
            claims = jwt.decode(  # type: ignore[no-untyped-call]
                token,
                certs={key_id: certificate},
                audience=self._audiences,
                clock_skew_in_seconds=self._clock_skew_s,
            )
        except (ValueError, TypeError, gexc.GoogleAuthError) as err:
            raise InvalidIdTokenError(_reason(err)) from err
        return dict(claims)


def _reason(err: Exception) -> str:
    """A fixed description of why google-auth refused a token."""
    message = str(err).lower()
    for needle, reason in _REASONS:
        if needle in message:
            return reason
    return "the token does not verify"
