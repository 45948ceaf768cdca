"""``firestore_transport``: what one Firestore request costs the emulator, over REST and gRPC.

confsync's functions speak Firestore's REST interface (``confsync.adapters.firestore_http``: no
gRPC or protobuf import at cold start); the seed's recipe uses the client library, which speaks
gRPC. In production the difference is Google's to carry. On these machines it is not: the
Firestore emulator is a local Java process on the same two cores as everything else, and every
millisecond of CPU it spends on a request is a millisecond the functions do not get. ``fanout``
and ``full`` are bounded by the cores, so this cost shows in their ratios. This scenario measures
it alone, so those ratios can be read against it.

One emulator, one document shaped like a conference record (a dozen top-level fields and a JSON
body). For each transport, the same two requests: a read of that document (``batchGet``) and a
write of it (``commit`` of one set). All four are sent :data:`WARM_UP` times first, in turn
(the emulator's JIT compiles its paths), and then each :data:`REQUESTS` times in a row,
measuring the emulator's CPU time (``/proc``), this process's CPU time and the wall time per
request. ``baseline`` is the gRPC client library, as the recipe uses it.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.proc_cpu import cpu_seconds, pids_running
from devstack.gcloud_emulators import (
    free_port,
    start_gcloud_emulators,
    stop_gcloud_emulators,
)

__all__ = ["REQUESTS", "WARM_UP", "Costs", "measure", "run"]

WARM_UP = 1000
"""Requests of each kind and transport sent before measuring (the emulator's JIT warms up)."""
REQUESTS = 1000
"""Requests of each kind measured."""

_PROJECT = "bench-transport"
_COLLECTION = "conferences"
_DOCUMENT: dict[str, Any] = {
    "schema": 3,
    "status": "active",
    "owner": "alice@example.com",
    "home_key": "ck_" + "0" * 40,
    "conference_id": "conf_" + "1" * 16,
    "revision": 1_800_000_000_000,
    "references": 1,
    "detached_ms": 0,
    "role": "acting",
    "actor": "alice@example.com",
    "updated_at": "2026-12-04T10:00:00Z",
    "body": '{"calendars":{"ck":{"events":{"e1":{"u":1800000000000}}}},"sent":{"title":"'
    + "x" * 400
    + '"}}',
}

Costs = dict[str, float]
"""Milliseconds per request: ``emulator_cpu_ms``, ``client_cpu_ms``, ``wall_ms``."""


def measure(
    send: Callable[[], object],
    server_cpu_s: Callable[[], float],
    *,
    warm_up: int = WARM_UP,
    requests: int = REQUESTS,
) -> Costs:
    """Send ``warm_up`` requests, then time ``requests`` more: per request, the server's CPU
    (``server_cpu_s`` read before and after), this process's CPU and the wall time, in ms."""
    for _ in range(warm_up):
        send()
    server, client, wall = server_cpu_s(), time.process_time(), time.perf_counter()
    for _ in range(requests):
        send()
    per = 1000 / max(1, requests)
    return {
        "emulator_cpu_ms": round((server_cpu_s() - server) * per, 2),
        "client_cpu_ms": round((time.process_time() - client) * per, 2),
        "wall_ms": round((time.perf_counter() - wall) * per, 2),
    }


def _rest(host: str) -> tuple[Callable[[], object], Callable[[], object]]:
    """A read and a write of the document through confsync's REST client."""
    from confsync.adapters.firestore_http import Client  # noqa: PLC0415

    client = Client.from_environment(_PROJECT, env={"FIRESTORE_EMULATOR_HOST": host})
    ref = client.collection(_COLLECTION).document("record")
    ref.set(_DOCUMENT)
    return (lambda: client.get_all([ref])), (lambda: ref.set(_DOCUMENT))


def _grpc(host: str) -> tuple[Callable[[], object], Callable[[], object]]:
    """The same read and write through the client library (gRPC), as the recipe uses it."""
    import os  # noqa: PLC0415

    from google.auth.credentials import AnonymousCredentials  # noqa: PLC0415
    from google.cloud import firestore  # noqa: PLC0415

    os.environ["FIRESTORE_EMULATOR_HOST"] = host
    client = firestore.Client(
        project=_PROJECT,
        credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
    )
    ref = client.collection(_COLLECTION).document("record")
    ref.set(_DOCUMENT)
    return (lambda: list(client.get_all([ref]))), (lambda: ref.set(_DOCUMENT))


_TRANSPORTS = (("rest", _rest), ("grpc", _grpc))


def _row(rest: dict[str, Costs], grpc: dict[str, Costs]) -> dict[str, Any]:
    def flat(costs: dict[str, Costs]) -> dict[str, float]:
        return {f"{kind}_{key}": value for kind, by in costs.items() for key, value in by.items()}

    return {
        "name": "firestore_transport",
        **flat(rest),
        "requests": REQUESTS,
        "baseline": flat(grpc),
        "notes": (
            f"per request, after {WARM_UP} to warm up: confsync's REST client against the "
            "client library's gRPC (the recipe's), on one Firestore emulator"
        ),
    }


def run() -> list[dict[str, Any]]:
    """The scenario's row."""
    run_dir = Path(tempfile.mkdtemp(prefix="confsync-bench-transport-"))
    endpoints = start_gcloud_emulators(
        run_dir, project=_PROJECT, firestore_port=free_port(), pubsub_port=free_port()
    )
    try:
        port = endpoints.firestore_host.rsplit(":", 1)[1]
        pids = [p for p in pids_running([f"--port={port}"]) if p > 1]

        def emulator_cpu() -> float:
            return cpu_seconds(pids)

        sends = {name: make(endpoints.firestore_host) for name, make in _TRANSPORTS}
        for _ in range(WARM_UP):  # both transports, so neither is measured on a colder JIT
            for read, write in sends.values():
                read()
                write()
        costs = {
            name: {
                "get": measure(read, emulator_cpu, warm_up=0),
                "commit": measure(write, emulator_cpu, warm_up=0),
            }
            for name, (read, write) in sends.items()
        }
        return [_row(costs["rest"], costs["grpc"])]
    finally:
        stop_gcloud_emulators(run_dir)
