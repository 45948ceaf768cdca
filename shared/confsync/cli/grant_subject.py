"""Whose refresh token is it? ``confsync grant`` asks Google before it stores one.

A refresh token pasted for the wrong user would make confsync read another person's calendar as
the subject's and act on it, so :func:`check_grant_subject` redeems the token once at the token
endpoint the functions use (``GOOGLE_TOKEN_URL``), as ``CONFSYNC_OAUTH_CLIENT_ID``, asking for
:func:`grant_scopes`: ``openid email`` and the Calendar scope. Google answers an OpenID Connect
ID token for a grant that includes ``openid``; its ``email`` must be the subject
(case-insensitively) and ``email_verified`` true, its ``aud`` the OAuth client id and its ``iss``
Google's. The ID token comes straight from the token endpoint over TLS in answer to this request,
so its signature is not verified (OpenID Connect Core 3.1.3.7, item 6; the decision record
docs/decisions/2026-12-03-oauth-grant-subject.md). The access token of that answer is dropped.

Every refusal is a :class:`GrantCheckError` whose message is one line that never holds the
token; the caller stores nothing then. Its ``exit_code`` is 2 when the token or the
configuration is wrong, 1 when the token endpoint could not answer (try again).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from confsync.config import CliConfig
from confsync.errors import ConfsyncError
from confsync.grant_crypto import normalize_subject

if TYPE_CHECKING:
    from google.auth.transport import Request

__all__ = [
    "GOOGLE_ISSUERS",
    "IDENTITY_SCOPES",
    "GrantCheckError",
    "Redeem",
    "TokenAnswer",
    "check_grant_subject",
    "grant_owner",
    "grant_scopes",
    "id_token_claims",
    "redeem_refresh_token",
]

IDENTITY_SCOPES: tuple[str, ...] = ("openid", "email")
"""The scopes that make Google say whose a grant is: an ID token (``openid``) with the user's
address (``email``)."""

GOOGLE_ISSUERS = frozenset({"https://accounts.google.com", "accounts.google.com"})
"""The ``iss`` values of Google's ID tokens (Google's OpenID Connect guide)."""

TOKEN_TIMEOUT_S = 30.0


def grant_scopes() -> tuple[str, ...]:
    """What a grant must include and what the check asks for: ``openid email`` and the functions'
    Calendar scope (which the functions alone keep asking for when they refresh)."""
    from confsync.adapters.google_credentials import CALENDAR_SCOPES  # noqa: PLC0415

    return (*IDENTITY_SCOPES, *CALENDAR_SCOPES)


class GrantCheckError(ConfsyncError):
    """The refresh token is refused: nothing is stored. ``exit_code``: 2 the token or the
    configuration is wrong, 1 the token endpoint could not answer."""

    def __init__(self, message: str, *, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass(frozen=True, slots=True)
class TokenAnswer:
    """What the token endpoint answered the refresh: its ``id_token`` (None: none came), the
    access token's scopes (None: the answer did not say), and whether it refused the scopes
    asked for (``invalid_scope``: the grant lacks one of them)."""

    id_token: str | None
    scopes: frozenset[str] | None
    scope_refused: bool = False


Redeem = Callable[[str, CliConfig], TokenAnswer]
"""Redeems a refresh token at the configured token endpoint, asking for :func:`grant_scopes`."""


def _reconsent(subject: str, what: str) -> GrantCheckError:
    return GrantCheckError(
        f"{what}; nothing stored: {subject} must grant access again, consenting to "
        f"{' '.join(grant_scopes())} (the add-on's OAuth consent screen must ask for all of them)"
    )


# --- the token endpoint (google-auth, as the functions refresh) ----------------------------------


def _refused(error: Exception, *, retryable: bool) -> GrantCheckError:
    """The GrantCheckError of a failed refresh (google-auth's RefreshError or TransportError)."""
    answer = error.args[1] if len(error.args) > 1 and isinstance(error.args[1], dict) else {}
    code = str(answer.get("error") or "")
    said = " ".join(str(error.args[0] if error.args else type(error).__name__).split())
    if retryable:
        return GrantCheckError(
            f"the token endpoint could not check the refresh token ({said}); nothing stored, "
            "try again",
            exit_code=1,
        )
    if code == "invalid_grant":
        return GrantCheckError(
            f"the token endpoint refused the refresh token ({said}): it is revoked, expired, "
            "mistyped or not issued to CONFSYNC_OAUTH_CLIENT_ID; nothing stored"
        )
    if code in ("invalid_client", "unauthorized_client"):
        return GrantCheckError(
            f"the token endpoint refused the OAuth client ({said}): check "
            "CONFSYNC_OAUTH_CLIENT_ID and CONFSYNC_OAUTH_CLIENT_SECRET; nothing stored"
        )
    return GrantCheckError(f"the token endpoint refused the refresh token ({said}); nothing stored")


def redeem_refresh_token(
    refresh_token: str, config: CliConfig, request: Request | None = None
) -> TokenAnswer:
    """Refresh once at ``config.token_url`` with google-auth, asking for :func:`grant_scopes`;
    ``invalid_scope`` (a scope not granted) answers ``scope_refused``. ``request``: the
    google-auth transport (default: urllib3, :data:`TOKEN_TIMEOUT_S`)."""
    import urllib3  # noqa: PLC0415
    from google.auth.exceptions import RefreshError, TransportError  # noqa: PLC0415
    from google.auth.transport.urllib3 import Request as Urllib3Request  # noqa: PLC0415
    from google.oauth2.credentials import Credentials  # noqa: PLC0415

    user = Credentials(  # type: ignore[no-untyped-call]
        token=None,
        refresh_token=refresh_token,
        client_id=config.oauth_client_id,
        client_secret=config.oauth_client_secret,
        token_uri=config.token_url,
        scopes=list(grant_scopes()),
    )
    http = urllib3.PoolManager(timeout=urllib3.Timeout(total=TOKEN_TIMEOUT_S))
    try:
        user.refresh(request or Urllib3Request(http))  # type: ignore[no-untyped-call]
    except RefreshError as err:
        answer = err.args[1] if len(err.args) > 1 and isinstance(err.args[1], dict) else {}
        if answer.get("error") == "invalid_scope":
            return TokenAnswer(id_token=None, scopes=None, scope_refused=True)
        raise _refused(err, retryable=bool(err.retryable)) from None
    except TransportError as err:
        raise _refused(err, retryable=True) from None
    finally:
        http.clear()
    granted: list[str] | None = user.granted_scopes
    id_token: str | None = user.id_token
    return TokenAnswer(id_token, None if granted is None else frozenset(granted))


# --- the ID token --------------------------------------------------------------------------------


def id_token_claims(id_token: str) -> dict[str, Any]:
    """The claims of a compact JWT, not verified (it came straight from the token endpoint)."""
    parts = id_token.split(".")
    try:
        if len(parts) != 3:
            raise ValueError("not three segments")
        payload = parts[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        claims = None
    if not isinstance(claims, dict):
        raise GrantCheckError(
            "the token endpoint answered an ID token that is not a JWT; nothing stored",
            exit_code=1,
        )
    return claims


def _audiences(claims: Mapping[str, Any]) -> list[str]:
    aud = claims.get("aud")
    return [aud] if isinstance(aud, str) else [a for a in aud or [] if isinstance(a, str)]


def grant_owner(claims: Mapping[str, Any], client_id: str) -> tuple[str | None, bool]:
    """The address an ID token is about and whether Google verified it (OpenID Connect Core
    3.1.3.7: issued by Google, for this client); GrantCheckError when it is not Google's or not
    for ``client_id``. ``(None, False)`` when it holds no ``email`` (no ``email`` scope)."""
    issuer = claims.get("iss")
    if issuer not in GOOGLE_ISSUERS:
        raise GrantCheckError(
            f"the ID token was not issued by Google (iss {issuer!r}); nothing stored: "
            "GOOGLE_TOKEN_URL must be Google's token endpoint"
        )
    audiences = _audiences(claims)
    azp = claims.get("azp")
    if client_id not in audiences or (azp is not None and azp != client_id):
        raise GrantCheckError(
            f"the ID token is for another OAuth client ({', '.join(audiences) or 'none'}), not "
            "CONFSYNC_OAUTH_CLIENT_ID; nothing stored"
        )
    email = claims.get("email")
    if not isinstance(email, str) or not email:
        return None, False
    return normalize_subject(email), claims.get("email_verified") is True


def check_grant_subject(
    subject: str, refresh_token: str, config: CliConfig, redeem: Redeem = redeem_refresh_token
) -> str:
    """Check that ``refresh_token`` is ``subject``'s and covers :func:`grant_scopes`; answers
    the verified address. GrantCheckError otherwise (the caller stores nothing)."""
    if not (config.oauth_client_id and config.oauth_client_secret):
        raise GrantCheckError(
            "CONFSYNC_OAUTH_CLIENT_ID and CONFSYNC_OAUTH_CLIENT_SECRET are required to check "
            "whose refresh token it is"
        )
    answer = redeem(refresh_token, config)
    if answer.scope_refused:
        raise _reconsent(
            subject, "the refresh token was not granted every scope confsync needs (invalid_scope)"
        )
    missing = [s for s in grant_scopes() if answer.scopes is not None and s not in answer.scopes]
    if answer.id_token is None or missing:
        lacking = " ".join(missing) or " ".join(IDENTITY_SCOPES)
        raise _reconsent(subject, f"the refresh token was not granted {lacking}")
    email, verified = grant_owner(id_token_claims(answer.id_token), config.oauth_client_id)
    if email is None:
        raise _reconsent(subject, "the refresh token was not granted email")
    if email != normalize_subject(subject):
        raise GrantCheckError(
            f"the refresh token belongs to {email}, not {subject}; nothing stored"
        )
    if not verified:
        raise GrantCheckError(
            f"the refresh token belongs to {email}, an address Google has not verified; "
            "nothing stored"
        )
    return email
