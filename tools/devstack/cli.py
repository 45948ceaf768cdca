"""``devstack``: run confsync's local stack (or just its emulators) in the background.

    devstack up          start the whole stack: emulators, functions, Pub/Sub wiring, scheduler
    devstack dev         up, then follow every part's log until Ctrl-C, then down
    devstack tick        publish one scheduler tick to channel-commands now
    devstack env         print the stack's environment (stack.env)
    devstack logs        follow every part's log (one readable line per event)
    devstack emulators   start the Firestore and Pub/Sub emulators only (reused when running)
    devstack status      list what runs, with PIDs
    devstack down        stop exactly the processes devstack started
    devstack check       check the machine prerequisites
    devstack demo        tell the seed's story on a private stack (free ports, temporary run dir)
    devstack bundle      build the reproducible function zips into RUN_DIR/bundle
    devstack plan        preflight, bundle, terraform init and plan (production)
    devstack deploy      preflight, bundle, terraform apply, dead-letter policies, next steps
    devstack destroy     terraform destroy, once the project id is confirmed

State lives in the run directory (``.run/`` by default): ``pids/``, ``logs/``, ``stack.env`` (after
``up``) and ``emulators.env`` (``KEY=VALUE`` lines to source or to pass to tools).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType

from deploy import commands as deploy
from devstack import prereqs
from devstack.demo import run as demo_run
from devstack.gcloud_emulators import (
    EMULATOR_NAMES,
    EmulatorEndpoints,
    start_gcloud_emulators,
    stop_gcloud_emulators,
)
from devstack.lifecycle import STACK_ENV, STATE_FILE, StackError, down, read_env_file, up
from devstack.logs import LogFollower, follow
from devstack.process import NotReadyError, is_answering, running
from devstack.pubsub_wiring import PubsubRest, WiringError
from devstack.scheduler import publish_tick
from devstack.sdk import MissingPrerequisiteError, find_jars
from devstack.stack import (
    CHANNEL_COMMANDS_TOPIC,
    DEFAULT_HOST,
    DEFAULT_PROJECT,
    DEFAULT_SOLUTION_NAMES,
    DEFAULT_TICK_INTERVAL,
    Ports,
    StackPlan,
    StackSettings,
    load_or_create_token_keys,
    plan_stack,
    port_flag,
)

__all__ = ["main"]

ENV_FILE = "emulators.env"


def _default_repo_root() -> Path:
    """The checkout this package lives in (editable install), else the current directory."""
    checkout = Path(__file__).resolve().parents[2]
    return checkout if (checkout / "functions").is_dir() else Path.cwd()


def _stack_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default=DEFAULT_HOST, help="address to bind (%(default)s)")
    parser.add_argument("--project", default=DEFAULT_PROJECT, help="project id (%(default)s)")
    for part, port in Ports().by_part().items():
        parser.add_argument(
            port_flag(part),
            type=int,
            default=port,
            help=f"port of {part} (%(default)s)",
        )
    parser.add_argument(
        "--tick-interval",
        type=float,
        default=DEFAULT_TICK_INTERVAL,
        help="seconds between scheduler ticks (%(default)s)",
    )
    parser.add_argument(
        "--solution-names",
        default=os.environ.get("CONFSYNC_SOLUTION_NAMES") or DEFAULT_SOLUTION_NAMES,
        help="CONFSYNC_SOLUTION_NAMES of the functions (default: %(default)s)",
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="set or override a function variable (repeatable)",
    )
    parser.add_argument(
        "--timeout", type=float, default=60.0, help="seconds to wait for the parts (%(default)s)"
    )
    parser.add_argument(
        "--repo-root",
        type=Path,
        default=_default_repo_root(),
        help="the checkout whose functions/ run (default: this checkout)",
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="devstack", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--run-dir",
        type=Path,
        default=Path(os.environ.get("CONFSYNC_RUN_DIR", ".run")),
        help="where PID files, logs and env files go (default: .run)",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    _stack_options(commands.add_parser("up", help="start the whole local stack"))
    _stack_options(commands.add_parser("dev", help="up, follow the logs until Ctrl-C, then down"))
    commands.add_parser("tick", help="publish one scheduler tick to channel-commands now")
    commands.add_parser("env", help="print the stack's environment (stack.env)")
    commands.add_parser("logs", help="follow every part's log until Ctrl-C")
    emulators = commands.add_parser("emulators", help="start the Firestore and Pub/Sub emulators")
    emulators.add_argument("--host", default="127.0.0.1")
    emulators.add_argument("--firestore-port", type=int, default=8681)
    emulators.add_argument("--pubsub-port", type=int, default=8682)
    emulators.add_argument("--project", default="confsync-local")
    commands.add_parser("status", help="list the running processes")
    commands.add_parser("down", help="stop every process devstack started")
    commands.add_parser("check", help="check the machine prerequisites")
    demo = commands.add_parser("demo", help="tell the seed's story on a private stack")
    demo.add_argument("--timeout", type=float, default=20.0, help="seconds per step (20)")
    demo.add_argument(  # never the global --run-dir: the demo must not touch `make up`'s stack
        "--run-dir", dest="demo_run_dir", type=Path, help="(default: a temporary directory)"
    )
    deploy.add_parsers(commands)
    return parser


def _write_env(run_dir: Path, endpoints: EmulatorEndpoints) -> Path:
    path = run_dir / ENV_FILE
    lines = [f"{key}={value}" for key, value in endpoints.env().items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def _read_env(run_dir: Path) -> dict[str, str]:
    return read_env_file(run_dir / ENV_FILE)


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


def _overrides(pairs: Sequence[str]) -> dict[str, str]:
    overrides: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"--set {pair!r}: expected KEY=VALUE")
        overrides[key] = value
    return overrides


def _plan(args: argparse.Namespace) -> StackPlan:
    if args.tick_interval <= 0:
        raise ValueError("--tick-interval must be positive")
    ports = Ports(**{part: getattr(args, f"{part}_port") for part in Ports().by_part()})
    settings = StackSettings(
        project=args.project,
        host=args.host,
        ports=ports,
        tick_interval=args.tick_interval,
        solution_names=args.solution_names,
        overrides=_overrides(args.set),
    )
    return plan_stack(
        settings,
        repo_root=args.repo_root.resolve(),
        jars=find_jars(),
        python=sys.executable,
        token_keys=load_or_create_token_keys(args.run_dir),
    )


def _describe(plan: StackPlan, run_dir: Path) -> None:
    triggers = {sub.endpoint.split("/projects/")[0]: sub.topic for sub in plan.push_subscriptions}
    width = max(len(name) for name in plan.names)
    print(f"confsync local stack is up (project {plan.settings.project})")
    for part in plan.parts:
        if part.ready_url is None:
            where = f"tick to {CHANNEL_COMMANDS_TOPIC} every {plan.settings.tick_interval:g} s"
        else:
            base = part.ready_url.split("/", 3)
            where = f"{base[0]}//{base[2]}"
            if where in triggers:
                where += f"  <- push from {triggers[where]}"
        print(f"  {part.name:<{width}}  {where}")
    for skip in plan.skipped:
        print(f"  {skip.name:<{width}}  SKIPPED: {skip.reason}")
    print(f"environment: {run_dir / STACK_ENV}   logs: {run_dir / 'logs'}")


def _warn_skipped(plan: StackPlan) -> None:
    for skip in plan.skipped:
        print(f"devstack: warning: function {skip.name} skipped: {skip.reason}", file=sys.stderr)


def _up_plan(args: argparse.Namespace) -> StackPlan | None:
    try:
        plan = _plan(args)
        _warn_skipped(plan)
        result = up(plan, args.run_dir, timeout=args.timeout)
    except (MissingPrerequisiteError, StackError, ValueError) as err:
        print(f"devstack: {err}", file=sys.stderr)
        return None
    if result.already_up:
        print(f"stack already up and healthy; environment in {result.env_path}")
    else:
        _describe(plan, args.run_dir)
    return plan


def _up(args: argparse.Namespace) -> int:
    return 0 if _up_plan(args) is not None else 1


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    del signum, frame
    raise KeyboardInterrupt


def _dev(args: argparse.Namespace) -> int:
    run_dir: Path = args.run_dir
    follower = LogFollower.from_end(run_dir / "logs", [*Ports().by_part(), "scheduler"])
    signal.signal(signal.SIGTERM, _raise_interrupt)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even when started ignoring it
    try:
        plan = _up_plan(args)
        if plan is None:
            return 1
        follower.parts = plan.names
        print("following the logs; Ctrl-C stops the stack", flush=True)
        follow(follower, run_dir=run_dir)
    except KeyboardInterrupt:
        print()
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut `down` short
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stopped = down(run_dir)
        print("stopped: " + (", ".join(stopped) if stopped else "nothing was running"))
    return 0


def _stack_env(run_dir: Path) -> dict[str, str] | None:
    env = read_env_file(run_dir / STACK_ENV)
    if not env:
        print(
            f"devstack: the stack is not up (no {run_dir / STACK_ENV}); run `make up`",
            file=sys.stderr,
        )
        return None
    return env


def _tick(args: argparse.Namespace) -> int:
    env = _stack_env(args.run_dir)
    if env is None:
        return 1
    try:
        message_id = publish_tick(
            PubsubRest(env["PUBSUB_EMULATOR_HOST"], env["PROJECT"]), CHANNEL_COMMANDS_TOPIC
        )
    except WiringError as err:
        print(f"devstack: tick not published: {err}", file=sys.stderr)
        return 1
    print(f"tick published to {CHANNEL_COMMANDS_TOPIC} (message {message_id})")
    if "channels" not in running(args.run_dir):
        print(
            "devstack: warning: the channels function is not running; nothing will handle it",
            file=sys.stderr,
        )
    return 0


def _env(args: argparse.Namespace) -> int:
    if _stack_env(args.run_dir) is None:
        return 1
    sys.stdout.write((args.run_dir / STACK_ENV).read_text())
    return 0


def _logs(args: argparse.Namespace) -> int:
    run_dir: Path = args.run_dir
    names = sorted(path.stem for path in (run_dir / "logs").glob("*.log"))
    if (run_dir / STATE_FILE).is_file() or names:
        try:
            follow(LogFollower.from_end(run_dir / "logs", names), run_dir=run_dir)
        except KeyboardInterrupt:
            print()
        return 0
    print(f"devstack: no logs under {run_dir / 'logs'}", file=sys.stderr)
    return 1


def _status(args: argparse.Namespace) -> int:
    alive = running(args.run_dir)
    if not alive:
        print("nothing running")
    for name, process in alive.items():
        print(f"{name}: pid {process.pid}, log {process.log_path}")
    return 0


def _down(args: argparse.Namespace) -> int:
    stopped = down(args.run_dir)
    print("stopped: " + (", ".join(stopped) if stopped else "nothing was running"))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``devstack`` console script."""
    args = _parser().parse_args(argv)
    handlers: dict[str, Callable[[argparse.Namespace], int]] = {
        "up": _up,
        "dev": _dev,
        "tick": _tick,
        "env": _env,
        "logs": _logs,
        "emulators": _emulators,
        "status": _status,
        "down": _down,
        "check": lambda _args: prereqs.main(),
        "demo": lambda args: demo_run(args.demo_run_dir, args.timeout),
        **deploy.handlers(_default_repo_root()),
    }
    return handlers[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
