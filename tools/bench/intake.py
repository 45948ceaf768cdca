"""Benchmark of the intake function: genuine notifications at a fixed rate, on loopback.

* ``intake``: 1,000 ``exists`` notifications per second for a few seconds, spread over
  100 channels (calendars), POSTed to the function served by ``functions-framework`` (gunicorn,
  one worker, its default thread count) as its own process, publishing to a Pub/Sub emulator
  started for the run.

The load is open-loop: request *i* is due at ``start + i / rate``, and its latency runs from that
due time to the answer, so a server that falls behind shows as latency (no coordinated omission).
``events_per_s`` counts 2xx answers over ``wall_s`` (first due time to last answer); ``published``
is what a pull subscription on ``sync-requests`` received, which must equal the 2xx answers. The
driver (this process, a bounded pool of threads) shares the machine's CPUs with the function and
the emulator, so the figures are a floor for one instance, not a capacity plan.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from confsync.channel_tokens import ChannelTokenKeys, mint_channel_token
from devstack.gcloud_emulators import (
    EmulatorEndpoints,
    free_port,
    start_gcloud_emulators,
    stop_gcloud_emulators,
)
from devstack.process import serving

__all__ = ["run"]

PROJECT = "confsync-bench-intake"
SOURCE = Path(__file__).resolve().parents[2] / "functions" / "intake" / "main.py"
KEY_SPEC = "bench:bench-only-secret-0123456789abcdef"
RATE = 1000
SECONDS = 5
WARMUP = 200
WORKERS = 64
CHANNELS = 100


@dataclass
class Results:
    """What the driver's threads record (each appends under the lock)."""

    latencies_s: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    last_answer: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)


def _rest(method: str, url: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(  # noqa: S310 - loopback emulator only
        url, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310 - loopback only
        text = answer.read()
    parsed: dict[str, Any] = json.loads(text or b"{}")
    return parsed


def _subscribe(endpoints: EmulatorEndpoints) -> str:
    """Create ``sync-requests`` and a pull subscription on it; return the subscription's URL."""
    base = f"http://{endpoints.pubsub_host}/v1/projects/{endpoints.project}"
    _rest("PUT", f"{base}/topics/sync-requests")
    topic = f"projects/{endpoints.project}/topics/sync-requests"
    _rest("PUT", f"{base}/subscriptions/bench", {"topic": topic, "ackDeadlineSeconds": 600})
    return f"{base}/subscriptions/bench"


def _drain(subscription: str, idle_s: float = 2.0) -> int:
    """Pull and acknowledge until nothing arrives for ``idle_s``; return how many arrived."""
    count = 0
    idle_since = time.monotonic()
    while time.monotonic() - idle_since < idle_s:
        body = {"maxMessages": 1000, "returnImmediately": True}
        received = _rest("POST", f"{subscription}:pull", body).get("receivedMessages", [])
        if not received:
            time.sleep(0.1)
            continue
        count += len(received)
        _rest("POST", f"{subscription}:acknowledge", {"ackIds": [m["ackId"] for m in received]})
        idle_since = time.monotonic()
    return count


@contextmanager
def _pubsub() -> Iterator[tuple[EmulatorEndpoints, Path]]:
    """The Pub/Sub (and Firestore) emulators; their endpoints and the run directory."""
    run_dir = Path(tempfile.mkdtemp(prefix="confsync-bench-intake-"))
    endpoints = start_gcloud_emulators(
        run_dir, project=PROJECT, firestore_port=free_port(), pubsub_port=free_port()
    )
    try:
        yield endpoints, run_dir
    finally:
        stop_gcloud_emulators(run_dir)
        shutil.rmtree(run_dir, ignore_errors=True)


@contextmanager
def _function(endpoints: EmulatorEndpoints, run_dir: Path) -> Iterator[int]:
    """The intake function served by functions-framework; yields its port."""
    port = free_port()
    env = {
        **os.environ,
        "GOOGLE_CLOUD_PROJECT": endpoints.project,
        "PUBSUB_EMULATOR_HOST": endpoints.pubsub_host,
        "CONFSYNC_CHANNEL_TOKEN_KEYS": KEY_SPEC,
        "CONFSYNC_CHANNEL_TOKEN_ACTIVE_KEY": "bench",
        "LOG_LEVEL": "WARNING",
    }
    executable = Path(sys.executable).with_name("functions-framework")
    argv = [str(executable), "--target", "intake", "--source", str(SOURCE)]
    with serving(
        "intake",
        [*argv, "--host", "127.0.0.1", f"--port={port}"],
        run_dir,
        marker=f"--port={port}",
        ready_url=f"http://127.0.0.1:{port}/",
        env=env,
    ):
        yield port


def _notifications() -> list[dict[str, str]]:
    keys = ChannelTokenKeys.parse(KEY_SPEC, "bench")
    expires = datetime.now(UTC) + timedelta(days=1)
    headers = []
    for n in range(CHANNELS):
        channel = f"bench-channel-{n:04d}"
        headers.append(
            {
                "X-Goog-Channel-ID": channel,
                "X-Goog-Channel-Token": mint_channel_token(
                    keys, channel, f"ck_bench_{n:04d}", expires=expires
                ),
                "X-Goog-Resource-ID": f"resource-{n:04d}",
                "X-Goog-Resource-State": "exists",
                "X-Goog-Resource-URI": "https://www.googleapis.com/calendar/v3/calendars/c/events",
                "Content-Length": "0",
            }
        )
    return headers


def _drive(port: int, rate: float, total: int) -> tuple[Results, float]:
    """Send ``total`` notifications at ``rate`` per second; return the results and start time."""
    notifications = _notifications()
    results = Results()
    next_index = iter(range(total))
    take = threading.Lock()
    start = time.monotonic() + 0.2

    def worker() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while True:
            with take:
                i = next(next_index, None)
            if i is None:
                break
            due = start + i / rate
            time.sleep(max(0.0, due - time.monotonic()))
            headers = {**notifications[i % CHANNELS], "X-Goog-Message-Number": str(i + 2)}
            try:
                connection.request("POST", "/", headers=headers)
                answer = connection.getresponse()
                answer.read()
                status = answer.status
            except (OSError, http.client.HTTPException):
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                status = 0
            done = time.monotonic()
            with results.lock:
                results.latencies_s.append(done - due)
                results.statuses[status] = results.statuses.get(status, 0) + 1
                results.last_answer = max(results.last_answer, done)
        connection.close()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=SECONDS * 20 + 60)
    return results, start


def _percentile(sorted_values: list[float], fraction: float) -> float:
    index = min(len(sorted_values) - 1, max(0, round(fraction * len(sorted_values)) - 1))
    return sorted_values[index]


def run() -> list[dict[str, Any]]:
    """Run the scenario; return its figures."""
    with _pubsub() as (endpoints, run_dir):
        subscription = _subscribe(endpoints)
        with _function(endpoints, run_dir) as port:
            _drive(port, rate=RATE / 4, total=WARMUP)  # the first request builds the client
            _drain(subscription)
            results, start = _drive(port, rate=RATE, total=RATE * SECONDS)
            published = _drain(subscription)
    latencies = sorted(results.latencies_s)
    ok = sum(count for status, count in results.statuses.items() if 200 <= status < 300)
    wall = results.last_answer - start
    return [
        {
            "name": "intake",
            "events_per_s": round(ok / wall),
            "p50_ms": round(_percentile(latencies, 0.50) * 1000, 1),
            "p95_ms": round(_percentile(latencies, 0.95) * 1000, 1),
            "p99_ms": round(_percentile(latencies, 0.99) * 1000, 1),
            "wall_s": round(wall, 2),
            "offered_per_s": RATE,
            "requests": len(latencies),
            "answers": {str(status): count for status, count in sorted(results.statuses.items())},
            "published": published,
        }
    ]


if __name__ == "__main__":
    for row in run():
        print(row)
