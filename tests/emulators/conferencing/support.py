"""HTTP helpers for the conferencing emulator tests: an API client and an admin client."""

from __future__ import annotations

import json
import time
from typing import Any

import requests
from urllib3.util import parse_url

from conferencing_emulator import signing

TIMEOUT = 5.0


def wire_target(url: str) -> str:
    """The request target urllib3 (under requests) puts on the request line for ``url``."""
    return parse_url(url).request_uri


def wire_host(url: str) -> str:
    """The ``Host`` header sent for ``url`` (and signed): its host and port as written."""
    return parse_url(url).netloc or ""


def state(**overrides: Any) -> dict[str, Any]:
    """A complete, valid desired state (without revision)."""
    body: dict[str, Any] = {
        "title": "Weekly sync",
        "start": "2026-03-02T09:00:00+01:00",
        "end": "2026-03-02T09:30:00+01:00",
        "timeZone": "Europe/Berlin",
        "attendees": ["ada@example.com", "grace@example.com"],
        "recurrence": ["RRULE:FREQ=WEEKLY;COUNT=5"],
        "cancelledOccurrences": ["2026-03-09T09:00:00+01:00"],
        "modifiedOccurrences": [
            {
                "originalStart": "2026-03-16T09:00:00+01:00",
                "start": "2026-03-16T10:00:00+01:00",
                "end": "2026-03-16T10:30:00+01:00",
                "title": "Weekly sync (moved)",
            }
        ],
        "organizer": "ada@example.com",
        "calendarId": "primary",
        "eventId": "evt123",
    }
    body.update(overrides)
    return body


class Client:
    """Calls ``/v1``, adding the bearer credential and signature when configured."""

    def __init__(
        self,
        base_url: str,
        *,
        credential: str | None = None,
        secret: bytes | tuple[bytes, ...] | None = None,
    ) -> None:
        self.base_url = base_url
        self.credential = credential
        self.secret = secret

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        raw: bytes | None = None,
        timeout: float = TIMEOUT,
    ) -> requests.Response:
        data = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
        sent: dict[str, str] = {"Content-Type": "application/json"} if data else {}
        if self.credential is not None:
            sent["Authorization"] = f"Bearer {self.credential}"
        prepared = requests.Request(
            method, self.base_url + path, data=data, params=params, headers=sent
        ).prepare()
        if self.secret is not None:
            url = prepared.url or ""
            prepared.headers["Host"] = wire_host(url)
            prepared.headers.update(
                signing.signed_headers(
                    self.secret,
                    data,
                    method=method,
                    target=wire_target(url),
                    host=wire_host(url),
                    idempotency_key=(headers or {}).get("Idempotency-Key", ""),
                )
            )
        prepared.headers.update(headers or {})
        with requests.Session() as session:
            return session.send(prepared, timeout=timeout)

    def create(self, body: Any = None, **kwargs: Any) -> requests.Response:
        return self.request("POST", "/v1/conferences", {} if body is None else body, **kwargs)

    def get(self, conference_id: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", f"/v1/conferences/{conference_id}", **kwargs)

    def put(self, conference_id: str, body: Any, **kwargs: Any) -> requests.Response:
        return self.request("PUT", f"/v1/conferences/{conference_id}", body, **kwargs)

    def delete(
        self, conference_id: str, revision: int | str | None, **kwargs: Any
    ) -> requests.Response:
        params = None if revision is None else {"revision": revision}
        return self.request("DELETE", f"/v1/conferences/{conference_id}", params=params, **kwargs)

    def new_conference(self, **fields: Any) -> dict[str, Any]:
        response = self.create(fields)
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created


class Admin:
    """The admin API (no auth)."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url + "/emulator/v1"

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        response = requests.request(method, self.base_url + path, json=body, timeout=TIMEOUT)
        assert response.ok, response.text
        return response.json()

    def reset(self) -> None:
        self._call("POST", "/reset")

    def conferences(self) -> list[dict[str, Any]]:
        return list(self._call("GET", "/conferences")["conferences"])

    def seed(self, body: dict[str, Any]) -> dict[str, Any]:
        return dict(self._call("POST", "/conferences", body))

    def requests(self) -> list[dict[str, Any]]:
        return list(self._call("GET", "/requests")["requests"])

    def reset_requests(self) -> None:
        self._call("POST", "/requests/reset")

    def add_faults(self, rules: Any) -> list[dict[str, Any]]:
        return list(self._call("POST", "/faults", rules)["faults"])

    def faults(self) -> list[dict[str, Any]]:
        return list(self._call("GET", "/faults")["faults"])

    def clear_faults(self) -> None:
        self._call("DELETE", "/faults")


def wait_for(predicate: Any, timeout: float = 3.0) -> bool:
    """Poll ``predicate`` until true or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return bool(predicate())
