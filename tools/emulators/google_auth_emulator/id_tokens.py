"""ID tokens on request: what ``POST /emulator/v1/id-tokens`` reads and the claims it signs.

Google gives an add-on the OpenID Connect ID token of its user (``ScriptApp.getIdentityToken()``);
locally a test or the demo asks the stand-in for one instead. The token is signed with the same
key as the ID tokens of refreshes, whose certificates ``/oauth2/v1/certs`` publishes, so
google-auth verifies it exactly as it verifies Google's.

=====================  ========================================================================
body field             meaning
=====================  ========================================================================
``email``              required: the user; ``sub`` is their stable numeric id (``user_id_of``)
``audience``           required: ``aud`` and ``azp`` (the add-on's OAuth client id)
``emailVerified``      ``email_verified`` (default true)
``hd``                 absent: the e-mail's domain, none for gmail.com / googlemail.com;
                       ``null``: none; a string: that value
``expiresInSeconds``   test knob: ``exp`` is now plus this (default 3600); a negative value makes
                       a token that has already expired (``iat`` then one hour before ``exp``)
``issuer``             test knob: ``iss`` (default ``https://accounts.google.com``)
=====================  ========================================================================

Any other field, or a field of the wrong type, is refused (:class:`~.errors.ServiceError`, 400)
and nothing is signed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from .errors import ServiceError
from .state import user_id_of

__all__ = [
    "CONSUMER_DOMAINS",
    "DEFAULT_ISSUER",
    "DEFAULT_LIFETIME_S",
    "MAX_LIFETIME_S",
    "IdTokenRequest",
    "parse_id_token_request",
]

DEFAULT_ISSUER: Final = "https://accounts.google.com"
DEFAULT_LIFETIME_S: Final = 3600
MAX_LIFETIME_S: Final = 24 * 3600
"""Longest ``expiresInSeconds`` accepted (Google's ID tokens live one hour)."""
MIN_LIFETIME_S: Final = -366 * 24 * 3600
CONSUMER_DOMAINS: Final = frozenset({"gmail.com", "googlemail.com"})
"""Domains of consumer Google accounts, whose ID tokens carry no ``hd``."""
_FIELDS: Final = frozenset(
    {"email", "audience", "emailVerified", "hd", "expiresInSeconds", "issuer"}
)
_MAX_TEXT: Final = 1024


def _refuse(message: str) -> ServiceError:
    return ServiceError.admin(400, message)


def _text(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value.strip():
        raise _refuse(f"{name} must be a non-empty string")
    if len(value) > _MAX_TEXT or value != value.strip():
        raise _refuse(f"{name} must be at most {_MAX_TEXT} characters, without spaces around it")
    return value


def _email(body: dict[str, Any]) -> str:
    email = _text(body, "email")
    local, at, domain = email.rpartition("@")
    if not at or not local or "." not in domain or any(c.isspace() for c in email):
        raise _refuse(f"email must be an address such as ada@example.com, not {email!r}")
    return email


def _hosted_domain(body: dict[str, Any], email: str) -> str | None:
    if "hd" not in body:
        domain = email.rpartition("@")[2].lower()
        return None if domain in CONSUMER_DOMAINS else domain
    if body["hd"] is None:
        return None
    return _text(body, "hd")


def _lifetime(body: dict[str, Any]) -> int:
    value = body.get("expiresInSeconds", DEFAULT_LIFETIME_S)
    if (
        not isinstance(value, int)
        or isinstance(value, bool)
        or not MIN_LIFETIME_S <= value <= MAX_LIFETIME_S
    ):
        raise _refuse(
            f"expiresInSeconds must be an integer from {MIN_LIFETIME_S} to {MAX_LIFETIME_S}"
        )
    return value


@dataclass(frozen=True)
class IdTokenRequest:
    """A checked request for an ID token."""

    email: str
    audience: str
    email_verified: bool = True
    hosted_domain: str | None = None
    lifetime_s: int = DEFAULT_LIFETIME_S
    issuer: str = DEFAULT_ISSUER

    def claims(self, now: int) -> dict[str, Any]:
        """The claim set, issued at ``now`` (Unix seconds) unless already expired then."""
        exp = now + self.lifetime_s
        iat = now if exp > now else exp - DEFAULT_LIFETIME_S
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "azp": self.audience,
            "aud": self.audience,
            "sub": user_id_of(self.email),
            "email": self.email,
            "email_verified": self.email_verified,
            "iat": iat,
            "exp": exp,
        }
        if self.hosted_domain is not None:
            claims["hd"] = self.hosted_domain
        return claims


def parse_id_token_request(body: Any) -> IdTokenRequest:
    """The request ``body`` (parsed JSON) asks for; ServiceError 400 naming what is wrong."""
    if not isinstance(body, dict):
        raise _refuse("the body must be a JSON object")
    unknown = sorted(set(body) - _FIELDS)
    if unknown:
        raise _refuse(
            f"unknown field(s) {', '.join(map(repr, unknown))}; known: {', '.join(sorted(_FIELDS))}"
        )
    email = _email(body)
    verified = body.get("emailVerified", True)
    if not isinstance(verified, bool):
        raise _refuse("emailVerified must be true or false")
    return IdTokenRequest(
        email=email,
        audience=_text(body, "audience"),
        email_verified=verified,
        hosted_domain=_hosted_domain(body, email),
        lifetime_s=_lifetime(body),
        issuer=_text(body, "issuer") if "issuer" in body else DEFAULT_ISSUER,
    )
