"""Push delivery: loopback detection, in-order delivery, retry only on 5xx, stop."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from calendar_emulator.channels import Channel, ChannelRegistry, Notifier, is_loopback_host
from calendar_emulator.clock import SystemClock
from calendar_emulator.faults import FaultRegistry


class _Receiver:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.answers: list[int] = []
        self.got: list[tuple[str, str, int]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                with receiver.lock:
                    status = receiver.answers.pop(0) if receiver.answers else 200
                    receiver.got.append(
                        (
                            self.headers["X-Goog-Resource-State"],
                            self.headers["X-Goog-Message-Number"],
                            status,
                        )
                    )
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    def wait(self, count: int, timeout: float = 5.0) -> list[tuple[str, str, int]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.got) >= count:
                    return list(self.got)
            time.sleep(0.01)
        raise AssertionError(f"only {self.got}")


@pytest.fixture(name="receiver")
def receiver_fixture() -> Iterator[_Receiver]:
    receiver = _Receiver()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()


@pytest.fixture(name="setup")
def setup_fixture(receiver: _Receiver) -> Iterator[tuple[ChannelRegistry, Notifier, Channel]]:
    clock = SystemClock()
    registry = ChannelRegistry(clock)
    notifier = Notifier(registry, FaultRegistry(), clock, backoff=0.02)
    port = receiver.server.server_address[1]
    channel = Channel(
        id="c1",
        resource_id="r1",
        resource_uri="http://x/",
        token=None,
        address=f"http://127.0.0.1:{port}/hook",
        expiration_ms=int((time.time() + 60) * 1000),
        calendar_id="cal",
    )
    assert registry.add(channel)
    yield registry, notifier, channel
    notifier.stop()


def test_loopback_hosts() -> None:
    assert is_loopback_host("127.0.0.1")
    assert is_loopback_host("127.5.0.1")
    assert is_loopback_host("::1")
    assert is_loopback_host("localhost")
    assert not is_loopback_host("example.com")
    assert not is_loopback_host("10.0.0.1")


def test_retries_on_503_in_order(receiver: _Receiver, setup) -> None:
    _, notifier, channel = setup
    receiver.answers = [200, 503, 502, 200, 200]
    notifier.send_sync(channel)
    notifier.notify_calendar("cal")
    notifier.notify_calendar("cal")
    got = receiver.wait(5)
    states = [(state, status) for state, _, status in got]
    assert states == [
        ("sync", 200),
        ("exists", 503),
        ("exists", 502),
        ("exists", 200),
        ("exists", 200),
    ]
    numbers = [int(number) for _, number, _ in got]
    assert numbers[0] == 1
    assert numbers[1] == numbers[2] == numbers[3] < numbers[4]
    assert numbers[4] - numbers[3] >= 2


def test_no_retry_on_404(receiver: _Receiver, setup) -> None:
    _, notifier, channel = setup
    receiver.answers = [404]
    notifier.send_sync(channel)
    notifier.notify_calendar("cal")
    got = receiver.wait(2)
    assert [status for *_, status in got] == [404, 200]
    outcomes = [entry["outcome"] for entry in notifier.log()]
    assert outcomes == ["failed", "delivered"]


def test_stopped_channel_gets_nothing(receiver: _Receiver, setup) -> None:
    registry, notifier, _ = setup
    assert registry.remove("c1", "r1")
    notifier.notify_calendar("cal")
    time.sleep(0.2)
    assert receiver.got == []
