"""``python -m smoke``: the smoke against a deployed stack (default) or the local one.

Exit status: 0 every step arrived and nothing was left behind; 1 a step failed or timed out, or
the cleanup left something behind (named); 2 missing or bad configuration or credentials (each
variable or Terraform output named; nothing was created); 130 interrupted (after the cleanup).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from smoke.calendar import CalendarApi
from smoke.conferencing import ConferencingApi
from smoke.deployed import DeployedConfig, load_deployed, terraform_outputs
from smoke.enrolment import CliEnrolment
from smoke.operations import GoogleOperations, LocalOperations
from smoke.report import summary
from smoke.runner import Smoke, Timeouts
from smoke.user_credentials import SmokeConfigError, TokenError, token_source

__all__ = ["LOCAL_USER", "main"]

LOCAL_USER = "smoke@example.com"
"""The local stack's test user (of its allowed domain)."""
LOCAL_TIMEOUTS = Timeouts(enroll=60.0, change=20.0, delete=30.0)


@dataclass(frozen=True, slots=True)
class Wired:
    """A smoke ready to run and the Calendar client whose calls it counts."""

    smoke: Smoke
    calendar: CalendarApi
    stack_calls: Callable[[], dict[str, int]] | None = None
    """Locally: every Calendar call the stack has served so far, by method (the emulator's
    counters), so the report shows what confsync itself spent on the smoke."""


def _repo_root() -> Path:
    checkout = Path(__file__).resolve().parents[2]
    return checkout if (checkout / "terraform").is_dir() else Path.cwd()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m smoke", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--stack",
        choices=("deployed", "local"),
        default="deployed",
        help="deployed (Terraform's outputs) or local (make up's stack, else a private one)",
    )
    parser.add_argument(
        "--outputs",
        type=Path,
        help="deployed: a saved `terraform output -json` file instead of running terraform",
    )
    parser.add_argument(
        "--terraform-dir", type=Path, default=None, help="deployed: where to run terraform"
    )
    parser.add_argument(
        "--run-dir",
        type=Path,
        default=Path(".run"),
        help="local: the run directory of a `make up` stack (%(default)s); when none runs "
        "there, a private stack on free ports in a temporary directory",
    )
    parser.add_argument(
        "--enroll",
        choices=("cli", "addon"),
        default=None,
        help="how to enrol: confsync enroll, or the add-on's ID token at /v1/enroll (deployed: "
        "addon when CONFSYNC_SMOKE_ID_TOKEN is set; local: minted by the Google auth stand-in)",
    )
    parser.add_argument("--timeout", type=float, help="seconds an edit may take to arrive")
    parser.add_argument(
        "--delete-timeout", type=float, help="seconds the deletion may take (grace + tick)"
    )
    return parser


def _timeouts(args: argparse.Namespace, base: Timeouts) -> Timeouts:
    return Timeouts(
        enroll=base.enroll,
        change=args.timeout or base.change,
        delete=args.delete_timeout or base.delete,
    )


def _say(line: str) -> None:
    print(line, flush=True)


def _wire_deployed(
    config: DeployedConfig, args: argparse.Namespace, env: Mapping[str, str]
) -> Wired:
    tokens = token_source(config.user)
    tokens.token()  # fail fast (exit 2) before anything is created
    calendar = CalendarApi(config.calendar_api_url, tokens.token)
    outputs = config.outputs
    use_token = args.enroll == "addon" or (args.enroll is None and bool(config.id_token))
    if use_token and not config.id_token:
        raise SmokeConfigError(["CONFSYNC_SMOKE_ID_TOKEN is not set (--enroll addon)"])
    smoke = Smoke(
        user=config.user.email,
        calendar=calendar,
        conferencing=ConferencingApi(
            config.conferencing_url,
            credential=config.conferencing_credential,
            signing_secrets=config.signing_secrets,
        ),
        enrolment=CliEnrolment(
            {**env, **outputs.cli_env()},
            enroll_url=outputs.enroll_url,
            id_token=(lambda: config.id_token) if use_token else None,
        ),
        operations=GoogleOperations.with_default_credentials(
            project=outputs.project,
            dead_letter_subscription=outputs.dead_letter_subscription,
            scheduler_job=outputs.scheduler_job,
        ),
        solution_name=config.solution_name,
        timeouts=_timeouts(args, Timeouts()),
        say=_say,
    )
    return Wired(smoke, calendar)


def wire_local(
    env: Mapping[str, str], *, enroll: str = "cli", timeouts: Timeouts = LOCAL_TIMEOUTS
) -> Wired:
    """The smoke against the local stack whose ``stack.env`` values are ``env``."""
    user = LOCAL_USER
    calendar = CalendarApi(env["CALENDAR_API_URL"], lambda: f"user:{user}")
    id_token: Callable[[], str] | None = None
    if enroll == "addon":
        from devstack.client import StackClient  # noqa: PLC0415 - local only

        stack = StackClient(env)
        id_token = lambda: stack.id_token(user)  # noqa: E731
    pubsub = f"http://{env['PUBSUB_EMULATOR_HOST']}/v1/projects/{env['PROJECT']}"
    from devstack.stack import DEAD_LETTER_INSPECT_SUBSCRIPTION  # noqa: PLC0415 - local only

    smoke = Smoke(
        user=user,
        calendar=calendar,
        conferencing=ConferencingApi(env["CONFERENCING_URL"], credential=None),
        enrolment=CliEnrolment(
            {**os.environ, **env}, enroll_url=env["ENROLL_URL"], id_token=id_token
        ),
        operations=LocalOperations(
            pubsub=pubsub, dead_letter_subscription=DEAD_LETTER_INSPECT_SUBSCRIPTION
        ),
        solution_name="My Web Conference",
        timeouts=timeouts,
        say=_say,
        poll_seconds=0.05,
    )

    def stack_calls() -> dict[str, int]:
        answer = calendar.http.get(
            f"{env['CALENDAR_EMULATOR_URL'].rstrip('/')}/emulator/v1/requests", timeout=10
        )
        answer.raise_for_status()
        counts: dict[str, int] = answer.json()["counts"]
        return counts

    return Wired(smoke, calendar, stack_calls)


@contextmanager
def _local_env(run_dir: Path) -> Iterator[dict[str, str]]:
    """The running stack of ``run_dir``, else a private stack started for the run."""
    from devstack.demo import private_stack  # noqa: PLC0415 - local only
    from devstack.lifecycle import read_env_file  # noqa: PLC0415
    from devstack.process import running  # noqa: PLC0415

    env_file = run_dir / "stack.env"
    if env_file.is_file() and running(run_dir):
        _say(f"smoke: against the running local stack ({env_file})")
        yield read_env_file(env_file)
        return
    _say("smoke: no local stack running: starting a private one on free ports")
    with private_stack(None, project="confsync-smoke", say=_say) as client:
        yield client.env


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    del signum, frame
    raise KeyboardInterrupt


def _execute(wired: Wired) -> int:
    before = wired.stack_calls() if wired.stack_calls else None
    outcome = wired.smoke.run()
    stack_calls: dict[str, int] | None = None
    if wired.stack_calls is not None and before is not None:
        after = wired.stack_calls()
        stack_calls = {k: v - before.get(k, 0) for k, v in after.items() if v > before.get(k, 0)}
    for line in summary(outcome, wired.calendar.calls, stack_calls):
        _say(line)
    return outcome.exit_status


def run(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    """One smoke run; the exit status."""
    if args.stack == "local":
        with _local_env(args.run_dir) as stack_env:
            return _execute(wire_local(stack_env, enroll=args.enroll or "cli"))
    outputs_json: str | None = None
    problems: list[str] = []
    try:
        if args.outputs is not None:
            outputs_json = args.outputs.read_text(encoding="utf-8")
        else:
            outputs_json = terraform_outputs(args.terraform_dir or _repo_root() / "terraform")
    except OSError as err:
        problems.append(f"--outputs {args.outputs}: {err.strerror}")
    except SmokeConfigError as err:
        problems.extend(err.problems)
    try:
        config = load_deployed(env, outputs_json)
        if problems:
            raise SmokeConfigError(problems)
        wired = _wire_deployed(config, args, env)
    except SmokeConfigError as err:
        for problem in problems + [p for p in err.problems if p not in problems]:
            print(f"smoke: {problem}", file=sys.stderr, flush=True)
        print("smoke: nothing was created (exit 2)", file=sys.stderr, flush=True)
        return 2
    except TokenError as err:
        print(f"smoke: {err}", file=sys.stderr, flush=True)
        print("smoke: nothing was created (exit 2)", file=sys.stderr, flush=True)
        return 2
    _say(f"smoke: against project {config.outputs.project} as {config.user.email}")
    return _execute(wired)


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    """Entry point of ``python -m smoke``."""
    args = _parser().parse_args(argv)
    signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        return run(args, os.environ if env is None else env)
    except KeyboardInterrupt:
        print("smoke interrupted; cleaned up", file=sys.stderr, flush=True)
        return 130
