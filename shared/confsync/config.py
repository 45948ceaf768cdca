"""Configuration: each function's settings, built from the declarations in :mod:`confsync.settings`.

:func:`load_sync_config`, :func:`load_intake_config` and :func:`load_channels_config` (and
:func:`load_cli_config`, for the ``confsync`` command line) read the environment once (each function
calls its loader at start) and return a frozen settings object, or raise
:class:`~confsync.errors.ConfigurationError` listing every problem, each naming its variable.
Library code never reads ``os.environ``. Defaults, ranges and choices live only in
:data:`~confsync.settings.VARIABLES`; a loader adds only the checks across variables. The README's
configuration table is generated: ``python -m confsync.settings --readme README.md``.

Unless the configuration is explicitly local (``CONFSYNC_CALENDAR_CREDENTIALS=emulator``), the
loaders also refuse what production must not run with (:mod:`confsync.production_checks`):
plain-HTTP endpoints other than loopback, a missing conferencing credential or signing secret, and
secrets shorter than 32 bytes. Intake reads no credential mode, so its checks always apply.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any, TypeVar

from confsync.channel_tokens import ChannelTokenKeys
from confsync.domains import DomainAllowList
from confsync.errors import ConfigurationError
from confsync.production_checks import (
    LOCAL_MODE,
    require_https,
    require_secret_strength,
)
from confsync.settings import (
    ALL,
    CHANNELS,
    CLI,
    CREDENTIAL_MODES,
    DEFAULT_SOLUTION_NAMES,
    INTAKE,
    SYNC,
    VARIABLES,
    Variable,
    variable,
)

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

__all__ = [
    "ALL",
    "CHANNELS",
    "CLI",
    "CREDENTIAL_MODES",
    "DEFAULT_SOLUTION_NAMES",
    "INTAKE",
    "SYNC",
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

C = TypeVar("C", bound="DataclassInstance")

SYNC_VARIABLES = tuple(v for v in VARIABLES if SYNC in v.used_by)


@dataclass(frozen=True, slots=True)
class CalendarAuthConfig:
    """How the sync and channels functions obtain Calendar API credentials for a subject.

    ``mode`` is one of :data:`CREDENTIAL_MODES`; the other fields are those the mode needs (None
    otherwise, checked by the loaders)."""

    mode: str
    delegation_service_account: str | None
    oauth_client_id: str | None
    oauth_client_secret: str | None
    oauth_token_keys: tuple[bytes, ...] | None
    token_url: str
    iam_credentials_url: str


@dataclass(frozen=True, slots=True)
class SyncConfig:
    """The sync function's settings."""

    project: str
    firestore_database: str
    sync_topic: str
    calendar_api_url: str | None
    calendar_auth: CalendarAuthConfig
    conferencing_url: str
    conferencing_credential: str | None
    conferencing_signing_secrets: tuple[bytes, ...]
    solution_names: frozenset[str]
    solution_key_type: str
    relevant_fields: frozenset[str]
    owned_events_only: bool
    full_sync_window_days: int
    calendar_page_size: int
    calendar_timeout_s: float
    calendar_attempts: int
    project_calendar_per_minute: int
    lease_s: int
    max_pull_rounds: int
    provider_concurrency: int
    provider_timeout_s: float
    provider_attempts: int
    pending_max_attempts: int
    pending_base_delay_s: int
    pending_max_delay_s: int
    write_back: bool
    join_url_hosts: frozenset[str]
    delete_brake: int
    delete_grace_s: int
    move_wait_s: int
    ownerless_policy: str
    sweep_interval_s: int
    sweep_max_interval_s: int
    log_level: str


@dataclass(frozen=True, slots=True)
class IntakeConfig:
    """The intake function's settings."""

    project: str
    sync_topic: str
    commands_topic: str
    token_keys: ChannelTokenKeys
    max_body_bytes: int
    allowed_domains: DomainAllowList
    enroll_audiences: frozenset[str]
    id_token_certs_url: str
    log_level: str


@dataclass(frozen=True, slots=True)
class ChannelsConfig:
    """The channels function's settings."""

    project: str
    firestore_database: str
    sync_topic: str
    commands_topic: str
    calendar_api_url: str | None
    calendar_auth: CalendarAuthConfig
    calendar_timeout_s: float
    calendar_attempts: int
    project_calendar_per_minute: int
    token_keys: ChannelTokenKeys
    intake_url: str
    channel_ttl_s: int
    renewal_window_s: int
    sweep_interval_s: int
    disconnected_retention_s: int
    tick_batch: int
    subject_budget_per_minute: int
    allowed_domains: DomainAllowList
    log_level: str


_TOKEN_URL = str(variable("GOOGLE_TOKEN_URL").default)
_IAM_URL = str(variable("IAM_CREDENTIALS_URL").default)


@dataclass(frozen=True, slots=True)
class CliConfig:
    """The ``confsync`` command line's settings: where Firestore and the two topics are, and
    for ``confsync grant`` and ``re-encrypt-grants`` the OAuth client, its token endpoint and the
    grants' keys (the first seals)."""

    project: str
    firestore_database: str
    sync_topic: str
    commands_topic: str
    allowed_domains: DomainAllowList | None = None
    """None when unset: only ``confsync enroll`` needs it, and refuses to run without it."""
    scheduler_job: str | None = None
    oauth_token_keys: tuple[bytes, ...] | None = None
    oauth_client_id: str | None = None
    oauth_client_secret: str | None = None
    token_url: str = _TOKEN_URL
    mode: str = LOCAL_MODE
    """How ``confsync enroll --all-owned`` / ``--domain`` list (the functions' credential mode)."""
    calendar_api_url: str | None = None
    iam_credentials_url: str = _IAM_URL
    admin_delegation_service_account: str | None = None
    """The listing identity outside a local stack (never the functions' own)."""


# --- reading -------------------------------------------------------------------------------------


class _Values:
    """Every variable ``reader`` reads, parsed, by field; problems collected, not raised."""

    def __init__(self, env: Mapping[str, str], reader: str) -> None:
        self.by_field: dict[str, Any] = {}
        self.problems: list[str] = []
        for declared in VARIABLES:
            if reader in declared.used_by:
                self.by_field[declared.field] = self._read(env, declared)

    def _read(self, env: Mapping[str, str], declared: Variable) -> Any:
        text = env.get(declared.name, "").strip() or declared.default
        if text is None:
            self.problems.append(f"{declared.name} is required")
            return None
        try:
            return declared.parse(text)
        except ValueError as err:
            shown = "" if declared.secret else f"={text!r}"  # never echo a secret's value
            self.problems.append(f"{declared.name}{shown}: {err}")
            return None

    def __getitem__(self, field: str) -> Any:
        return self.by_field[field]

    def has_problem(self, name: str) -> bool:
        return any(p.startswith((f"{name}=", f"{name}:", f"{name} ")) for p in self.problems)

    def require(self, name: str, because: str) -> None:
        """``name`` must be set (because of ``because``), unless already reported."""
        if self[variable(name).field] is None and not self.has_problem(name):
            self.problems.append(f"{name} is required when {because}")

    def optional_here(self, name: str) -> None:
        """``name`` is required by the functions but not by this reader: unset means None."""
        required = f"{name} is required"
        if required in self.problems:
            self.problems.remove(required)

    def check(self, ok: bool, problem: str) -> None:
        if not ok:
            self.problems.append(problem)

    def token_keys(self) -> None:
        """``token_keys``, from the key list and the active key id."""
        spec, active = self["token_keys_spec"], self["token_active_key"]
        keys = None
        if spec is not None and active is not None:
            try:
                keys = ChannelTokenKeys.parse(spec, active)
            except ConfigurationError as err:
                self.problems.append(str(err))
        self.by_field["token_keys"] = keys

    def calendar_auth(self) -> None:
        """``calendar_auth``, each setting its mode needs checked."""
        mode = self["mode"]
        because = f"CONFSYNC_CALENDAR_CREDENTIALS={mode}"
        if mode == "emulator":
            self.require("CALENDAR_API_URL", because)
        if mode == "delegated":
            self.require("CONFSYNC_DELEGATION_SERVICE_ACCOUNT", because)
            account = self["delegation_service_account"]
            self.check(
                account is None or "@" in account,
                "CONFSYNC_DELEGATION_SERVICE_ACCOUNT must be a service account e-mail",
            )
        if mode == "oauth":
            for name in (
                "CONFSYNC_OAUTH_CLIENT_ID",
                "CONFSYNC_OAUTH_CLIENT_SECRET",
                "CONFSYNC_OAUTH_TOKEN_KEY",
            ):
                self.require(name, because)
        self.by_field["calendar_auth"] = None if self.problems else self._make(CalendarAuthConfig)

    def production(self, *, local: bool) -> None:
        """Unless ``local``: no plain-HTTP endpoint but loopback, no weak or missing secret."""
        if local:
            return
        for name in _URL_VARIABLES:
            declared = variable(name)
            if declared.field in self.by_field:
                self._add(require_https(name, self[declared.field]))
        if "conferencing_url" in self.by_field:  # the sync function
            self.check(
                bool(self["conferencing_credential"]),
                f"CONFERENCING_CREDENTIAL is required unless CONFSYNC_CALENDAR_CREDENTIALS="
                f"{LOCAL_MODE}",
            )
            secrets = self["conferencing_signing_secrets"] or (b"",)
            for secret in secrets:  # several during a rotation: each must be strong
                self._add(require_secret_strength("CONFERENCING_SIGNING_SECRET", secret))
        keys: ChannelTokenKeys | None = self.by_field.get("token_keys")
        if keys is not None:
            for kid, key in keys.keys.items():
                self._add(require_secret_strength(f"CONFSYNC_CHANNEL_TOKEN_KEYS (key {kid})", key))

    def _add(self, problem: str | None) -> None:
        if problem is not None:
            self.problems.append(problem)

    def build(self, config: type[C]) -> C:
        """``config`` from the values of its fields; ConfigurationError if there were problems."""
        if self.problems:
            raise ConfigurationError("invalid configuration: " + "; ".join(self.problems))
        return self._make(config)

    def _make(self, config: type[C]) -> C:
        return config(**{f.name: self.by_field[f.name] for f in fields(config)})


_URL_VARIABLES = (
    "CONFERENCING_URL",
    "GOOGLE_TOKEN_URL",
    "IAM_CREDENTIALS_URL",
    "CALENDAR_API_URL",
    "CONFSYNC_INTAKE_URL",
    "GOOGLE_ID_TOKEN_CERTS_URL",
)
"""The endpoints a function or the command line calls or hands out: https outside a local stack."""


def _is_local(values: _Values) -> bool:
    """Whether the configuration says it is a local stack (sync and channels read the mode)."""
    return values.by_field.get("mode") == LOCAL_MODE


def _ordered(values: _Values, low: str, high: str, problem: str) -> None:
    """``values[low]`` must not exceed ``values[high]`` (when both are valid)."""
    if values[low] is not None and values[high] is not None:
        values.check(values[low] <= values[high], problem)


# --- the loaders ---------------------------------------------------------------------------------


def load_sync_config(env: Mapping[str, str]) -> SyncConfig:
    """Read and validate the sync function's configuration from ``env``."""
    values = _Values(env, SYNC)
    _ordered(
        values,
        "pending_base_delay_s",
        "pending_max_delay_s",
        "CONFSYNC_PENDING_BASE_DELAY_SECONDS must not exceed CONFSYNC_PENDING_MAX_DELAY_SECONDS",
    )
    _ordered(
        values,
        "sweep_interval_s",
        "sweep_max_interval_s",
        "CONFSYNC_SWEEP_INTERVAL_SECONDS must not exceed CONFSYNC_SWEEP_MAX_INTERVAL_SECONDS",
    )
    if values["write_back"] and values["join_url_hosts"] == frozenset():
        values.problems.append(
            "CONFSYNC_JOIN_URL_HOSTS is required when CONFSYNC_WRITE_BACK is on (the host names "
            "of the conferencing system's join URLs)"
        )
    values.calendar_auth()
    values.production(local=_is_local(values))
    return values.build(SyncConfig)


def load_intake_config(env: Mapping[str, str]) -> IntakeConfig:
    """Read and validate the intake function's configuration from ``env``."""
    values = _Values(env, INTAKE)
    values.token_keys()
    values.production(local=False)  # intake reads no credential mode: always production
    return values.build(IntakeConfig)


def load_channels_config(env: Mapping[str, str]) -> ChannelsConfig:
    """Read and validate the channels function's configuration from ``env``."""
    values = _Values(env, CHANNELS)
    if values["renewal_window_s"] is not None and values["channel_ttl_s"] is not None:
        values.check(
            values["renewal_window_s"] < values["channel_ttl_s"],
            "CONFSYNC_RENEWAL_WINDOW_SECONDS must be shorter than CONFSYNC_CHANNEL_TTL_SECONDS",
        )
    values.token_keys()
    values.calendar_auth()
    values.production(local=_is_local(values))
    return values.build(ChannelsConfig)


def load_cli_config(env: Mapping[str, str]) -> CliConfig:
    """Read and validate the command line's configuration from ``env``."""
    values = _Values(env, CLI)
    values.optional_here("CONFSYNC_ALLOWED_DOMAINS")  # `confsync enroll` requires it itself
    values.production(local=False)  # only GOOGLE_TOKEN_URL applies: loopback stays allowed
    return values.build(CliConfig)
