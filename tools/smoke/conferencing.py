"""The conferencing system as the add-on sees it: create the smoke's conference, read it, delete it.

Speaks the contract (``docs/conferencing-api.yaml``): ``POST /v1/conferences`` with the test user
as ``owner``, ``GET /v1/conferences/{id}`` (deleted ones included), and
``DELETE /v1/conferences/{id}?revision=N`` for the cleanup. Every request carries
``Authorization: Bearer <credential>`` when one is given and the ``v2`` signature headers
(:mod:`confsync.signing`) when signing secrets are given, as confsync's own adapter does.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote, urlsplit

import requests

from confsync.signing import signed_headers

__all__ = ["ConferencingApi", "ConferencingError"]


class ConferencingError(RuntimeError):
    """A conferencing request failed (method, status and the system's error code)."""


class ConferencingApi:
    """The conferencing system at ``base_url``."""

    def __init__(
        self,
        base_url: str,
        *,
        credential: str | None,
        signing_secrets: Sequence[bytes] = (),
        timeout: float = 10.0,
    ) -> None:
        self.base = base_url.rstrip("/")
        self._host = urlsplit(self.base).netloc.rpartition("@")[2].lower()
        self._credential = credential
        self._secrets = tuple(signing_secrets)
        self._timeout = timeout
        self.http = requests.Session()

    def _send(self, method: str, target: str, body: bytes, key: str) -> requests.Response:
        headers = {"Accept": "application/json", "Host": self._host}
        if body:
            headers["Content-Type"] = "application/json; charset=utf-8"
        if key:
            headers["Idempotency-Key"] = key
        if self._credential:
            headers["Authorization"] = f"Bearer {self._credential}"
        if self._secrets:
            headers.update(
                signed_headers(
                    self._secrets,
                    body,
                    method=method,
                    target=target,
                    host=self._host,
                    idempotency_key=key,
                )
            )
        return self.http.request(
            method, self.base + target, data=body or None, headers=headers, timeout=self._timeout
        )

    @staticmethod
    def _check(answer: requests.Response, what: str, ok: tuple[int, ...]) -> None:
        if answer.status_code not in ok:
            try:
                code = answer.json().get("error", {}).get("code", "")
            except (ValueError, AttributeError):
                code = ""
            raise ConferencingError(f"{what}: {answer.status_code} {code}".strip())

    def create(self, owner: str) -> dict[str, Any]:
        """A new conference of ``owner`` (what the add-on does): ``id``, ``joinUrl``, ..."""
        body = json.dumps({"owner": owner}, separators=(",", ":")).encode()
        answer = self._send("POST", "/v1/conferences", body, f"smoke-{uuid.uuid4().hex}")
        self._check(answer, "POST /v1/conferences", (200, 201))
        created: dict[str, Any] = answer.json()
        return created

    def get(self, conference_id: str) -> dict[str, Any]:
        """The conference as the system holds it now (``status`` ``deleted`` once deleted)."""
        target = f"/v1/conferences/{quote(conference_id, safe='')}"
        answer = self._send("GET", target, b"", "")
        self._check(answer, f"GET {target}", (200,))
        found: dict[str, Any] = answer.json()
        return found

    def delete(self, conference_id: str, revision: int) -> None:
        """Delete the conference at ``revision`` (unknown or already deleted counts as done)."""
        target = f"/v1/conferences/{quote(conference_id, safe='')}?revision={revision}"
        key = f"smoke-delete-{conference_id}-{revision}"
        answer = self._send("DELETE", target, b"", key)
        self._check(answer, f"DELETE /v1/conferences/{conference_id}", (200, 204, 404, 410))
