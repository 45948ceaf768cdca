"""google-auth credentials of the runtime service account, from the metadata server, without
google-auth's compute-engine module.

On Cloud Functions ``google.auth.default()`` answers compute-engine credentials, whose module
imports google-auth's JWT, service-account and crypto modules (``cryptography``): about 0.1 s of
the first request of a function that acts through domain-wide delegation, which needs only the
token to call IAM ``signJwt``. :class:`MetadataCredentials` fetches that token as they do (one GET
on the metadata server) through the transport google-auth hands to ``refresh``. Intake, which
needs no credentials object at all, uses :mod:`confsync.adapters.metadata_token` instead.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from google.auth.credentials import Credentials
from google.auth.exceptions import TransportError
from google.auth.transport import Request

from confsync.adapters.metadata_token import METADATA_TOKEN_URL, TOKEN_TIMEOUT_S, refused, token_of

__all__ = ["MetadataCredentials"]


class MetadataCredentials(Credentials):
    """google-auth credentials of the runtime service account, refreshed from the metadata
    server through the transport google-auth hands to ``refresh`` (what ``google.auth.default()``
    answers on Cloud Functions, without its compute-engine module and the JWT and crypto modules
    that module imports). Refresh failures are retryable: an unreachable or failing metadata
    server says nothing about any user."""

    def __init__(self, token_url: str = METADATA_TOKEN_URL) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._token_url = token_url

    def refresh(self, request: Request) -> None:
        try:
            answer = request(
                url=self._token_url,
                method="GET",
                headers={"Metadata-Flavor": "Google"},
                timeout=TOKEN_TIMEOUT_S,
            )
        except TransportError as err:
            raise refused(f"metadata server unreachable: {err}") from err
        raw = answer.data
        self.token, lifetime = token_of(
            answer.status, raw if isinstance(raw, bytes) else raw.encode()
        )
        # google-auth keeps expiry as a naive UTC time
        self.expiry = (datetime.now(UTC) + timedelta(seconds=lifetime)).replace(tzinfo=None)
