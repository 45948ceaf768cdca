"""urllib3 requests authorised with google-auth credentials, without google-auth's urllib3
transport module.

``google.auth.transport.urllib3`` (its ``AuthorizedHttp`` and ``Request``) imports google-auth's
service-account and crypto modules (``cryptography``) for key files the functions never hold:
about 40 ms of the sync and channels functions' cold start, on every mode. This module does the
two things confsync needs of it, over the urllib3 pool the adapters already share:

- :class:`PoolRequest`: google-auth's transport interface (what ``Credentials.refresh`` is given),
  a urllib3 failure raised as google-auth's ``TransportError``;
- :class:`CredentialsHttp`: urllib3's ``request`` with the credentials' ``Authorization`` header
  (refreshed first when stale), and on a 401 one refresh and one more attempt, as
  ``AuthorizedHttp`` does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import urllib3
from google.auth.credentials import Credentials
from google.auth.exceptions import TransportError
from google.auth.transport import Request, Response

__all__ = ["CredentialsHttp", "PoolRequest"]

_TOKEN_TIMEOUT = urllib3.Timeout(total=30.0)  # a token request with no timeout of its own


class _PoolResponse(Response):
    def __init__(self, answer: Any) -> None:
        self._answer = answer

    @property
    def status(self) -> int:
        return int(self._answer.status)

    @property
    def headers(self) -> Mapping[str, str]:
        return dict(self._answer.headers)

    @property
    def data(self) -> bytes:
        return bytes(self._answer.data)


class PoolRequest(Request):
    """google-auth's transport over ``http`` (anything with urllib3's ``request``)."""

    def __init__(self, http: Any) -> None:
        self._http = http

    def __call__(
        self,
        url: str,
        method: str = "GET",
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> Response:
        try:
            answer = self._http.request(
                method,
                url,
                body=body,
                headers=dict(headers or {}),
                timeout=_TOKEN_TIMEOUT if timeout is None else urllib3.Timeout(total=timeout),
                retries=False,
                **kwargs,
            )
        except (urllib3.exceptions.HTTPError, OSError) as err:
            raise TransportError(f"{type(err).__name__}: {err}") from err  # type: ignore[no-untyped-call]
        return _PoolResponse(answer)


class CredentialsHttp:
    """urllib3's ``request`` over ``http`` as the holder of ``credentials``. Thread-safe as far
    as the credentials are (confsync's are backed by a locked token cache)."""

    def __init__(self, credentials: Credentials, http: Any) -> None:
        self._credentials = credentials
        self._http = http
        self._request = PoolRequest(http)

    def request(
        self, method: str, url: str, *, headers: Mapping[str, str] | None = None, **kwargs: Any
    ) -> Any:
        """Send with ``Authorization``; once more after a refresh if the answer is 401."""
        sent = dict(headers or {})
        self._credentials.before_request(self._request, method, url, sent)  # type: ignore[no-untyped-call]
        answer = self._http.request(method, url, headers=sent, **kwargs)
        if answer.status != 401:
            return answer
        self._credentials.refresh(self._request)  # type: ignore[no-untyped-call]
        sent = dict(headers or {})
        self._credentials.apply(sent)  # type: ignore[no-untyped-call]
        return self._http.request(method, url, headers=sent, **kwargs)
