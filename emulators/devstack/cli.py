"""``devstack``: run confsync's local emulators in the background.

    devstack emulators   start the Firestore and Pub/Sub emulators (reused when already running)
    devstack status      list what runs, with PIDs
    devstack down        stop exactly the processes devstack started
    devstack check       check the machine prerequisites

State lives in the run directory (``.run/`` by default): ``pids/``, ``logs/`` and
``emulators.env`` (``KEY=VALUE`` lines to source or to pass to tools).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from devstack import prereqs
from devstack.gcloud_emulators import (
    EMULATOR_NAMES,
    EmulatorEndpoints,
    start_gcloud_emulators,
    stop_gcloud_emulators,
)
from devstack.process import NotReadyError, is_answering, running, stop_all
from devstack.sdk import MissingPrerequisiteError

__all__ = ["main"]

ENV_FILE = "emulators.env"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="devstack", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--run-dir",
        type=Path,
        default=Path(os.environ.get("CONFSYNC_RUN_DIR", ".run")),
        help="where PID files, logs and env files go (default: .run)",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    emulators = commands.add_parser("emulators", help="start the Firestore and Pub/Sub emulators")
    emulators.add_argument("--host", default="127.0.0.1")
    emulators.add_argument("--firestore-port", type=int, default=8681)
    emulators.add_argument("--pubsub-port", type=int, default=8682)
    emulators.add_argument("--project", default="confsync-local")
    commands.add_parser("status", help="list the running processes")
    commands.add_parser("down", help="stop every process devstack started")
    commands.add_parser("check", help="check the machine prerequisites")
    return parser


def _write_env(run_dir: Path, endpoints: EmulatorEndpoints) -> Path:
    path = run_dir / ENV_FILE
    lines = [f"{key}={value}" for key, value in endpoints.env().items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def _read_env(run_dir: Path) -> dict[str, str]:
    path = run_dir / ENV_FILE
    if not path.is_file():
        return {}
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return dict(pairs)


def _emulators(args: argparse.Namespace) -> int:
    run_dir: Path = args.run_dir
    alive = running(run_dir)
    existing = EmulatorEndpoints.from_env(_read_env(run_dir))
    if (
        existing
        and all(name in alive for name in EMULATOR_NAMES)
        and all(
            is_answering(f"http://{host}/")
            for host in (existing.firestore_host, existing.pubsub_host)
        )
    ):
        print(f"emulators already running; environment in {run_dir / ENV_FILE}")
        return 0
    stop_gcloud_emulators(run_dir)
    try:
        endpoints = start_gcloud_emulators(
            run_dir,
            project=args.project,
            host=args.host,
            firestore_port=args.firestore_port,
            pubsub_port=args.pubsub_port,
        )
    except (MissingPrerequisiteError, NotReadyError) as err:
        print(f"devstack: {err}", file=sys.stderr)
        return 1
    env_path = _write_env(run_dir, endpoints)
    print(f"firestore emulator on {endpoints.firestore_host}")
    print(f"pubsub emulator on {endpoints.pubsub_host}")
    print(f"environment written to {env_path}")
    return 0


def _status(args: argparse.Namespace) -> int:
    alive = running(args.run_dir)
    if not alive:
        print("nothing running")
    for name, process in alive.items():
        print(f"{name}: pid {process.pid}, log {process.log_path}")
    return 0


def _down(args: argparse.Namespace) -> int:
    stopped = stop_all(args.run_dir)
    (args.run_dir / ENV_FILE).unlink(missing_ok=True)
    print("stopped: " + (", ".join(stopped) if stopped else "nothing was running"))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``devstack`` console script."""
    args = _parser().parse_args(argv)
    handlers: dict[str, Callable[[argparse.Namespace], int]] = {
        "emulators": _emulators,
        "status": _status,
        "down": _down,
        "check": lambda _args: prereqs.main(),
    }
    return handlers[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
