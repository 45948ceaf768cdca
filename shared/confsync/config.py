"""Configuration: every environment variable confsync reads, validated in one place.

:func:`load_sync_config`, :func:`load_intake_config` and :func:`load_channels_config` (and
:func:`load_cli_config`, for the ``confsync`` command line) read the environment once (each function
calls its loader at start) and return a frozen settings object, or raise
:class:`~confsync.errors.ConfigurationError` listing every problem, each naming its variable.
Library code never reads ``os.environ``; the README's configuration table is :data:`VARIABLES`.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlparse

from confsync.channel_tokens import ChannelTokenKeys
from confsync.conference import STATE_FIELDS
from confsync.errors import ConfigurationError

__all__ = [
    "CREDENTIAL_MODES",
    "SYNC_VARIABLES",
    "VARIABLES",
    "CalendarAuthConfig",
    "ChannelsConfig",
    "CliConfig",
    "IntakeConfig",
    "SyncConfig",
    "Variable",
    "load_channels_config",
    "load_cli_config",
    "load_intake_config",
    "load_sync_config",
]

T = TypeVar("T")

DEFAULT_SOLUTION_NAMES = "My Web Conference,My Recorded Web Conference"
DEFAULT_RELEVANT_FIELDS = "title,start,end,timeZone,recurrence,attendees,organizer"
CREDENTIAL_MODES = ("emulator", "delegated", "oauth")
"""How the functions call the Calendar API (``CONFSYNC_CALENDAR_CREDENTIALS``)."""

DEFAULT_TOKEN_URL = "https://oauth2.googleapis.com/token"  # noqa: S105 (an address, no secret)
DEFAULT_IAM_CREDENTIALS_URL = "https://iamcredentials.googleapis.com/v1/"


SYNC, INTAKE, CHANNELS = "sync", "intake", "channels"
ALL = (SYNC, INTAKE, CHANNELS)
CLI = "cli"
"""The ``confsync`` command line (not a function: it reads only where to find Firestore and
Pub/Sub)."""


@dataclass(frozen=True, slots=True)
class Variable:
    """One environment variable: name, default (None: required), meaning, and which functions
    read it."""

    name: str
    default: str | None
    meaning: str
    used_by: tuple[str, ...] = (SYNC,)


VARIABLES: tuple[Variable, ...] = (
    Variable("GOOGLE_CLOUD_PROJECT", None, "project of Firestore and Pub/Sub", (*ALL, CLI)),
    Variable(
        "CONFSYNC_FIRESTORE_DATABASE", "(default)", "Firestore database id", (SYNC, CHANNELS, CLI)
    ),
    Variable("CONFSYNC_SYNC_TOPIC", "sync-requests", "topic of SyncRequests", (*ALL, CLI)),
    Variable(
        "CONFSYNC_CHANNEL_COMMANDS_TOPIC",
        "channel-commands",
        "topic of channel commands (enrol, unenrol, tick, fan-out)",
        (CHANNELS, CLI),
    ),
    Variable(
        "CONFSYNC_CHANNEL_TOKEN_KEYS",
        None,
        "channel-token HMAC keys, `KEY_ID:SECRET,...` (a secret; rotate by adding a key)",
        (INTAKE, CHANNELS),
    ),
    Variable(
        "CONFSYNC_CHANNEL_TOKEN_ACTIVE_KEY",
        None,
        "key id new channel tokens are minted with",
        (INTAKE, CHANNELS),
    ),
    Variable(
        "CONFSYNC_INTAKE_URL",
        None,
        "public HTTPS address of the intake function, given to `events.watch`",
        (CHANNELS,),
    ),
    Variable(
        "CONFSYNC_INTAKE_MAX_BODY_BYTES",
        "4096",
        "larger notification bodies are refused (Google sends none)",
        (INTAKE,),
    ),
    Variable(
        "CONFSYNC_CHANNEL_TTL_SECONDS",
        "172800",
        "lifetime asked for a new channel (short: a channel can die silently)",
        (CHANNELS,),
    ),
    Variable(
        "CONFSYNC_RENEWAL_WINDOW_SECONDS",
        "86400",
        "channels expiring within this window are renewed",
        (CHANNELS,),
    ),
    Variable(
        "CONFSYNC_SWEEP_INTERVAL_SECONDS",
        "900",
        "calendars not synced for this long get a sync request from the tick",
        (CHANNELS,),
    ),
    Variable(
        "CONFSYNC_TICK_BATCH",
        "200",
        "calendars or channels one tick handles before fanning out",
        (CHANNELS,),
    ),
    Variable(
        "CONFSYNC_SUBJECT_BUDGET_PER_MINUTE",
        "300",
        "Calendar requests per user per minute that renewals and sweeps may spend (Google: 600)",
        (CHANNELS,),
    ),
    Variable(
        "CONFSYNC_CALENDAR_CREDENTIALS",
        "emulator",
        "how to call the Calendar API: `delegated` (Workspace domain-wide delegation, no key "
        "files), `oauth` (per-user refresh tokens, for marketplace add-ons) or `emulator` "
        "(anonymous, local stack)",
        (SYNC, CHANNELS),
    ),
    Variable(
        "CONFSYNC_DELEGATION_SERVICE_ACCOUNT",
        "",
        "`delegated`: e-mail of the service account whose client id the Workspace administrator "
        "authorized; the function signs JWTs as it through the IAM Credentials API",
        (SYNC, CHANNELS),
    ),
    Variable(
        "CONFSYNC_OAUTH_CLIENT_ID",
        "",
        "`oauth`: OAuth client id the users' refresh tokens were issued to",
        (SYNC, CHANNELS),
    ),
    Variable(
        "CONFSYNC_OAUTH_CLIENT_SECRET",
        "",
        "`oauth`: that OAuth client's secret (a secret)",
        (SYNC, CHANNELS),
    ),
    Variable(
        "CONFSYNC_OAUTH_TOKEN_KEY",
        "",
        "`oauth`: base64 of the 32-byte AES-256-GCM key the stored refresh tokens are encrypted "
        "with (a secret)",
        (SYNC, CHANNELS, CLI),
    ),
    Variable(
        "GOOGLE_TOKEN_URL",
        DEFAULT_TOKEN_URL,
        "Google's OAuth 2.0 token endpoint (override only to test against a stand-in)",
        (SYNC, CHANNELS),
    ),
    Variable(
        "IAM_CREDENTIALS_URL",
        DEFAULT_IAM_CREDENTIALS_URL,
        "IAM Credentials API endpoint, ending in `/v1/` (override only to test against a stand-in)",
        (SYNC, CHANNELS),
    ),
    Variable(
        "CALENDAR_API_URL",
        "",
        "Calendar API endpoint, ending in `/calendar/v3/`; required with `emulator`, "
        "empty means Google's",
        (SYNC, CHANNELS),
    ),
    Variable("CONFERENCING_URL", None, "base URL of the conferencing system's contract"),
    Variable("CONFERENCING_CREDENTIAL", "", "bearer credential for the conferencing system"),
    Variable("CONFERENCING_SIGNING_SECRET", "", "HMAC secret to sign conferencing requests"),
    Variable(
        "CONFSYNC_SOLUTION_NAMES",
        DEFAULT_SOLUTION_NAMES,
        "comma-separated `conferenceSolution.name`s that are ours (empty: any name)",
    ),
    Variable("CONFSYNC_SOLUTION_KEY_TYPE", "addOn", "`conferenceSolution.key.type` that is ours"),
    Variable(
        "CONFSYNC_RELEVANT_FIELDS",
        DEFAULT_RELEVANT_FIELDS,
        "conference fields whose change triggers an update (of "
        "title,start,end,timeZone,recurrence,attendees,organizer,calendarId)",
    ),
    Variable(
        "CONFSYNC_OWNED_EVENTS_ONLY",
        "true",
        "only events organised by the calendar's own user count",
    ),
    Variable(
        "CONFSYNC_FULL_SYNC_WINDOW_DAYS", "30", "a full sync reads events ending after now - N days"
    ),
    Variable("CONFSYNC_CALENDAR_PAGE_SIZE", "2500", "`maxResults` of `events.list` (1-2500)"),
    Variable(
        "CONFSYNC_CALENDAR_TIMEOUT_SECONDS",
        "30",
        "timeout of one Calendar API request",
        (SYNC, CHANNELS),
    ),
    Variable(
        "CONFSYNC_CALENDAR_ATTEMPTS",
        "5",
        "attempts per Calendar request on 429, rate-limit 403, 5xx (exponential backoff)",
        (SYNC, CHANNELS),
    ),
    Variable(
        "CONFSYNC_LEASE_SECONDS", "300", "lease of a sync on its calendar (extended on long pulls)"
    ),
    Variable("CONFSYNC_MAX_PULL_ROUNDS", "5", "pulls per run while notifications keep arriving"),
    Variable(
        "CONFSYNC_PROVIDER_CONCURRENCY", "8", "conference operations in flight per run (1-64)"
    ),
    Variable("CONFSYNC_PROVIDER_TIMEOUT_SECONDS", "10", "timeout of one conferencing request"),
    Variable("CONFSYNC_PROVIDER_ATTEMPTS", "3", "attempts per conference operation within a run"),
    Variable(
        "CONFSYNC_PENDING_MAX_ATTEMPTS",
        "10",
        "runs that retry a pending operation before it is failed",
    ),
    Variable("CONFSYNC_PENDING_BASE_DELAY_SECONDS", "60", "first backoff of a pending operation"),
    Variable(
        "CONFSYNC_PENDING_MAX_DELAY_SECONDS", "3600", "longest backoff of a pending operation"
    ),
    Variable("CONFSYNC_WRITE_BACK", "true", "write changed join details back to the event"),
    Variable("LOG_LEVEL", "INFO", "DEBUG, INFO, WARNING or ERROR", ALL),
    Variable(
        "CONFSYNC_SCHEDULER_JOB",
        "",
        "the Cloud Scheduler job's full name (`projects/P/locations/L/jobs/J`): `confsync tick` "
        "runs it and `confsync status` shows it; empty: `tick` publishes to channel-commands "
        "itself (local stack)",
        (CLI,),
    ),
)


@dataclass(frozen=True, slots=True)
class CalendarAuthConfig:
    """How the sync and channels functions obtain Calendar API credentials for a subject.

    ``mode`` is one of :data:`CREDENTIAL_MODES`; the other fields are those the mode needs (None
    otherwise, checked by the loaders)."""

    mode: str
    delegation_service_account: str | None
    oauth_client_id: str | None
    oauth_client_secret: str | None
    oauth_token_key: bytes | None
    token_url: str
    iam_credentials_url: str


@dataclass(frozen=True, slots=True)
class SyncConfig:
    """The sync function's settings."""

    project: str
    firestore_database: str
    sync_topic: str
    calendar_credentials: str
    calendar_api_url: str | None
    calendar_auth: CalendarAuthConfig
    conferencing_url: str
    conferencing_credential: str | None
    conferencing_signing_secret: bytes | None
    solution_names: frozenset[str]
    solution_key_type: str
    relevant_fields: frozenset[str]
    owned_events_only: bool
    full_sync_window_days: int
    calendar_page_size: int
    calendar_timeout_s: float
    calendar_attempts: int
    lease_s: int
    max_pull_rounds: int
    provider_concurrency: int
    provider_timeout_s: float
    provider_attempts: int
    pending_max_attempts: int
    pending_base_delay_s: int
    pending_max_delay_s: int
    write_back: bool
    log_level: str


SYNC_VARIABLES = tuple(v for v in VARIABLES if SYNC in v.used_by)


class _Reader:
    """Reads variables with defaults, collecting every problem instead of stopping at the first."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = env
        self._defaults = {v.name: v.default for v in VARIABLES}
        self.problems: list[str] = []

    def raw(self, name: str) -> str:
        value = self._env.get(name)
        if value is None or value.strip() == "":
            default = self._defaults[name]
            if default is None:
                self.problems.append(f"{name} is required")
                return ""
            return default
        return value.strip()

    def parsed(self, name: str, parse: Callable[[str], T], fallback: T) -> T:
        text = self.raw(name)
        try:
            return parse(text)
        except ValueError as err:
            self.problems.append(f"{name}={text!r}: {err}")
            return fallback


def _int_in(low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        value = int(text)
        if not low <= value <= high:
            raise ValueError(f"must be between {low} and {high}")
        return value

    return parse


def _seconds(text: str) -> float:
    value = float(text)
    if not 0 < value <= 3600:
        raise ValueError("must be more than 0 and at most 3600")
    return value


def _bool(text: str) -> bool:
    lowered = text.lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise ValueError("must be true or false")


def _http_url(text: str) -> str:
    parsed = urlparse(text)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ValueError("must be an http:// or https:// URL")
    return text.rstrip("/")


def _calendar_url(text: str) -> str:
    if not text:
        return text
    _http_url(text)
    if not text.endswith("/calendar/v3/"):
        raise ValueError("must end with /calendar/v3/ (the client drops the path otherwise)")
    return text


def _api_url(text: str) -> str:
    _http_url(text)
    return text if text.endswith("/") else text + "/"


def _aes_key(text: str) -> bytes:
    try:
        key = base64.b64decode(text, validate=True)
    except binascii.Error as err:
        raise ValueError("must be base64") from err
    if len(key) != 32:
        raise ValueError(f"must decode to 32 bytes (AES-256), not {len(key)}")
    return key


def _optional_aes_key(read: _Reader, name: str) -> bytes | None:
    text = read.raw(name)
    if not text:
        return None
    try:
        return _aes_key(text)
    except ValueError as err:
        read.problems.append(f"{name}: {err}")  # never echo a secret's value
        return None


def _calendar_auth(read: _Reader, mode: str) -> CalendarAuthConfig:
    """The credential settings of ``mode``, each required one checked (problems collected)."""
    auth = CalendarAuthConfig(
        mode=mode,
        delegation_service_account=read.raw("CONFSYNC_DELEGATION_SERVICE_ACCOUNT") or None,
        oauth_client_id=read.raw("CONFSYNC_OAUTH_CLIENT_ID") or None,
        oauth_client_secret=read.raw("CONFSYNC_OAUTH_CLIENT_SECRET") or None,
        oauth_token_key=_optional_aes_key(read, "CONFSYNC_OAUTH_TOKEN_KEY"),
        token_url=read.parsed("GOOGLE_TOKEN_URL", _http_url, DEFAULT_TOKEN_URL),
        iam_credentials_url=read.parsed(
            "IAM_CREDENTIALS_URL", _api_url, DEFAULT_IAM_CREDENTIALS_URL
        ),
    )
    required: dict[str, tuple[str, ...]] = {
        "delegated": ("CONFSYNC_DELEGATION_SERVICE_ACCOUNT",),
        "oauth": (
            "CONFSYNC_OAUTH_CLIENT_ID",
            "CONFSYNC_OAUTH_CLIENT_SECRET",
            "CONFSYNC_OAUTH_TOKEN_KEY",
        ),
    }
    for name in required.get(mode, ()):
        if not read.raw(name) and not any(p.startswith(f"{name}:") for p in read.problems):
            read.problems.append(f"{name} is required when CONFSYNC_CALENDAR_CREDENTIALS={mode}")
    account = auth.delegation_service_account
    if mode == "delegated" and account and "@" not in account:
        read.problems.append("CONFSYNC_DELEGATION_SERVICE_ACCOUNT must be a service account e-mail")
    return auth


def _names(text: str) -> frozenset[str]:
    return frozenset(part.strip() for part in text.split(",") if part.strip())


def _fields(text: str) -> frozenset[str]:
    chosen = _names(text)
    unknown = sorted(chosen - set(STATE_FIELDS))
    if unknown:
        raise ValueError(f"unknown field(s) {', '.join(unknown)}")
    return chosen


def _choice(options: tuple[str, ...]) -> Callable[[str], str]:
    def parse(text: str) -> str:
        if text not in options:
            raise ValueError(f"must be one of {', '.join(options)}")
        return text

    return parse


def _log_level(text: str) -> str:
    level = text.upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ValueError("must be DEBUG, INFO, WARNING or ERROR")
    return level


def load_sync_config(env: Mapping[str, str]) -> SyncConfig:
    """Read and validate the sync function's configuration from ``env``."""
    read = _Reader(env)
    values: dict[str, Any] = {
        "project": read.raw("GOOGLE_CLOUD_PROJECT"),
        "firestore_database": read.raw("CONFSYNC_FIRESTORE_DATABASE"),
        "sync_topic": read.raw("CONFSYNC_SYNC_TOPIC"),
        "calendar_credentials": read.parsed(
            "CONFSYNC_CALENDAR_CREDENTIALS", _choice(CREDENTIAL_MODES), "emulator"
        ),
        "calendar_api_url": read.parsed("CALENDAR_API_URL", _calendar_url, "") or None,
        "conferencing_url": read.parsed("CONFERENCING_URL", _http_url, ""),
        "conferencing_credential": read.raw("CONFERENCING_CREDENTIAL") or None,
        "conferencing_signing_secret": read.raw("CONFERENCING_SIGNING_SECRET").encode() or None,
        "solution_names": _names(read.raw("CONFSYNC_SOLUTION_NAMES")),
        "solution_key_type": read.raw("CONFSYNC_SOLUTION_KEY_TYPE"),
        "relevant_fields": read.parsed("CONFSYNC_RELEVANT_FIELDS", _fields, frozenset[str]()),
        "owned_events_only": read.parsed("CONFSYNC_OWNED_EVENTS_ONLY", _bool, True),
        "full_sync_window_days": read.parsed(
            "CONFSYNC_FULL_SYNC_WINDOW_DAYS", _int_in(0, 3650), 30
        ),
        "calendar_page_size": read.parsed("CONFSYNC_CALENDAR_PAGE_SIZE", _int_in(1, 2500), 2500),
        "calendar_timeout_s": read.parsed("CONFSYNC_CALENDAR_TIMEOUT_SECONDS", _seconds, 30.0),
        "calendar_attempts": read.parsed("CONFSYNC_CALENDAR_ATTEMPTS", _int_in(1, 10), 5),
        "lease_s": read.parsed("CONFSYNC_LEASE_SECONDS", _int_in(10, 3600), 300),
        "max_pull_rounds": read.parsed("CONFSYNC_MAX_PULL_ROUNDS", _int_in(1, 100), 5),
        "provider_concurrency": read.parsed("CONFSYNC_PROVIDER_CONCURRENCY", _int_in(1, 64), 8),
        "provider_timeout_s": read.parsed("CONFSYNC_PROVIDER_TIMEOUT_SECONDS", _seconds, 10.0),
        "provider_attempts": read.parsed("CONFSYNC_PROVIDER_ATTEMPTS", _int_in(1, 10), 3),
        "pending_max_attempts": read.parsed("CONFSYNC_PENDING_MAX_ATTEMPTS", _int_in(1, 1000), 10),
        "pending_base_delay_s": read.parsed(
            "CONFSYNC_PENDING_BASE_DELAY_SECONDS", _int_in(1, 86400), 60
        ),
        "pending_max_delay_s": read.parsed(
            "CONFSYNC_PENDING_MAX_DELAY_SECONDS", _int_in(1, 86400), 3600
        ),
        "write_back": read.parsed("CONFSYNC_WRITE_BACK", _bool, True),
        "log_level": read.parsed("LOG_LEVEL", _log_level, "INFO"),
    }
    values["calendar_auth"] = _calendar_auth(read, values["calendar_credentials"])
    if values["calendar_credentials"] == "emulator" and not values["calendar_api_url"]:
        read.problems.append(
            "CALENDAR_API_URL is required when CONFSYNC_CALENDAR_CREDENTIALS=emulator"
        )
    if values["pending_base_delay_s"] > values["pending_max_delay_s"]:
        read.problems.append(
            "CONFSYNC_PENDING_BASE_DELAY_SECONDS must not exceed CONFSYNC_PENDING_MAX_DELAY_SECONDS"
        )
    if read.problems:
        raise ConfigurationError("invalid configuration: " + "; ".join(read.problems))
    return SyncConfig(**values)


@dataclass(frozen=True, slots=True)
class IntakeConfig:
    """The intake function's settings."""

    project: str
    sync_topic: str
    token_keys: ChannelTokenKeys
    max_body_bytes: int
    log_level: str


def _token_keys(read: _Reader) -> ChannelTokenKeys | None:
    spec = read.raw("CONFSYNC_CHANNEL_TOKEN_KEYS")
    active = read.raw("CONFSYNC_CHANNEL_TOKEN_ACTIVE_KEY")
    if not spec or not active:
        return None
    try:
        return ChannelTokenKeys.parse(spec, active)
    except ConfigurationError as err:
        read.problems.append(str(err))
        return None


def load_intake_config(env: Mapping[str, str]) -> IntakeConfig:
    """Read and validate the intake function's configuration from ``env``."""
    read = _Reader(env)
    project = read.raw("GOOGLE_CLOUD_PROJECT")
    sync_topic = read.raw("CONFSYNC_SYNC_TOPIC")
    keys = _token_keys(read)
    max_body = read.parsed("CONFSYNC_INTAKE_MAX_BODY_BYTES", _int_in(0, 1_048_576), 4096)
    log_level = read.parsed("LOG_LEVEL", _log_level, "INFO")
    if read.problems or keys is None:
        raise ConfigurationError("invalid configuration: " + "; ".join(read.problems))
    return IntakeConfig(
        project=project,
        sync_topic=sync_topic,
        token_keys=keys,
        max_body_bytes=max_body,
        log_level=log_level,
    )


@dataclass(frozen=True, slots=True)
class ChannelsConfig:
    """The channels function's settings."""

    project: str
    firestore_database: str
    sync_topic: str
    commands_topic: str
    calendar_credentials: str
    calendar_api_url: str | None
    calendar_auth: CalendarAuthConfig
    calendar_timeout_s: float
    calendar_attempts: int
    token_keys: ChannelTokenKeys
    intake_url: str
    channel_ttl_s: int
    renewal_window_s: int
    sweep_interval_s: int
    tick_batch: int
    subject_budget_per_minute: int
    log_level: str


def load_channels_config(env: Mapping[str, str]) -> ChannelsConfig:
    """Read and validate the channels function's configuration from ``env``."""
    read = _Reader(env)
    values: dict[str, Any] = {
        "project": read.raw("GOOGLE_CLOUD_PROJECT"),
        "firestore_database": read.raw("CONFSYNC_FIRESTORE_DATABASE"),
        "sync_topic": read.raw("CONFSYNC_SYNC_TOPIC"),
        "commands_topic": read.raw("CONFSYNC_CHANNEL_COMMANDS_TOPIC"),
        "calendar_credentials": read.parsed(
            "CONFSYNC_CALENDAR_CREDENTIALS", _choice(CREDENTIAL_MODES), "emulator"
        ),
        "calendar_api_url": read.parsed("CALENDAR_API_URL", _calendar_url, "") or None,
        "calendar_timeout_s": read.parsed("CONFSYNC_CALENDAR_TIMEOUT_SECONDS", _seconds, 30.0),
        "calendar_attempts": read.parsed("CONFSYNC_CALENDAR_ATTEMPTS", _int_in(1, 10), 5),
        "token_keys": _token_keys(read),
        "intake_url": read.parsed("CONFSYNC_INTAKE_URL", _http_url, ""),
        "channel_ttl_s": read.parsed(
            "CONFSYNC_CHANNEL_TTL_SECONDS", _int_in(10, 2_592_000), 172800
        ),
        "renewal_window_s": read.parsed(
            "CONFSYNC_RENEWAL_WINDOW_SECONDS", _int_in(1, 2_592_000), 86400
        ),
        "sweep_interval_s": read.parsed("CONFSYNC_SWEEP_INTERVAL_SECONDS", _int_in(1, 86400), 900),
        "tick_batch": read.parsed("CONFSYNC_TICK_BATCH", _int_in(1, 5000), 200),
        "subject_budget_per_minute": read.parsed(
            "CONFSYNC_SUBJECT_BUDGET_PER_MINUTE", _int_in(1, 600), 300
        ),
        "log_level": read.parsed("LOG_LEVEL", _log_level, "INFO"),
    }
    values["calendar_auth"] = _calendar_auth(read, values["calendar_credentials"])
    if values["calendar_credentials"] == "emulator" and not values["calendar_api_url"]:
        read.problems.append(
            "CALENDAR_API_URL is required when CONFSYNC_CALENDAR_CREDENTIALS=emulator"
        )
    if values["renewal_window_s"] >= values["channel_ttl_s"]:
        read.problems.append(
            "CONFSYNC_RENEWAL_WINDOW_SECONDS must be shorter than CONFSYNC_CHANNEL_TTL_SECONDS"
        )
    if read.problems or values["token_keys"] is None:
        raise ConfigurationError("invalid configuration: " + "; ".join(read.problems))
    return ChannelsConfig(**values)


@dataclass(frozen=True, slots=True)
class CliConfig:
    """The ``confsync`` command line's settings: where Firestore and the two topics are."""

    project: str
    firestore_database: str
    sync_topic: str
    commands_topic: str
    scheduler_job: str | None = None
    oauth_token_key: bytes | None = None


def _scheduler_job(text: str) -> str:
    if not text:
        return text
    parts = text.split("/")
    if len(parts) != 6 or parts[0::2] != ["projects", "locations", "jobs"] or not all(parts):
        raise ValueError("must be projects/PROJECT/locations/LOCATION/jobs/JOB")
    return text


def load_cli_config(env: Mapping[str, str]) -> CliConfig:
    """Read and validate the command line's configuration from ``env``."""
    read = _Reader(env)
    config = CliConfig(
        project=read.raw("GOOGLE_CLOUD_PROJECT"),
        firestore_database=read.raw("CONFSYNC_FIRESTORE_DATABASE"),
        sync_topic=read.raw("CONFSYNC_SYNC_TOPIC"),
        commands_topic=read.raw("CONFSYNC_CHANNEL_COMMANDS_TOPIC"),
        scheduler_job=read.parsed("CONFSYNC_SCHEDULER_JOB", _scheduler_job, "") or None,
        oauth_token_key=_optional_aes_key(read, "CONFSYNC_OAUTH_TOKEN_KEY"),
    )
    if read.problems:
        raise ConfigurationError("invalid configuration: " + "; ".join(read.problems))
    return config
