"""Start and stop the Firestore and Pub/Sub emulators from the gcloud SDK.

Used by ``make emulators`` / ``make down`` (through ``devstack``) and by the pytest harness. Each
emulator is one Java process bound to ``host:port``; it is ready when ``GET http://host:port/``
answers. State is reset cheaply between tests (see :func:`reset_firestore`, :func:`reset_pubsub`).
"""

from __future__ import annotations

import json
import socket
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from devstack.process import ManagedProcess, stop_all, wait_until_ready
from devstack.sdk import SdkJars, find_jars

__all__ = [
    "EMULATOR_NAMES",
    "JVM_OPTIONS",
    "EmulatorEndpoints",
    "emulator_argv",
    "free_port",
    "reset_firestore",
    "reset_pubsub",
    "start_gcloud_emulators",
    "stop_gcloud_emulators",
]

EMULATOR_NAMES = ("firestore", "pubsub")


@dataclass(frozen=True)
class EmulatorEndpoints:
    """Where the two emulators listen, as the ``host:port`` strings the clients expect."""

    project: str
    firestore_host: str
    pubsub_host: str

    def env(self) -> dict[str, str]:
        """The environment variables that point Google's client libraries at the emulators."""
        return {
            "FIRESTORE_EMULATOR_HOST": self.firestore_host,
            "PUBSUB_EMULATOR_HOST": self.pubsub_host,
            "GOOGLE_CLOUD_PROJECT": self.project,
        }

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> EmulatorEndpoints | None:
        """Endpoints named by the environment, or None when either variable is unset."""
        firestore, pubsub = env.get("FIRESTORE_EMULATOR_HOST"), env.get("PUBSUB_EMULATOR_HOST")
        if not firestore or not pubsub:
            return None
        project = env.get("GOOGLE_CLOUD_PROJECT") or "confsync-local"
        return cls(project=project, firestore_host=firestore, pubsub_host=pubsub)


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


JVM_OPTIONS = ("-XX:TieredStopAtLevel=1",)
"""Options of both emulators' JVMs. ``TieredStopAtLevel=1``: the client compiler only. The
emulators are short-lived development processes on two shared cores, where the server compiler
kept compiling through whole test runs and benchmarks, taking CPU from everything else: measured
with ``python -m bench --only firestore_transport`` / ``--only fanout``, the Firestore emulator's
CPU per REST request fell from about 2.0 to 1.3 ms (gRPC 0.7 to 0.5) and the Firestore and
Pub/Sub emulators' CPU per ``fanout`` run by about 60 %. See
``docs/decisions/2026-12-05-emulator-jvm-options.md``."""


def _firestore_argv(jars: SdkJars, host: str, port: int) -> list[str]:
    return [
        "java",
        *JVM_OPTIONS,
        "-Duser.language=en",
        "-cp",
        str(jars.firestore),
        "com.google.cloud.datastore.emulator.firestore.CloudFirestore",
        "start",
        f"--host={host}",
        f"--port={port}",
    ]


def _pubsub_argv(jars: SdkJars, host: str, port: int) -> list[str]:
    return ["java", *JVM_OPTIONS, "-jar", str(jars.pubsub), f"--host={host}", f"--port={port}"]


def emulator_argv(name: str, jars: SdkJars, host: str, port: int) -> list[str]:
    """The command line that runs emulator ``name`` (``firestore`` or ``pubsub``) on host:port.

    Its ``--port=PORT`` argument is the marker that identifies the process later.
    """
    builders = {"firestore": _firestore_argv, "pubsub": _pubsub_argv}
    if name not in builders:
        raise ValueError(f"unknown emulator {name!r}; known: {', '.join(EMULATOR_NAMES)}")
    return builders[name](jars, host, port)


def start_gcloud_emulators(
    run_dir: Path,
    *,
    project: str,
    host: str = "127.0.0.1",
    firestore_port: int,
    pubsub_port: int,
    timeout: float = 60.0,
) -> EmulatorEndpoints:
    """Start both emulators in the background, wait until both answer, return their endpoints.

    If either fails to start, whatever was started is stopped again before the error propagates.
    """
    jars = find_jars()
    plan = [
        ("firestore", _firestore_argv(jars, host, firestore_port), firestore_port),
        ("pubsub", _pubsub_argv(jars, host, pubsub_port), pubsub_port),
    ]
    started: list[tuple[ManagedProcess, str]] = []
    try:
        for name, argv, port in plan:
            marker = f"--port={port}"
            process = ManagedProcess.start(name, argv, run_dir, marker=marker)
            started.append((process, f"http://{host}:{port}/"))
        for process, url in started:
            wait_until_ready(process, url, timeout=timeout)
    except BaseException:
        stop_all(run_dir, names=[process.name for process, _ in started])
        raise
    return EmulatorEndpoints(
        project=project,
        firestore_host=f"{host}:{firestore_port}",
        pubsub_host=f"{host}:{pubsub_port}",
    )


def stop_gcloud_emulators(run_dir: Path) -> list[str]:
    """Stop the emulators recorded under ``run_dir``; return the names that were running."""
    return stop_all(run_dir, names=list(EMULATOR_NAMES))


def _request(method: str, url: str, timeout: float = 10.0) -> bytes:
    request = urllib.request.Request(url, method=method)  # noqa: S310 - local http only
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - local http
        body: bytes = response.read()
        return body


def reset_firestore(endpoints: EmulatorEndpoints) -> None:
    """Delete every document of the project's default database (about 10-20 ms)."""
    _request(
        "DELETE",
        f"http://{endpoints.firestore_host}/emulator/v1/projects/{endpoints.project}"
        "/databases/(default)/documents",
    )


def reset_pubsub(endpoints: EmulatorEndpoints) -> None:
    """Delete every topic and subscription of the endpoints' project (a few ms).

    Scoped to one project, unlike the emulator's global ``POST /reset``, so tests can share an
    emulator with a running local stack that uses another project id.
    """
    base = f"http://{endpoints.pubsub_host}/v1/projects/{endpoints.project}"
    for collection, key in (("subscriptions", "subscriptions"), ("topics", "topics")):
        listing = json.loads(_request("GET", f"{base}/{collection}?pageSize=1000") or b"{}")
        for item in listing.get(key, []):
            name = item if isinstance(item, str) else item["name"]
            _request("DELETE", f"http://{endpoints.pubsub_host}/v1/{name}")
