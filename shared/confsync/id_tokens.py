"""Google ID tokens as ``POST /v1/enroll`` accepts them: the verifier port, its errors, and the
checks on a verified token's claims that decide who may be enrolled.

A verifier (:class:`IdTokenVerifier`; the real one is
:class:`confsync.adapters.google_id_tokens.GoogleIdTokenVerifier`) proves a token genuine: its
RS256 signature against Google's published certificates, its expiry and issue time (with
:data:`CLOCK_SKEW_S` of skew allowed) and its audience. :func:`enrollable_user` then checks, purely,
what the claims say about the user. The first failure answers:

=====================================================================  ======  ============
token                                                                  status  error
=====================================================================  ======  ============
not a JWT, not RS256, no key id, bad signature, key id not published,  401     invalid
expired, not yet valid, audience not accepted
issuer neither ``https://accounts.google.com`` nor                     401     invalid
``accounts.google.com``
no ``email`` claim (the add-on lacks the ``userinfo.email`` scope)     403     refused
``email_verified`` not true                                            403     refused
``email`` not a plain address (:func:`~confsync.domains.email_problem`)  403     refused
allow-list names domains, and no ``hd`` claim                          403     refused
allow-list names domains, and ``hd`` or the address's domain is not    403     refused
one of them
the certificates cannot be fetched                                     503     unavailable
=====================================================================  ======  ============

invalid is :class:`InvalidIdTokenError`, refused :class:`UserRefusedError`, unavailable
:class:`CertsUnavailableError`.

The domain rule: when ``CONFSYNC_ALLOWED_DOMAINS`` names domains, the token must carry an ``hd``
(hosted domain) claim, which Google puts only in tokens of Google Workspace accounts, and both
``hd`` and the domain of ``email`` must be on the list. The address alone is not enough: anyone
can create a consumer Google account for an address at example.com, and verify it, without
belonging to example.com's Workspace; only ``hd`` says the account is one the domain's
administrator manages (and, through domain-wide delegation, one confsync may act as). With ``*``
any verified account is accepted and ``hd`` is not required. Error messages never quote the token
or the e-mail address.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from confsync.domains import DomainAllowList, domain_of, email_problem
from confsync.errors import TransientError

__all__ = [
    "CLOCK_SKEW_S",
    "GOOGLE_ISSUERS",
    "CertsUnavailableError",
    "IdTokenVerifier",
    "InvalidIdTokenError",
    "UserRefusedError",
    "VerifiedUser",
    "enrollable_user",
]

GOOGLE_ISSUERS = frozenset({"https://accounts.google.com", "accounts.google.com"})
"""The ``iss`` values of Google's ID tokens (Google's OpenID Connect guide names both)."""
CLOCK_SKEW_S = 60
"""Seconds a token's ``iat`` may lie in the future and its ``exp`` in the past."""


class InvalidIdTokenError(Exception):
    """The token is not a genuine, current Google ID token for an accepted audience (401)."""


class UserRefusedError(Exception):
    """The token is genuine, but its user may not be enrolled (403)."""


class CertsUnavailableError(TransientError):
    """Google's certificates could not be had, so no token can be checked now (503): the token
    may well be genuine."""


class IdTokenVerifier(Protocol):
    """Proves ID tokens genuine."""

    def verify(self, token: str) -> Mapping[str, object]:
        """The claims of ``token`` once its signature, times and audience check out;
        :class:`InvalidIdTokenError` if not, :class:`CertsUnavailableError` when that cannot be
        told."""
        ...


@dataclass(frozen=True, slots=True)
class VerifiedUser:
    """Who a genuine token speaks for: the address (lower case) and the Workspace domain, if
    the token named one."""

    email: str
    hosted_domain: str | None


def enrollable_user(claims: Mapping[str, object], allowed: DomainAllowList) -> VerifiedUser:
    """The user of a verified token's ``claims`` if they may be enrolled (see the table)."""
    if claims.get("iss") not in GOOGLE_ISSUERS:
        raise InvalidIdTokenError("the token was not issued by Google (iss)")
    email = claims.get("email")
    if not isinstance(email, str) or not email:
        raise UserRefusedError(
            "the token carries no e-mail address (userinfo.email scope missing?)"
        )
    verified = claims.get("email_verified")
    if verified is not True and verified != "true":
        raise UserRefusedError("the e-mail address is not verified")
    problem = email_problem(email)
    if problem is not None:
        raise UserRefusedError(f"the e-mail address is refused: {problem}")
    hosted = claims.get("hd")
    hosted_domain = hosted.strip().lower() if isinstance(hosted, str) and hosted.strip() else None
    if not allowed.any_domain:
        if hosted_domain is None:
            raise UserRefusedError("not a Google Workspace account (no hd claim)")
        if hosted_domain not in allowed.domains:
            raise UserRefusedError(
                f"Workspace domain {hosted_domain[:80]} is not in CONFSYNC_ALLOWED_DOMAINS"
            )
        if not allowed.allows(email):
            raise UserRefusedError(f"domain {domain_of(email)} is not in CONFSYNC_ALLOWED_DOMAINS")
    return VerifiedUser(email.lower(), hosted_domain)
