"""The ``flood`` scenario's parts, without a stack: the forged mix, the loopback-only driver and the
CPU reading. The mix must be forgeries only (a captured token never travels with its own channel's
id and intact), the driver must refuse any target off loopback before sending anything, and its
counts must match what the server answered."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.flood_driver import NotLoopbackError, flood, require_loopback
from bench.flood_requests import (
    ENROL_PATH,
    NOTIFICATION_KINDS,
    CapturedChannel,
    ForgedRequest,
    forged_enrolments,
    forged_notifications,
)
from bench.proc_cpu import cpu_seconds, pids_running

CAPTURED = [
    CapturedChannel(f"channel-{n}", f"resource-{n}", f"v1.k1.calendar_{n}.{'s' * 43}")
    for n in range(3)
]


def _is_genuine(request: ForgedRequest) -> bool:
    """Would a verifier that knows the captured channels take this request for a genuine one?"""
    headers = request.headers
    token = headers.get("X-Goog-Channel-Token")
    return any(
        headers.get("X-Goog-Channel-ID") == channel.channel_id and token == channel.token
        for channel in CAPTURED
    )


@settings(max_examples=50, deadline=None)
@given(count=st.integers(0, 300), seed=st.integers(0, 2**32))
def test_no_forged_notification_is_a_genuine_one(count: int, seed: int) -> None:
    forged = forged_notifications(count, CAPTURED, seed=seed)

    assert len(forged) == count
    assert not [request for request in forged if _is_genuine(request)]


def test_every_kind_of_forgery_is_in_the_mix_and_a_seed_repeats_it() -> None:
    forged = forged_notifications(50, CAPTURED, seed=7)

    assert {request.kind for request in forged} == set(NOTIFICATION_KINDS)
    assert forged == forged_notifications(50, CAPTURED, seed=7)
    assert any(request.body for request in forged if request.kind == "garbage-body")
    assert any("X-Goog-Channel-Token" not in r.headers for r in forged if r.kind == "missing-token")


def test_forged_enrolments_go_to_the_enrolment_path() -> None:
    forged = forged_enrolments(20, CAPTURED, seed=1)

    assert {(request.method, request.path) for request in forged} == {("POST", ENROL_PATH)}
    assert ENROL_PATH == "/v1/enroll"
    assert forged_enrolments(2, CAPTURED, path="/elsewhere")[0].path == "/elsewhere"


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.1:8080",
        "http://example.com:80",
        "http://192.168.1.10:8691",
        "https://127.0.0.1:8691",
        "http://127.0.0.1",
        "http://[2001:db8::1]:8691",
    ],
)
def test_the_flood_refuses_any_target_off_loopback(url: str) -> None:
    with pytest.raises(NotLoopbackError):
        flood(url, forged_notifications(5, CAPTURED), workers=2, time_limit_s=1)


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8691", "http://127.9.9.9:1", "http://localhost:80", "http://[::1]:9"]
)
def test_loopback_targets_are_taken(url: str) -> None:
    assert require_loopback(url)[1] > 0


class _Handler(BaseHTTPRequestHandler):
    """Answers 200 to a request carrying ``X-Let-In``, 403 to the others."""

    protocol_version = "HTTP/1.1"

    def _answer(self) -> None:  # the one answer to every method
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        status = 200 if self.headers.get("X-Let-In") else 403
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_POST = do_GET = do_PUT = do_DELETE = do_PATCH = _answer  # noqa: N815 - the base's names

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


@pytest.fixture(name="server_url")
def server_url_fixture() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_the_driver_counts_refusals_by_kind_and_forgeries_let_in(server_url: str) -> None:
    requests = forged_notifications(40, CAPTURED, seed=3) + forged_enrolments(10, CAPTURED)
    requests.append(ForgedRequest("let-in", "POST", "/", {"X-Let-In": "1"}))

    result = flood(server_url, requests, workers=4, time_limit_s=30)

    assert (result.sent, result.unsent) == (51, 0)
    assert (result.refused, result.accepted, result.errors) == (50, 1, 0)
    assert result.refused_by_kind["enrolment"] == 10
    assert sum(result.refused_by_kind.values()) == 50


def test_the_driver_sends_the_list_again_while_told_to_keep_going(server_url: str) -> None:
    requests = forged_notifications(10, CAPTURED, seed=5)
    answered: list[int] = []

    def keep_going() -> bool:
        answered.append(1)
        return len(answered) < 25

    result = flood(server_url, requests, workers=1, time_limit_s=30, keep_going=keep_going)

    assert result.sent >= 34  # the list once, then again while told to
    assert result.unsent == 0
    assert result.refused == result.sent


def test_the_driver_stops_at_its_time_limit(server_url: str) -> None:
    result = flood(server_url, forged_notifications(100, CAPTURED), workers=2, time_limit_s=0)

    assert (result.sent, result.unsent) == (0, 100)


def test_cpu_seconds_add_up_the_processes_of_a_command_line() -> None:
    marker = f"flood-cpu-{time.monotonic_ns()}"
    spin = "import time,sys\nend=time.process_time()+0.3\nwhile time.process_time()<end: pass\n"
    argv = [sys.executable, "-c", spin + "time.sleep(30)", marker]
    child = subprocess.Popen(argv)
    try:
        deadline = time.monotonic() + 10
        while cpu_seconds(pids_running([marker])) < 0.25 and time.monotonic() < deadline:
            time.sleep(0.05)

        assert pids_running([marker]) == [child.pid]
        assert cpu_seconds([child.pid]) >= 0.25
        assert pids_running([marker[:-1]]) == []  # a whole argument, not a prefix
    finally:
        child.kill()
        child.wait()
