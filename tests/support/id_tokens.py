"""Google-shaped ID tokens for the enrolment tests, signed with a key the test holds (the Google
auth stand-in's ``state.id_token_key``, or a key of the test's own to forge with)."""

from __future__ import annotations

import time
from typing import Any

from google_auth_emulator.jwts import SigningKey, sign

__all__ = ["ADDON_AUDIENCE", "GOOGLE_ISSUER", "certs_of", "claims", "mint"]

ADDON_AUDIENCE = "1234567890-addon.apps.googleusercontent.com"
GOOGLE_ISSUER = "https://accounts.google.com"


def claims(email: str = "alice@example.com", **overrides: Any) -> dict[str, Any]:
    """The claims Google puts in a Workspace user's ID token for the add-on, valid for an hour
    from now; ``overrides`` replace (or, given None, remove) any of them."""
    now = int(time.time())
    found: dict[str, Any] = {
        "iss": GOOGLE_ISSUER,
        "azp": ADDON_AUDIENCE,
        "aud": ADDON_AUDIENCE,
        "sub": "110169484474386276334",
        "hd": email.rpartition("@")[2],
        "email": email,
        "email_verified": True,
        "iat": now,
        "exp": now + 3600,
    }
    found.update(overrides)
    return {name: value for name, value in found.items() if value is not None}


def mint(key: SigningKey, email: str = "alice@example.com", **overrides: Any) -> str:
    """An RS256 ID token signed with ``key`` (naming its key id) over :func:`claims`."""
    return sign(key, claims(email, **overrides))


def certs_of(*keys: SigningKey) -> dict[str, str]:
    """``{kid: certificate PEM}`` of ``keys``, as Google's ``/oauth2/v1/certs`` publishes them."""
    return {key.key_id: key.certificate_pem(time.time()) for key in keys}
