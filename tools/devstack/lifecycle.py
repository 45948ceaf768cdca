"""Bring the local stack up and down: start the plan's processes, wire Pub/Sub, write stack.env.

:func:`up` is idempotent: when every part of the same plan already runs and answers it only says
so (and re-applies the Pub/Sub wiring, which is cheap). When something is missing, dead, or was
started with other ports or settings, it stops the stack's recorded processes and starts afresh. If
a part does not become ready, everything started is stopped again and :class:`StackError` names the
part and its log, with the log's last lines.

Files in the run directory: ``pids/`` and ``logs/`` (see :mod:`devstack.process`), ``stack.env``
(``KEY=VALUE`` for CLIs and shells), ``emulators.env`` (so the test harness reuses the emulators),
``stack.json`` (the fingerprints of what runs) and ``channel-token.env`` (kept across restarts).
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from devstack.gcloud_emulators import EMULATOR_NAMES, EmulatorEndpoints
from devstack.process import (
    ManagedProcess,
    NotReadyError,
    is_answering,
    running,
    stop_all,
    wait_until_ready,
)
from devstack.pubsub_wiring import PubsubRest, WiringError
from devstack.stack import (
    DEAD_LETTER_TOPIC,
    FUNCTIONS,
    Part,
    StackPlan,
    child_environment,
    port_flag,
)

__all__ = [
    "EMULATORS_ENV",
    "STACK_ENV",
    "STATE_FILE",
    "StackError",
    "UpResult",
    "down",
    "is_up",
    "read_env_file",
    "up",
    "wire_pubsub",
]

STACK_ENV = "stack.env"
EMULATORS_ENV = "emulators.env"
STATE_FILE = "stack.json"
_SCHEDULER_SETTLE_SECONDS = 0.5
_ALL_PART_NAMES = (
    *EMULATOR_NAMES,
    "calendar",
    "conferencing",
    "google_auth",
    *(spec.name for spec in FUNCTIONS),
    "scheduler",
)


class StackError(RuntimeError):
    """The stack could not be brought up; the message names the part and its log."""


@dataclass(frozen=True)
class UpResult:
    """What :func:`up` did."""

    already_up: bool
    env_path: Path


def read_env_file(path: Path) -> dict[str, str]:
    """``KEY=VALUE`` lines of ``path`` (comments and blank lines ignored); empty when absent."""
    if not path.is_file():
        return {}
    pairs: dict[str, str] = {}
    for line in path.read_text().splitlines():
        if line.startswith("#") or "=" not in line:
            continue
        key, value = line.split("=", 1)
        pairs[key.strip()] = value
    return pairs


def _write_env_file(path: Path, values: Mapping[str, str], comments: list[str]) -> None:
    lines = [f"# {comment}" for comment in comments]
    lines += [f"{key}={value}" for key, value in values.items()]
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o600)  # holds the channel-token keys


def _read_state(run_dir: Path) -> dict[str, object]:
    path = run_dir / STATE_FILE
    if not path.is_file():
        return {}
    try:
        state = json.loads(path.read_text())
    except json.JSONDecodeError:
        return {}
    return state if isinstance(state, dict) else {}


def is_up(plan: StackPlan, run_dir: Path) -> bool:
    """True when the stack recorded in ``run_dir`` is this plan, alive and answering."""
    if _read_state(run_dir).get("fingerprints") != plan.fingerprints():
        return False
    if not (run_dir / STACK_ENV).is_file():
        return False
    alive = running(run_dir)
    if any(name not in alive for name in plan.names):
        return False
    return all(is_answering(part.ready_url) for part in plan.parts if part.ready_url)


def wire_pubsub(plan: StackPlan) -> None:
    """Create the topics, the push subscriptions and the dead-letter pull subscription."""
    pubsub = PubsubRest(plan.stack_env["PUBSUB_EMULATOR_HOST"], plan.settings.project)
    for topic in plan.topics:
        pubsub.ensure_topic(topic)
    for subscription in plan.push_subscriptions:
        pubsub.ensure_push_subscription(subscription, DEAD_LETTER_TOPIC)
    pubsub.ensure_pull_subscription(plan.dead_letter_subscription, DEAD_LETTER_TOPIC)


def _port_in_use(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return True
    return False


def _preflight(plan: StackPlan) -> None:
    problems: list[str] = []
    ports = plan.settings.ports.by_part()
    for part in plan.parts:
        executable = Path(part.argv[0])
        if executable.is_absolute() and not executable.exists():
            problems.append(f"{part.name}: {executable.name} not found (run `make setup`)")
        port = ports.get(part.name)
        if port is not None and _port_in_use(plan.settings.host, port):
            problems.append(
                f"{part.name}: port {port} is in use by another process "
                f"(choose another with {port_flag(part.name)} or {part.name.upper()}_PORT=...)"
            )
    if problems:
        raise StackError("cannot start the stack:\n  " + "\n  ".join(problems))


def _tail(path: Path, lines: int = 8) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    last = text.splitlines()[-lines:]
    return "\n".join(f"    | {line}" for line in last)


def _start(part: Part, run_dir: Path) -> ManagedProcess:
    return ManagedProcess.start(
        part.name, part.argv, run_dir, marker=part.marker, env=child_environment(part)
    )


def _start_all(plan: StackPlan, run_dir: Path, timeout: float) -> None:
    started: list[tuple[ManagedProcess, Part]] = []
    try:
        for part in plan.parts:
            if part.kind != "scheduler":
                started.append((_start(part, run_dir), part))
        deadline = time.monotonic() + timeout
        for process, part in started:
            if part.ready_url:
                remaining = max(deadline - time.monotonic(), 1.0)
                wait_until_ready(process, part.ready_url, timeout=remaining)
        wire_pubsub(plan)
        for part in plan.parts:
            if part.kind == "scheduler":
                process = _start(part, run_dir)
                started.append((process, part))
                time.sleep(_SCHEDULER_SETTLE_SECONDS)
                if not process.alive():
                    raise NotReadyError(f"{part.name} exited at start; see {process.log_path}")
    except NotReadyError as err:
        stop_all(run_dir, names=[process.name for process, _ in started])
        failed = next((p for p, _ in started if str(p.log_path) in str(err)), None)
        tail = _tail(failed.log_path) if failed else ""
        raise StackError(
            f"{err}" + (f"\n  last lines of the log:\n{tail}" if tail else "")
        ) from err
    except WiringError as err:
        stop_all(run_dir, names=[process.name for process, _ in started])
        raise StackError(f"wiring Pub/Sub failed: {err}") from err
    except BaseException:
        stop_all(run_dir, names=[process.name for process, _ in started])
        raise


def _write_state(plan: StackPlan, run_dir: Path) -> Path:
    env_path = run_dir / STACK_ENV
    comments = ["confsync local stack (devstack up); KEY=VALUE, for CLIs and `set -a; . FILE`"]
    comments += [f"skipped: {skip.name} ({skip.reason})" for skip in plan.skipped]
    _write_env_file(env_path, plan.stack_env, comments)
    endpoints = EmulatorEndpoints(
        project=plan.settings.project,
        firestore_host=plan.stack_env["FIRESTORE_EMULATOR_HOST"],
        pubsub_host=plan.stack_env["PUBSUB_EMULATOR_HOST"],
    )
    (run_dir / EMULATORS_ENV).write_text(
        "".join(f"{key}={value}\n" for key, value in endpoints.env().items())
    )
    state = {
        "startedAt": datetime.now(UTC).isoformat(timespec="seconds"),
        "project": plan.settings.project,
        "fingerprints": plan.fingerprints(),
        "skipped": {skip.name: skip.reason for skip in plan.skipped},
    }
    (run_dir / STATE_FILE).write_text(json.dumps(state, indent=2) + "\n")
    return env_path


def up(
    plan: StackPlan,
    run_dir: Path,
    *,
    timeout: float = 60.0,
    say: Callable[[str], None] = print,
) -> UpResult:
    """Bring the stack of ``plan`` up under ``run_dir`` (see the module docstring)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    if is_up(plan, run_dir):
        try:
            wire_pubsub(plan)
        except WiringError as err:
            raise StackError(f"the stack runs but wiring Pub/Sub failed: {err}") from err
        return UpResult(already_up=True, env_path=run_dir / STACK_ENV)
    recorded = set(running(run_dir)) & set(_ALL_PART_NAMES)
    if recorded:
        say(
            "restarting: the running stack is incomplete or was started with other settings "
            f"({', '.join(sorted(recorded))} running)"
        )
        stop_all(run_dir, names=list(_ALL_PART_NAMES))
    for name in ("stack.env", EMULATORS_ENV, STATE_FILE):
        (run_dir / name).unlink(missing_ok=True)
    _preflight(plan)
    _start_all(plan, run_dir, timeout)
    return UpResult(already_up=False, env_path=_write_state(plan, run_dir))


def down(run_dir: Path) -> list[str]:
    """Stop every process recorded under ``run_dir``; remove the env files (keys are kept)."""
    stopped = stop_all(run_dir)
    for name in (STACK_ENV, EMULATORS_ENV, STATE_FILE):
        (run_dir / name).unlink(missing_ok=True)
    return stopped
