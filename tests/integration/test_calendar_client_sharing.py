"""Clients of one Calendar factory share its connection pool, yet each sends its requests as its
own subject."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest
from google.oauth2.credentials import Credentials

from confsync.adapters.calendar_api import GoogleCalendarClientFactory


class _Recorder(BaseHTTPRequestHandler):
    seen: ClassVar[list[tuple[str, str]]] = []

    def do_GET(self) -> None:
        self.seen.append((self.path.split("?")[0], self.headers.get("Authorization", "")))
        body = json.dumps({"items": [], "nextSyncToken": "tok", "accessRole": "owner"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: Any) -> None:
        return


@pytest.fixture(name="endpoint")
def endpoint_fixture() -> Iterator[str]:
    _Recorder.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/calendar/v3/"
    finally:
        server.shutdown()
        server.server_close()


def test_each_subject_is_sent_with_its_own_credentials(endpoint: str) -> None:
    factory = GoogleCalendarClientFactory(
        lambda subject: Credentials(token=f"token-of-{subject.split('@')[0]}"),
        api_endpoint=endpoint,
    )
    alice = factory.for_subject("alice@example.com")
    bob = factory.for_subject("bob@example.com")

    for client, calendar in ((alice, "alice@example.com"), (bob, "bob@example.com")):
        page = client.list_page(calendar, sync_token="s", page_token=None, time_min=None)
        assert page.next_sync_token == "tok"

    assert [auth for _, auth in _Recorder.seen] == [
        "Bearer token-of-alice",
        "Bearer token-of-bob",
    ]
