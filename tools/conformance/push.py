"""A local listener for push notifications: records each message's ``X-Goog-*`` headers by
channel and lets a check wait for one. Against the emulator it listens on a free loopback port
(the emulator accepts plain ``http`` there); against Google on ``CONFSYNC_TEST_PUSH_PORT``, behind
the public HTTPS address ``CONFSYNC_TEST_PUSH_URL`` that forwards to it."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["Message", "PushListener"]


@dataclass(frozen=True, slots=True)
class Message:
    """One notification: its headers (lower-case names) and body."""

    headers: dict[str, str]
    body: bytes

    @property
    def channel_id(self) -> str:
        return self.headers.get("x-goog-channel-id", "")

    @property
    def state(self) -> str:
        return self.headers.get("x-goog-resource-state", "")


class PushListener:
    """An HTTP server answering 200 to every POST and keeping what it got."""

    def __init__(self, port: int = 0, host: str = "127.0.0.1") -> None:
        self._messages: list[Message] = []
        self._arrived = threading.Condition()
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # the stdlib's naming
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                listener._record(Message(headers, body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> PushListener:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def local_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/"

    def _record(self, message: Message) -> None:
        with self._arrived:
            self._messages.append(message)
            self._arrived.notify_all()

    def messages(self, channel_id: str) -> list[Message]:
        with self._arrived:
            return [m for m in self._messages if m.channel_id == channel_id]

    def wait_for(self, channel_id: str, state: str, timeout: float) -> Message | None:
        """The first message of that channel in that state, waiting up to ``timeout`` s."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while True:
                for message in self._messages:
                    if message.channel_id == channel_id and message.state == state:
                        return message
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._arrived.wait(left)
