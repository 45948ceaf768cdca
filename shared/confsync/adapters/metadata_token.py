"""Requests authorised with the runtime service account's access token, read from the metadata
server, without google-auth's credential classes.

On Cloud Functions, ``google.auth.default()`` finds the same token the same way (the metadata
server of the instance), but importing its compute-engine credentials also imports google-auth's
JWT, service-account and crypto modules (cryptography, asyncio): about 0.3 s, most of intake's
cold start once Pub/Sub is published to over REST. Intake needs nothing but the token, so
:class:`MetadataTokenHttp` fetches it with one GET, keeps it until a minute before it expires,
and fetches it again on a 401.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import urllib3
from google.auth.exceptions import RefreshError

__all__ = ["METADATA_TOKEN_URL", "TOKEN_TIMEOUT_S", "MetadataTokenHttp", "token_of"]

METADATA_TOKEN_URL = (
    "http://metadata.google.internal/computeMetadata/v1/instance/service-accounts/default/token"  # noqa: S105 - a URL
)
_EARLY_S = 60.0  # a token is replaced this long before it expires
TOKEN_TIMEOUT_S = 5.0


class MetadataTokenHttp:
    """urllib3's ``request`` over ``http``, each request carrying the service account's token.

    Thread-safe: concurrent requests share one token and fetch a new one once.
    """

    def __init__(
        self,
        http: Any,
        *,
        token_url: str = METADATA_TOKEN_URL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._http = http
        self._token_url = token_url
        self._clock = clock
        self._lock = threading.Lock()
        self._token: str | None = None
        self._valid_until = 0.0

    def request(
        self, method: str, url: str, *, headers: Mapping[str, str] | None = None, **kwargs: Any
    ) -> Any:
        """Send the request with ``Authorization: Bearer``; once more with a new token on 401."""
        token = self._current(stale=None)
        answer = self._http.request(method, url, headers=self._with(headers, token), **kwargs)
        if answer.status != 401:
            return answer
        token = self._current(stale=token)
        return self._http.request(method, url, headers=self._with(headers, token), **kwargs)

    @staticmethod
    def _with(headers: Mapping[str, str] | None, token: str) -> dict[str, str]:
        return {**(headers or {}), "Authorization": f"Bearer {token}"}

    def _current(self, *, stale: str | None) -> str:
        """The cached token, or a new one when there is none, it expires soon, or it is
        ``stale`` (refused with a 401)."""
        with self._lock:
            if self._token is None or self._token == stale or self._clock() >= self._valid_until:
                self._token, lifetime = self._fetch()
                self._valid_until = self._clock() + max(0.0, lifetime - _EARLY_S)
            return self._token

    def _fetch(self) -> tuple[str, float]:
        try:
            answer = self._http.request(
                "GET",
                self._token_url,
                headers={"Metadata-Flavor": "Google"},
                timeout=TOKEN_TIMEOUT_S,
                retries=False,
            )
        except (urllib3.exceptions.HTTPError, OSError) as err:
            raise refused(f"metadata server unreachable: {type(err).__name__}") from err
        return token_of(answer.status, answer.data)


def token_of(status: int, data: bytes) -> tuple[str, float]:
    """The access token and its lifetime in seconds from the metadata server's answer."""
    if status != 200:
        raise refused(f"metadata server answered HTTP {status}")
    try:
        body = json.loads(data)
        token, lifetime = body["access_token"], float(body["expires_in"])
    except (ValueError, KeyError, TypeError) as err:
        raise refused("metadata server answered without an access token") from err
    if not isinstance(token, str) or not token:
        raise refused("metadata server answered without an access token")
    return token, lifetime


def refused(message: str) -> RefreshError:
    """The error of a token that cannot be had now (retried by the caller, like a 5xx)."""
    return RefreshError(message, retryable=True)  # type: ignore[no-untyped-call]
