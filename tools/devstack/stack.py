"""The local stack's plan: which processes run, on which ports, with which environment.

:func:`plan_stack` is pure: from :class:`StackSettings` (project, host, ports, tick interval,
overrides), the repository root, the emulator jars and the channel-token keys it computes every
part's command line, readiness URL and environment, the Pub/Sub push subscriptions production
also has (``terraform/delivery.tf``), and the ``stack.env`` a CLI needs to talk to the stack.
:mod:`devstack.lifecycle` runs it.

=============  ============  ==================================================================
part           default port  process
=============  ============  ==================================================================
firestore      8681          Firestore emulator (gcloud SDK jar)
pubsub         8682          Pub/Sub emulator (gcloud SDK jar)
calendar       8683          ``calendar-emulator`` (Google Calendar API v3 stand-in)
conferencing   8684          ``conferencing-emulator``
google_auth    8685          ``google-auth-emulator`` (Google's token endpoint, signJwt, and the
                             ID tokens an add-on gets for its user, with their certificates)
intake         8691          functions-framework, target ``intake`` (http)
sync           8692          functions-framework, target ``sync`` (cloudevent on sync-requests)
channels       8693          functions-framework, target ``channels`` (cloudevent on
                             channel-commands)
scheduler      (none)        ``python -m devstack.scheduler``: the Cloud Scheduler job's tick
=============  ============  ==================================================================

Intake accepts add-on enrolments (``POST /v1/enroll``) with ID tokens of the audience
:data:`LOCAL_ENROLL_AUDIENCE`, verified against the Google auth stand-in's certificates; the stack
allows the users of :data:`LOCAL_ALLOWED_DOMAINS`. ``stack.env`` says where and what:
``ENROLL_URL``, ``ENROLL_AUDIENCE``, ``ALLOWED_DOMAINS`` (also as ``CONFSYNC_ALLOWED_DOMAINS``,
for the confsync command line) and ``GOOGLE_AUTH_EMULATOR_URL`` (which mints the tokens:
``POST /emulator/v1/id-tokens``).

The functions are data (:data:`FUNCTIONS`): one whose ``functions/<name>/main.py`` does not exist
is skipped with a reason (and gets no push subscription), so the stack comes up while a function is
still being written. Each function gets exactly the confsync variables that
:data:`confsync.config.VARIABLES` says it reads, plus the emulator hosts.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

from confsync.config import DEFAULT_SOLUTION_NAMES, VARIABLES
from devstack.gcloud_emulators import emulator_argv, free_port
from devstack.pubsub_wiring import PushSubscription
from devstack.sdk import SdkJars

__all__ = [
    "CHANNEL_COMMANDS_TOPIC",
    "DEAD_LETTER_INSPECT_SUBSCRIPTION",
    "DEAD_LETTER_TOPIC",
    "DEFAULT_HOST",
    "DEFAULT_PROJECT",
    "DEFAULT_SOLUTION_NAMES",
    "DEFAULT_TICK_INTERVAL",
    "FUNCTIONS",
    "LOCAL_ALLOWED_DOMAINS",
    "LOCAL_DELETE_GRACE_SECONDS",
    "LOCAL_ENROLL_AUDIENCE",
    "LOCAL_JOIN_URL_HOSTS",
    "LOCAL_MOVE_WAIT_SECONDS",
    "LOCAL_SETTINGS",
    "STACK_ENV_KEYS",
    "SYNC_TOPIC",
    "FunctionSpec",
    "Part",
    "Ports",
    "SkippedFunction",
    "StackPlan",
    "StackSettings",
    "TokenKeys",
    "child_environment",
    "load_or_create_token_keys",
    "plan_stack",
    "port_flag",
]

DEFAULT_PROJECT = "confsync-local"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_TICK_INTERVAL = 60.0

SYNC_TOPIC = "sync-requests"
CHANNEL_COMMANDS_TOPIC = "channel-commands"
DEAD_LETTER_TOPIC = "confsync-dead-letter"
DEAD_LETTER_INSPECT_SUBSCRIPTION = "confsync-dead-letter-inspect"

#: Shorter than production so that renewals and sweeps happen while you watch (the minimums the
#: configuration accepts are 60 s): a channel lives 15 min and is renewed in its last 10 min, a
#: calendar is swept 2 min after its last sync, then ever more rarely while quiet, at least every
#: 10 min.
LOCAL_SETTINGS: Mapping[str, str] = {
    "CONFSYNC_CHANNEL_TTL_SECONDS": "900",
    "CONFSYNC_RENEWAL_WINDOW_SECONDS": "600",
    "CONFSYNC_SWEEP_INTERVAL_SECONDS": "120",
    "CONFSYNC_SWEEP_MAX_INTERVAL_SECONDS": "600",
}

#: The hosts of the conferencing emulator's join URLs (``https://conference.example/j/<id>``):
#: the sync function's ``CONFSYNC_JOIN_URL_HOSTS`` on the local stack.
LOCAL_JOIN_URL_HOSTS = "conference.example"

#: The local stack's ``CONFSYNC_ALLOWED_DOMAINS``: the emulators' users are all of example.com, and
#: a single domain lets a refusal of any other be shown (``--set CONFSYNC_ALLOWED_DOMAINS=...``).
LOCAL_ALLOWED_DOMAINS = "example.com"

#: The OAuth client id the local stack's add-on "has": intake's ``CONFSYNC_ENROLL_AUDIENCES``, and
#: the audience to ask the Google auth stand-in's ID tokens for (``ENROLL_AUDIENCE``).
LOCAL_ENROLL_AUDIENCE = "confsync-local-addon.apps.example"

#: Where the Google auth stand-in publishes its ID tokens' certificates (Google's v1 format).
_CERTS_PATH = "/oauth2/v1/certs"

#: The sync function's delete grace on the local stack: at most 5 s, which a run waits out.
LOCAL_DELETE_GRACE_SECONDS = "2"

#: How long a delete waits for a moved event to be counted on the local stack: longer than a
#: pull slowed by faults takes, short against the chaos suite's quiet period.
LOCAL_MOVE_WAIT_SECONDS = "10"

#: The keys of ``stack.env``, in the order they are written.
STACK_ENV_KEYS = (
    "PROJECT",
    "GOOGLE_CLOUD_PROJECT",
    "FIRESTORE_EMULATOR_HOST",
    "PUBSUB_EMULATOR_HOST",
    "CALENDAR_API_URL",
    "CALENDAR_EMULATOR_URL",
    "CONFERENCING_URL",
    "INTAKE_URL",
    "SYNC_URL",
    "CHANNELS_URL",
    "CONFSYNC_CHANNEL_TOKEN_KEYS",
    "CONFSYNC_CHANNEL_TOKEN_ACTIVE_KEY",
    "CONFSYNC_INTAKE_URL",
    "ENROLL_URL",
    "ENROLL_AUDIENCE",
    "ALLOWED_DOMAINS",
    "CONFSYNC_ALLOWED_DOMAINS",
    "GOOGLE_AUTH_EMULATOR_URL",
)

_TOKEN_FILE = "channel-token.env"  # noqa: S105 - a file name
_CONFSYNC_NAMES = frozenset(variable.name for variable in VARIABLES)
#: Never inherited from the developer's shell: the plan sets the hosts, and a conferencing
#: emulator that demanded a credential or signatures the functions are not given would refuse them.
_STRIPPED_NAMES = frozenset(
    {
        "FIRESTORE_EMULATOR_HOST",
        "PUBSUB_EMULATOR_HOST",
        "CONFERENCING_EMULATOR_CREDENTIAL",
        "CONFERENCING_EMULATOR_SIGNING_SECRET",
    }
)
PartKind = Literal["emulator", "function", "scheduler"]


def port_flag(part: str) -> str:
    """The ``devstack up`` flag of a part's port: ``--google-auth-port`` for ``google_auth``."""
    return f"--{part.replace('_', '-')}-port"


@dataclass(frozen=True)
class Ports:
    """The TCP port of every part that listens (fixed so URLs stay the same across restarts)."""

    firestore: int = 8681
    pubsub: int = 8682
    calendar: int = 8683
    conferencing: int = 8684
    google_auth: int = 8685
    intake: int = 8691
    sync: int = 8692
    channels: int = 8693

    def by_part(self) -> dict[str, int]:
        """Ports by part name."""
        return dict(asdict(self))

    def cli_args(self) -> list[str]:
        """These ports as ``devstack up`` flags: ``--calendar-port 8683 ...``."""
        return [
            arg for part, port in self.by_part().items() for arg in (port_flag(part), str(port))
        ]

    @classmethod
    def free(cls) -> Ports:
        """Distinct free ports for every part (a private stack beside any other)."""
        names = list(cls().by_part())
        chosen: list[int] = []
        while len(chosen) < len(names):
            port = free_port()
            if port not in chosen:
                chosen.append(port)
        return cls(**dict(zip(names, chosen, strict=True)))


@dataclass(frozen=True)
class FunctionSpec:
    """One Cloud Function: its folder under ``functions/``, entry point and trigger."""

    name: str
    target: str
    signature: Literal["http", "cloudevent"]
    topic: str | None = None

    @property
    def subscription(self) -> str | None:
        """The push subscription feeding the function (production's has a prefixed name)."""
        return f"{self.topic}-to-{self.name}" if self.topic else None


FUNCTIONS: tuple[FunctionSpec, ...] = (
    FunctionSpec("intake", "intake", "http"),
    FunctionSpec("sync", "sync", "cloudevent", SYNC_TOPIC),
    FunctionSpec("channels", "channels", "cloudevent", CHANNEL_COMMANDS_TOPIC),
)


@dataclass(frozen=True)
class TokenKeys:
    """The channel-token HMAC keys of the local stack (generated once, kept in the run dir)."""

    keys: str
    active: str

    def env(self) -> dict[str, str]:
        """The two variables intake and channels read."""
        return {
            "CONFSYNC_CHANNEL_TOKEN_KEYS": self.keys,
            "CONFSYNC_CHANNEL_TOKEN_ACTIVE_KEY": self.active,
        }


def load_or_create_token_keys(run_dir: Path) -> TokenKeys:
    """The keys kept in ``run_dir``; generated (random, mode 0600) on first use.

    Kept across ``down``/``up`` so channels minted before a restart still verify.
    """
    path = run_dir / _TOKEN_FILE
    if path.is_file():
        pairs = dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
        keys = pairs.get("CONFSYNC_CHANNEL_TOKEN_KEYS", "")
        active = pairs.get("CONFSYNC_CHANNEL_TOKEN_ACTIVE_KEY", "")
        if keys and active:
            return TokenKeys(keys=keys, active=active)
    token = TokenKeys(keys=f"local1:{secrets.token_urlsafe(32)}", active="local1")
    run_dir.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write("".join(f"{key}={value}\n" for key, value in token.env().items()))
    return token


@dataclass(frozen=True)
class StackSettings:
    """What the developer chooses (CLI flags, Makefile variables)."""

    project: str = DEFAULT_PROJECT
    host: str = DEFAULT_HOST
    ports: Ports = field(default_factory=Ports)
    tick_interval: float = DEFAULT_TICK_INTERVAL
    solution_names: str = DEFAULT_SOLUTION_NAMES
    overrides: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Part:
    """One background process of the stack."""

    name: str
    kind: PartKind
    argv: tuple[str, ...]
    marker: str
    ready_url: str | None
    env: Mapping[str, str] = field(default_factory=dict)

    def fingerprint(self) -> str:
        """Changes whenever the command line or the environment changes."""
        blob = json.dumps({"argv": self.argv, "env": dict(sorted(self.env.items()))})
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class SkippedFunction:
    """A function left out of the stack, and why."""

    name: str
    reason: str


@dataclass(frozen=True)
class StackPlan:
    """Everything ``devstack up`` starts, wires and writes."""

    settings: StackSettings
    parts: tuple[Part, ...]
    skipped: tuple[SkippedFunction, ...]
    topics: tuple[str, ...]
    push_subscriptions: tuple[PushSubscription, ...]
    dead_letter_subscription: str
    stack_env: Mapping[str, str]

    @property
    def names(self) -> list[str]:
        """Part names in start order."""
        return [part.name for part in self.parts]

    def part(self, name: str) -> Part:
        """The part called ``name``."""
        for part in self.parts:
            if part.name == name:
                return part
        raise KeyError(name)

    def fingerprints(self) -> dict[str, str]:
        """Part name to fingerprint, to tell whether a running stack matches this plan."""
        return {part.name: part.fingerprint() for part in self.parts}


def _connect_host(host: str) -> str:
    """The address clients use to reach a server bound to ``host``."""
    return "127.0.0.1" if host in ("", "0.0.0.0", "::") else host  # noqa: S104 - a comparison


def _first_audience(audiences: str) -> str:
    """One audience intake accepts (the first listed); empty when enrolment is off."""
    return next((name.strip() for name in audiences.split(",") if name.strip()), "")


def _function_env(spec: FunctionSpec, values: Mapping[str, str]) -> dict[str, str]:
    """The values ``spec`` reads according to confsync.config, plus names config does not know."""
    used_by = {variable.name: variable.used_by for variable in VARIABLES}
    return {
        key: value
        for key, value in values.items()
        if key not in used_by or spec.name in used_by[key]
    }


def plan_stack(
    settings: StackSettings,
    *,
    repo_root: Path,
    jars: SdkJars,
    python: str,
    token_keys: TokenKeys,
    functions: tuple[FunctionSpec, ...] = FUNCTIONS,
) -> StackPlan:
    """Compute the whole stack; nothing is started or written."""
    host, ports = settings.host, settings.ports
    connect = _connect_host(host)
    bin_dir = Path(python).parent

    def url(port: int) -> str:
        return f"http://{connect}:{port}"

    emulator_hosts = {
        "FIRESTORE_EMULATOR_HOST": f"{connect}:{ports.firestore}",
        "PUBSUB_EMULATOR_HOST": f"{connect}:{ports.pubsub}",
    }
    values: dict[str, str] = {
        "GOOGLE_CLOUD_PROJECT": settings.project,
        "CONFSYNC_CALENDAR_CREDENTIALS": "emulator",
        "CALENDAR_API_URL": f"{url(ports.calendar)}/calendar/v3/",
        "CONFERENCING_URL": url(ports.conferencing),
        "CONFSYNC_INTAKE_URL": url(ports.intake),
        **token_keys.env(),
        "CONFSYNC_SOLUTION_NAMES": settings.solution_names,
        "CONFSYNC_JOIN_URL_HOSTS": LOCAL_JOIN_URL_HOSTS,
        "CONFSYNC_ALLOWED_DOMAINS": LOCAL_ALLOWED_DOMAINS,
        "CONFSYNC_ENROLL_AUDIENCES": LOCAL_ENROLL_AUDIENCE,
        "GOOGLE_ID_TOKEN_CERTS_URL": url(ports.google_auth) + _CERTS_PATH,
        "LOG_LEVEL": "INFO",
        **LOCAL_SETTINGS,
        # Short enough for the run to wait it out (no tick needed): the demo and the e2e tests
        # see a deletion within seconds (docs/decisions/2026-12-03-delete-grace.md).
        "CONFSYNC_DELETE_GRACE_SECONDS": LOCAL_DELETE_GRACE_SECONDS,
        "CONFSYNC_MOVE_WAIT_SECONDS": LOCAL_MOVE_WAIT_SECONDS,
        **settings.overrides,
    }
    runtime = {**emulator_hosts, "PYTHONUNBUFFERED": "1"}

    parts: list[Part] = [
        Part(
            name,
            "emulator",
            tuple(emulator_argv(name, jars, host, port)),
            f"--port={port}",
            f"{url(port)}/",
        )
        for name, port in (("firestore", ports.firestore), ("pubsub", ports.pubsub))
    ]
    for name, executable, port, ready_path in (
        ("calendar", "calendar-emulator", ports.calendar, "/emulator/v1/stats"),
        ("conferencing", "conferencing-emulator", ports.conferencing, "/emulator/v1/faults"),
        ("google_auth", "google-auth-emulator", ports.google_auth, _CERTS_PATH),
    ):
        argv = (str(bin_dir / executable), f"--host={host}", f"--port={port}")
        parts.append(Part(name, "emulator", argv, f"--port={port}", url(port) + ready_path))

    skipped: list[SkippedFunction] = []
    subscriptions: list[PushSubscription] = []
    by_part = ports.by_part()
    for spec in functions:
        source = repo_root / "functions" / spec.name / "main.py"
        if not source.is_file():
            skipped.append(SkippedFunction(spec.name, f"functions/{spec.name}/main.py is missing"))
            continue
        port = by_part[spec.name]
        command = (
            str(bin_dir / "functions-framework"),
            f"--target={spec.target}",
            f"--source={source}",
            f"--signature-type={spec.signature}",
            f"--host={host}",
            f"--port={port}",
        )
        env = {**_function_env(spec, values), **runtime}
        # functions-framework answers /robots.txt itself (404) without calling the function, so the
        # readiness probe leaves no trace in the function's log.
        ready = f"{url(port)}/robots.txt"
        parts.append(Part(spec.name, "function", command, f"--port={port}", ready, env))
        if spec.topic and spec.subscription:
            endpoint = f"{url(port)}/projects/{settings.project}/topics/{spec.topic}"
            subscriptions.append(PushSubscription(spec.subscription, spec.topic, endpoint))

    scheduler_argv = (
        python,
        "-m",
        "devstack.scheduler",
        f"--pubsub-host={emulator_hosts['PUBSUB_EMULATOR_HOST']}",
        f"--project={settings.project}",
        f"--topic={CHANNEL_COMMANDS_TOPIC}",
        f"--interval={settings.tick_interval:g}",
    )
    parts.append(Part("scheduler", "scheduler", scheduler_argv, "devstack.scheduler", None))

    stack_env = {
        "PROJECT": settings.project,
        "GOOGLE_CLOUD_PROJECT": settings.project,
        **emulator_hosts,
        "CALENDAR_API_URL": values["CALENDAR_API_URL"],
        "CALENDAR_EMULATOR_URL": url(ports.calendar),
        "CONFERENCING_URL": values["CONFERENCING_URL"],
        "INTAKE_URL": url(ports.intake),
        "SYNC_URL": url(ports.sync),
        "CHANNELS_URL": url(ports.channels),
        **token_keys.env(),
        "CONFSYNC_INTAKE_URL": values["CONFSYNC_INTAKE_URL"],
        "ENROLL_URL": f"{url(ports.intake)}/v1/enroll",
        "ENROLL_AUDIENCE": _first_audience(values["CONFSYNC_ENROLL_AUDIENCES"]),
        "ALLOWED_DOMAINS": values["CONFSYNC_ALLOWED_DOMAINS"],
        "CONFSYNC_ALLOWED_DOMAINS": values["CONFSYNC_ALLOWED_DOMAINS"],
        "GOOGLE_AUTH_EMULATOR_URL": url(ports.google_auth),
    }
    return StackPlan(
        settings=settings,
        parts=tuple(parts),
        skipped=tuple(skipped),
        topics=(SYNC_TOPIC, CHANNEL_COMMANDS_TOPIC, DEAD_LETTER_TOPIC),
        push_subscriptions=tuple(subscriptions),
        dead_letter_subscription=DEAD_LETTER_INSPECT_SUBSCRIPTION,
        stack_env=stack_env,
    )


def child_environment(part: Part, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The full environment of ``part``: ``base`` (default: ours) without any confsync variable,
    emulator host or conferencing-emulator secret a developer's shell may hold, plus the part's
    own variables."""
    inherited = os.environ if base is None else base
    clean = {
        key: value
        for key, value in inherited.items()
        if key not in _CONFSYNC_NAMES and key not in _STRIPPED_NAMES
    }
    return {**clean, **part.env}
