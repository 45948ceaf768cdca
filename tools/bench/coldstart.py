"""Scenario ``coldstart``: each function's import and first request, in fresh processes.

For each function (``intake``, ``sync``, ``channels``), with exactly the environment the local
stack gives it (from :func:`devstack.stack.plan_stack`) and a running stack behind it, ``SAMPLES``
times (each figure is the median of the samples; the machine is shared, so one sample is noisy):

* ``framework_import_s``: a fresh interpreter imports ``flask`` and ``functions_framework``, what
  any Python function pays whatever it does (interpreter start-up itself is not counted);
* ``import_s``: the same interpreter then imports ``functions/<name>/main.py`` (what a Cloud
  Functions instance does before it can serve): the framework's import plus the function's own;
* ``boot_s``: from starting ``functions-framework`` (gunicorn, as the stack runs it) until its
  port answers (``/robots.txt``, which never reaches the function);
* ``first_request_s``: then the first real request, until its answer: a genuine ``exists``
  notification for intake, a Pub/Sub push of a SyncRequest (for a calendar that is not enrolled)
  for sync, a Pub/Sub push of a tick (on an empty project) for channels. Clients built lazily on
  the first request are in this figure; ``second_request_ms`` is the same request again, warm;
* ``own_cold_s``: confsync's own cold start, ``import_s - framework_import_s + first_request_s``
  of one sample (so moving an import into the first request changes nothing); issue #14 asks it
  to be at most ``framework_import_s`` for intake and twice that for sync and channels;
* ``import_breakdown_s``: ``python -X importtime`` (one more process): the cumulative import time
  of the modules ``main.py`` imports directly, the slowest first, and ``firestore_import_s``, the
  cumulative time of ``google.cloud.firestore`` wherever it was first imported (0 when the
  function never imports it).
"""

from __future__ import annotations

import base64
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests

from bench.stack import planned_stack
from confsync.channel_tokens import ChannelTokenKeys, mint_channel_token
from confsync.messages import (
    SyncRequest,
    TickCommand,
    encode_channel_command,
    encode_sync_request,
)
from devstack.gcloud_emulators import free_port
from devstack.process import serving
from devstack.stack import Part, StackPlan, child_environment

__all__ = ["FUNCTIONS", "SAMPLES", "cold_figures", "import_breakdown", "run"]

PROJECT = "confsync-bench-coldstart"
FUNCTIONS = ("intake", "sync", "channels")
READY_TIMEOUT_S = 60.0
SAMPLES = 5
_IMPORT = (
    "import importlib.util, sys, time\n"
    "started = time.perf_counter()\n"
    "import flask, functions_framework\n"
    "framework = time.perf_counter()\n"
    "spec = importlib.util.spec_from_file_location('main', sys.argv[1])\n"
    "module = importlib.util.module_from_spec(spec)\n"
    "spec.loader.exec_module(module)\n"
    "print(framework - started, time.perf_counter() - started)\n"
)


def _source(part: Part) -> str:
    return next(arg.split("=", 1)[1] for arg in part.argv if arg.startswith("--source="))


def _import(part: Part) -> tuple[float, float]:
    """One fresh process: (import time of the framework, import time of ``main.py`` with it)."""
    done = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", _IMPORT, _source(part)],
        env=child_environment(part),
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    framework, total = done.stdout.strip().splitlines()[-1].split()
    return float(framework), float(total)


def cold_figures(
    imports: Sequence[tuple[float, float]], serves: Sequence[Mapping[str, float]]
) -> dict[str, float]:
    """One function's figures from its samples, each the median over the samples: ``imports``
    holds (framework import, whole import) per fresh process, ``serves`` the figures of
    :func:`_serve` per fresh server; sample ``i`` of both makes the ``i``-th ``own_cold_s``."""
    if not imports or len(imports) != len(serves):
        raise ValueError("cold_figures needs as many import samples as served ones, at least one")
    own = [
        total - framework + served["first_request_s"]
        for (framework, total), served in zip(imports, serves, strict=True)
    ]
    framework_s = statistics.median([framework for framework, _ in imports])
    own_cold_s = statistics.median(own)
    return {
        "framework_import_s": round(framework_s, 3),
        "import_s": round(statistics.median([total for _, total in imports]), 3),
        "own_cold_s": round(own_cold_s, 3),
        **{key: round(statistics.median([s[key] for s in serves]), 3) for key in serves[0]},
    }


def import_breakdown(importtime_stderr: str) -> tuple[dict[str, float], float]:
    """From ``-X importtime`` output: cumulative seconds of each top-level import (grouped by its
    first two name parts), and of ``google.cloud.firestore`` (0 when absent)."""
    top: dict[str, float] = defaultdict(float)
    firestore = 0.0
    for line in importtime_stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        parts = line.split("|")
        if len(parts) != 3 or not parts[1].strip().isdigit():
            continue
        cumulative = int(parts[1]) / 1e6
        name = parts[2].rstrip()
        module = name.strip()
        if module == "google.cloud.firestore" and not firestore:
            firestore = cumulative
        if module == "site":  # the interpreter's own start-up, before main.py
            continue
        if name.startswith(" ") and not name.startswith("  "):  # depth 0: imported by main.py
            top[".".join(module.split(".")[:2])] += cumulative
    return dict(top), firestore


def _breakdown(part: Part) -> tuple[dict[str, float], float]:
    done = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-X", "importtime", "-c", _IMPORT, _source(part)],
        env=child_environment(part),
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return import_breakdown(done.stderr)


def _request(plan: StackPlan, name: str) -> Callable[[requests.Session, str], int]:
    """The first request of function ``name``: a function of (session, base URL) -> status."""
    project = plan.settings.project
    if name == "intake":
        env = plan.part("intake").env
        keys = ChannelTokenKeys.parse(
            env["CONFSYNC_CHANNEL_TOKEN_KEYS"], env["CONFSYNC_CHANNEL_TOKEN_ACTIVE_KEY"]
        )
        expires = datetime.now(UTC) + timedelta(days=1)
        headers = {
            "X-Goog-Channel-ID": "coldstart-channel",
            "X-Goog-Channel-Token": mint_channel_token(
                keys, "coldstart-channel", "ck_coldstart", expires=expires
            ),
            "X-Goog-Message-Number": "2",
            "X-Goog-Resource-ID": "coldstart-resource",
            "X-Goog-Resource-State": "exists",
            "X-Goog-Resource-URI": "https://www.googleapis.com/calendar/v3/calendars/c/events",
        }
        return lambda http, base: http.post(f"{base}/", headers=headers, timeout=60).status_code
    if name == "sync":
        payload = encode_sync_request(
            SyncRequest(calendar_key="ck_coldstart", reason="manual", notified_at=datetime.now(UTC))
        )
        topic = "sync-requests"
    else:
        payload = encode_channel_command(TickCommand(issued_at=datetime.now(UTC)))
        topic = "channel-commands"
    envelope = {
        "message": {
            "data": base64.b64encode(payload).decode(),
            "messageId": "1",
            "publishTime": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        },
        "subscription": f"projects/{project}/subscriptions/coldstart",
    }
    path = f"/projects/{project}/topics/{topic}"
    return lambda http, base: http.post(f"{base}{path}", json=envelope, timeout=60).status_code


def _serve(plan: StackPlan, name: str, run_dir: Path) -> dict[str, float]:
    part = plan.part(name)
    port = free_port()
    argv = [arg for arg in part.argv if not arg.startswith("--port=")] + [f"--port={port}"]
    base = f"http://127.0.0.1:{port}"
    send = _request(plan, name)
    http = requests.Session()
    started = time.monotonic()
    with serving(
        f"coldstart-{name}",
        argv,
        run_dir,
        marker=f"--port={port}",
        ready_url=f"{base}/robots.txt",
        env=child_environment(part),
        timeout=READY_TIMEOUT_S,
        interval=0.01,
    ):
        ready = time.monotonic()
        status = send(http, base)
        first = time.monotonic()
        second_status = send(http, base)
        second = time.monotonic()
    if not (200 <= status < 300 and 200 <= second_status < 300):
        raise RuntimeError(f"{name}: the first requests answered {status}, {second_status}")
    return {
        "boot_s": round(ready - started, 3),
        "first_request_s": round(first - ready, 3),
        "second_request_ms": round((second - first) * 1000, 1),
    }


def run() -> list[dict[str, Any]]:
    """One row ``coldstart``: the slowest function's figures, and every function's."""
    functions: dict[str, dict[str, Any]] = {}
    with (
        planned_stack("confsync", project=PROJECT) as (_client, plan),
        tempfile.TemporaryDirectory(prefix="confsync-bench-coldstart-") as scratch,
    ):
        for name in FUNCTIONS:
            part = plan.part(name)
            top, firestore = _breakdown(part)
            slowest = sorted(top.items(), key=lambda item: -item[1])[:4]
            imports = [_import(part) for _ in range(SAMPLES)]
            serves = [_serve(plan, name, Path(scratch)) for _ in range(SAMPLES)]
            functions[name] = {
                **cold_figures(imports, serves),
                "firestore_import_s": round(firestore, 3),
                "import_breakdown_s": {module: round(s, 3) for module, s in slowest},
            }
    return [
        {
            "name": "coldstart",
            "import_s": max(f["import_s"] for f in functions.values()),
            "first_request_s": max(f["first_request_s"] for f in functions.values()),
            "functions": functions,
            "notes": (
                f"medians of {SAMPLES} fresh processes per function; import_s and "
                "first_request_s: the slowest function; per function below"
            ),
        }
    ]


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
