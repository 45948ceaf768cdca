"""The Google auth stand-in's admin API and the deployment's service accounts, for its
conformance tests (tests/emulators/google_auth) and the credentials flow (tests/integration)."""

from __future__ import annotations

from typing import Any

import requests

__all__ = ["DELEGATION_SA", "EVENTS_SCOPE", "RUNTIME_SA", "Admin"]

RUNTIME_SA = "sync@confsync-test.iam.gserviceaccount.com"
DELEGATION_SA = "calendar@confsync-test.iam.gserviceaccount.com"
EVENTS_SCOPE = "https://www.googleapis.com/auth/calendar.events"


class Admin:
    """The stand-in's admin API."""

    def __init__(self, base_url: str) -> None:
        self.base = f"{base_url}/emulator/v1"
        self.http = requests.Session()

    def post(self, path: str, body: Any) -> Any:
        answer = self.http.post(f"{self.base}/{path}", json=body, timeout=10)
        answer.raise_for_status()
        return answer.json()

    def get(self, path: str) -> Any:
        answer = self.http.get(f"{self.base}/{path}", timeout=10)
        answer.raise_for_status()
        return answer.json()

    def key_file(self, email: str) -> dict[str, Any]:
        key: dict[str, Any] = self.get(f"service-accounts/{email}/key")
        return key

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = self.get("stats")["counts"]
        return counts
