"""Every environment variable confsync reads, each declared once: :data:`VARIABLES`.

A :class:`Variable` names the variable, the parser that validates it (a :class:`Number` or a
:class:`Choice` / :class:`Subset` carries the allowed range or choices), its default (None: it is
required), the functions that read it, the config field it fills, whether it is a secret, and
its meaning. :mod:`confsync.config` builds each function's settings from these declarations; the
README's configuration table (``python -m confsync.settings --readme README.md``) and the
Terraform checks (tests/terraform) are derived from them.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from confsync.conference import ALWAYS_RELEVANT, STATE_FIELDS
from confsync.domains import parse_allowed_domains
from confsync.ownership import OWNERLESS_POLICIES
from confsync.parsers import (
    Choice,
    Number,
    Subset,
    aes_keys,
    api_url,
    boolean,
    calendar_url,
    host_names,
    http_url,
    names,
    optional,
    scheduler_job,
    text,
)
from confsync.signing import parse_secrets

__all__ = [
    "ALL",
    "CHANNELS",
    "CLI",
    "CREDENTIAL_MODES",
    "DEFAULT_SOLUTION_NAMES",
    "INTAKE",
    "SYNC",
    "VARIABLES",
    "Variable",
    "markdown_table",
    "variable",
]

SYNC, INTAKE, CHANNELS = "sync", "intake", "channels"
ALL = (SYNC, INTAKE, CHANNELS)
CLI = "cli"
"""The ``confsync`` command line (not a function: it reads where to find Firestore and Pub/Sub,
and what ``confsync grant`` needs to check and seal a refresh token)."""

CREDENTIAL_MODES = ("emulator", "delegated", "oauth")
"""How the functions call the Calendar API (``CONFSYNC_CALENDAR_CREDENTIALS``)."""

DEFAULT_SOLUTION_NAMES = "My Web Conference,My Recorded Web Conference"


# --- the declarations ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Variable:
    """One environment variable, declared once.

    ``field`` is the attribute of the functions' config objects it fills (the same name in each;
    ``token_keys_spec`` / ``token_active_key`` are combined into ``token_keys``). ``default`` is
    the text used when the variable is unset or blank; None means it is required. A secret's
    value is never echoed in an error."""

    name: str
    field: str
    parse: Callable[[str], Any]
    default: str | None
    meaning: str
    used_by: tuple[str, ...] = (SYNC,)
    secret: bool = False

    @property
    def allowed(self) -> str:
        """The allowed range or choices (Markdown), or "" when the parser checks a format."""
        if isinstance(self.parse, Number | Choice | Subset):
            return self.parse.allowed
        return ""


_SECONDS = Number(0, 3600, whole=False, low_open=True)
_RELEVANT = Subset(tuple(f for f in STATE_FIELDS if f not in ALWAYS_RELEVANT))
"""Fields whose change may trigger an update (the others always do)."""
_CALENDAR = (SYNC, CHANNELS)

VARIABLES: tuple[Variable, ...] = (
    Variable("GOOGLE_CLOUD_PROJECT", "project", text, None,
             "project of Firestore and Pub/Sub", (*ALL, CLI)),
    Variable("CONFSYNC_FIRESTORE_DATABASE", "firestore_database", text, "(default)",
             "Firestore database id", (SYNC, CHANNELS, CLI)),
    Variable("CONFSYNC_SYNC_TOPIC", "sync_topic", text, "sync-requests",
             "topic of SyncRequests", (*ALL, CLI)),
    Variable("CONFSYNC_CHANNEL_COMMANDS_TOPIC", "commands_topic", text, "channel-commands",
             "topic of channel commands (enroll, unenroll, tick, fan-out)",
             (INTAKE, CHANNELS, CLI)),
    Variable("CONFSYNC_CHANNEL_TOKEN_KEYS", "token_keys_spec", text, None,
             "channel-token HMAC keys, `KEY_ID:SECRET,...`; rotate by adding a key",
             (INTAKE, CHANNELS), secret=True),
    Variable("CONFSYNC_CHANNEL_TOKEN_ACTIVE_KEY", "token_active_key", text, None,
             "key id new channel tokens are minted with", (INTAKE, CHANNELS)),
    Variable("CONFSYNC_INTAKE_URL", "intake_url", http_url, None,
             "public HTTPS address of the intake function, given to `events.watch`", (CHANNELS,)),
    Variable("CONFSYNC_INTAKE_MAX_BODY_BYTES", "max_body_bytes", Number(0, 1_048_576), "4096",
             "larger notification bodies are refused (Google sends none)", (INTAKE,)),
    Variable("CONFSYNC_ALLOWED_DOMAINS", "allowed_domains", parse_allowed_domains, None,
             "comma-separated domains whose users may be enrolled, or `*` for any (a marketplace "
             "add-on); checked by intake, by the channels function for every enroll command, and "
             "by `confsync enroll`", (INTAKE, CHANNELS, CLI)),
    Variable("CONFSYNC_ENROLL_AUDIENCES", "enroll_audiences", names, "",
             "comma-separated OAuth client ids whose Google ID tokens `POST /v1/enroll` accepts "
             "(the add-on's; see docs/addon.md); empty: add-on enrolment is off (404)", (INTAKE,)),
    Variable("GOOGLE_ID_TOKEN_CERTS_URL", "id_token_certs_url", http_url,
             "https://www.googleapis.com/oauth2/v1/certs", "Google's certificates of ID tokens, "
             "fetched once and cached (override only to test against a stand-in)", (INTAKE,)),
    Variable("CONFSYNC_CHANNEL_TTL_SECONDS", "channel_ttl_s", Number(10, 2_592_000), "172800",
             "lifetime asked for a new channel (short: a channel can die silently)", (CHANNELS,)),
    Variable("CONFSYNC_RENEWAL_WINDOW_SECONDS", "renewal_window_s", Number(1, 2_592_000),
             "86400", "channels expiring within this window are renewed (shorter than the TTL)",
             (CHANNELS,)),
    Variable("CONFSYNC_SWEEP_INTERVAL_SECONDS", "sweep_interval_s", Number(1, 86400), "900",
             "the shortest interval between sweeps of a calendar: after recent changes, and when a "
             "sweep found changes no notification announced; a quiet calendar's interval doubles "
             "from it (see docs/decisions/"
             "2026-12-04-sweep-by-need.md)", (SYNC, CHANNELS)),
    Variable("CONFSYNC_SWEEP_MAX_INTERVAL_SECONDS", "sweep_max_interval_s", Number(1, 86400),
             "13500", "the longest interval between sweeps of a quiet calendar (at least "
             "CONFSYNC_SWEEP_INTERVAL_SECONDS): a change whose notification is lost waits at "
             "most this plus the tick interval", (SYNC,)),
    Variable("CONFSYNC_DISCONNECTED_RETENTION_SECONDS", "disconnected_retention_s",
             Number(60, 31_536_000), "2592000", "a calendar disconnected this long (its user "
             "deleted or suspended, or its access gone) is unenrolled and its conference records "
             "forgotten by the tick; its conferences are never deleted", (CHANNELS,)),
    Variable("CONFSYNC_TICK_BATCH", "tick_batch", Number(1, 5000), "200",
             "calendars or channels one tick handles before fanning out, and per fan-out command "
             "(at most 1000)", (CHANNELS,)),
    Variable("CONFSYNC_SUBJECT_BUDGET_PER_MINUTE", "subject_budget_per_minute", Number(1, 600),
             "300", "Calendar requests per user per minute that renewals and sweeps may spend "
             "(Google: 600)", (CHANNELS,)),
    Variable("CONFSYNC_PROJECT_CALENDAR_PER_MINUTE", "project_calendar_per_minute",
             Number(60, 1_000_000), "8000", "Calendar requests per minute that all instances of "
             "sync and channels together may make (Google: 10,000 per project; the rest is left "
             "to the command line and the add-on), counted in 10-second windows of a sixth each; "
             "sweeps and channel maintenance only use the first 80% of a window; see "
             "docs/decisions/2026-12-04-project-calendar-budget.md", _CALENDAR),
    Variable("CONFSYNC_CALENDAR_CREDENTIALS", "mode", Choice(CREDENTIAL_MODES), "emulator",
             "how to call the Calendar API: `delegated` (Workspace domain-wide delegation, no key "
             "files), `oauth` (per-user refresh tokens, for marketplace add-ons) or `emulator` "
             "(anonymous, local stack); `confsync enroll --all-owned` / `--domain` read it too: "
             "`emulator` lists through the Calendar emulator as the user", (*_CALENDAR, CLI)),
    Variable("CONFSYNC_DELEGATION_SERVICE_ACCOUNT", "delegation_service_account",
             optional(text), "", "`delegated`: e-mail of the service account whose client id "
             "the Workspace administrator authorized; the function signs JWTs as it through the "
             "IAM Credentials API", _CALENDAR),
    Variable("CONFSYNC_ADMIN_DELEGATION_SERVICE_ACCOUNT", "admin_delegation_service_account",
             optional(text), "", "e-mail of a service account authorized (domain-wide "
             "delegation) for the read-only calendar-list and Directory scopes only; `confsync "
             "enroll --all-owned` / `--domain` sign JWTs as it with the operator's own "
             "credentials, so the functions' `calendar.events` scope never widens", (CLI,)),
    Variable("CONFSYNC_OAUTH_CLIENT_ID", "oauth_client_id", optional(text), "",
             "`oauth`: OAuth client id the users' refresh tokens were issued to (`confsync "
             "grant` checks a token's ID token is for it)", (*_CALENDAR, CLI)),
    Variable("CONFSYNC_OAUTH_CLIENT_SECRET", "oauth_client_secret", optional(text), "",
             "`oauth`: that OAuth client's secret", (*_CALENDAR, CLI), secret=True),
    Variable("CONFSYNC_OAUTH_TOKEN_KEY", "oauth_token_keys", optional(aes_keys), "",
             "`oauth`: base64 of the 32-byte AES-256-GCM key the stored refresh tokens are "
             "encrypted with, then optionally `,` and older keys still read (rotation: "
             "docs/runbooks/rotate-oauth-token-key.md)", (*_CALENDAR, CLI), secret=True),
    Variable("GOOGLE_TOKEN_URL", "token_url", http_url, "https://oauth2.googleapis.com/token",
             "Google's OAuth 2.0 token endpoint (override only to test against a stand-in)",
             (*_CALENDAR, CLI)),
    Variable("IAM_CREDENTIALS_URL", "iam_credentials_url", api_url,
             "https://iamcredentials.googleapis.com/v1/", "IAM Credentials API endpoint, ending "
             "in `/v1/` (override only to test against a stand-in)", (*_CALENDAR, CLI)),
    Variable("CALENDAR_API_URL", "calendar_api_url", optional(calendar_url), "",
             "Calendar API endpoint, ending in `/calendar/v3/`; required with `emulator`, "
             "empty means Google's", (*_CALENDAR, CLI)),
    Variable("CONFERENCING_URL", "conferencing_url", http_url, None,
             "base URL of the conferencing system's contract"),
    Variable("CONFERENCING_CREDENTIAL", "conferencing_credential", optional(text), "",
             "bearer credential for the conferencing system", secret=True),
    Variable("CONFERENCING_SIGNING_SECRET", "conferencing_signing_secrets", parse_secrets, "",
             "HMAC secret (32 bytes or more) to sign conferencing requests (empty: unsigned, local "
             "stack only); during a rotation "
             "`NEW,OLD`: every request is signed with each (see "
             "docs/runbooks/rotate-provider-credentials.md)", secret=True),
    Variable("CONFSYNC_SOLUTION_NAMES", "solution_names", names, DEFAULT_SOLUTION_NAMES,
             "comma-separated `conferenceSolution.name`s that are ours (empty: any name)"),
    Variable("CONFSYNC_SOLUTION_KEY_TYPE", "solution_key_type", text, "addOn",
             "`conferenceSolution.key.type` that is ours"),
    Variable("CONFSYNC_RELEVANT_FIELDS", "relevant_fields", _RELEVANT,
             "title,start,end,timeZone,recurrence,attendees,organizer",
             "comma-separated conference fields whose change triggers an update"),
    Variable("CONFSYNC_OWNED_EVENTS_ONLY", "owned_events_only", boolean, "true",
             "only events organised by the calendar's own user count"),
    Variable("CONFSYNC_FULL_SYNC_WINDOW_DAYS", "full_sync_window_days", Number(0, 3650), "30",
             "a full sync reads events ending after now - N days"),
    Variable("CONFSYNC_CALENDAR_PAGE_SIZE", "calendar_page_size", Number(1, 2500), "2500",
             "`maxResults` of `events.list`"),
    Variable("CONFSYNC_CALENDAR_TIMEOUT_SECONDS", "calendar_timeout_s", _SECONDS, "30",
             "timeout of one Calendar API request", _CALENDAR),
    Variable("CONFSYNC_CALENDAR_ATTEMPTS", "calendar_attempts", Number(1, 10), "5",
             "attempts per Calendar request on 429, rate-limit 403, 5xx (exponential backoff)",
             _CALENDAR),
    Variable("CONFSYNC_LEASE_SECONDS", "lease_s", Number(10, 3600), "300",
             "lease of a sync on its calendar (extended on long pulls)"),
    Variable("CONFSYNC_MAX_PULL_ROUNDS", "max_pull_rounds", Number(1, 100), "5",
             "pulls per run while notifications keep arriving"),
    Variable("CONFSYNC_PROVIDER_CONCURRENCY", "provider_concurrency", Number(1, 64), "8",
             "conference operations in flight per run"),
    Variable("CONFSYNC_PROVIDER_TIMEOUT_SECONDS", "provider_timeout_s", _SECONDS, "10",
             "timeout of one conferencing request"),
    Variable("CONFSYNC_PROVIDER_ATTEMPTS", "provider_attempts", Number(1, 10), "3",
             "attempts per conference operation within a run"),
    Variable("CONFSYNC_PENDING_MAX_ATTEMPTS", "pending_max_attempts", Number(1, 1000), "10",
             "runs that retry a pending operation before it is failed"),
    Variable("CONFSYNC_PENDING_BASE_DELAY_SECONDS", "pending_base_delay_s", Number(1, 86400),
             "60", "first backoff of a pending operation (at most the longest)"),
    Variable("CONFSYNC_PENDING_MAX_DELAY_SECONDS", "pending_max_delay_s", Number(1, 86400),
             "3600", "longest backoff of a pending operation"),
    Variable("CONFSYNC_WRITE_BACK", "write_back", boolean, "true",
             "write changed join details back to the event"),
    Variable("CONFSYNC_JOIN_URL_HOSTS", "join_url_hosts", host_names, "",
             "comma-separated host names a join URL may point at to be written back (`https` "
             "only, at most 1,300 characters; any other is never written and is logged at "
             "ERROR); required when `CONFSYNC_WRITE_BACK` is on"),
    Variable("CONFSYNC_DELETE_BRAKE", "delete_brake", Number(0, 1000), "20",
             "a run that would delete more conferences of one calendar than this holds all its "
             "deletions for an operator (`confsync release-deletes`); 0 holds every deletion"),
    Variable("CONFSYNC_DELETE_GRACE_SECONDS", "delete_grace_s", Number(0, 3600), "120",
             "a conference whose last event left a calendar is deleted only this long after, "
             "unless the event shows up on another enrolled calendar (moved, or a new organizer), "
             "another calendar of the owner still carries it, or the Calendar shows it moved "
             "away; at most 5: the run waits it out; "
             "see docs/decisions/2026-12-03-delete-grace.md"),
    Variable("CONFSYNC_MOVE_WAIT_SECONDS", "move_wait_s", Number(0, 3600), "900",
             "a delete about to be sent waits, at most this long past its grace, while a "
             "calendar of the owner lost an event to a move (or a cancelled invitation) it "
             "cannot place less than this long ago, so the calendar the event went to can "
             "count it first; 0: never waits; see docs/decisions/2026-12-03-delete-grace.md"),
    Variable("CONFSYNC_OWNERLESS_POLICY", "ownerless_policy", Choice(OWNERLESS_POLICIES),
             "first-claimant", "conferences without an owner: `first-claimant` (only the first "
             "user whose calendar carried one changes or deletes it) or `hands-off` (never "
             "changed or deleted); see docs/decisions/2026-12-03-ownerless-conferences.md"),
    Variable("LOG_LEVEL", "log_level", Choice(("DEBUG", "INFO", "WARNING", "ERROR"), upper=True),
             "INFO", "least severe level logged", ALL),
    Variable("CONFSYNC_SCHEDULER_JOB", "scheduler_job", optional(scheduler_job), "",
             "the Cloud Scheduler job's full name (`projects/P/locations/L/jobs/J`): `confsync "
             "tick` runs it and `confsync status` shows it; empty: `tick` publishes to "
             "channel-commands itself (local stack)", (CLI,)),
)  # fmt: skip

_BY_NAME = {v.name: v for v in VARIABLES}


def variable(name: str) -> Variable:
    """The declaration of ``name`` (KeyError for an undeclared name)."""
    return _BY_NAME[name]


# --- the README's table --------------------------------------------------------------------------

TABLE_HEADER = "| variable | read by | default | allowed | meaning |"
REGENERATE = "python -m confsync.settings --readme README.md"


def _row(declared: Variable) -> str:
    if declared.default is None:
        default = "required"
    else:
        default = f"`{declared.default}`" if declared.default else "(empty)"
    meaning = ("**secret**: " if declared.secret else "") + declared.meaning
    cells = (f"`{declared.name}`", ", ".join(declared.used_by), default, declared.allowed, meaning)
    return "| " + " | ".join(cells) + " |"


def markdown_table() -> str:
    """The README's configuration table: one row per declared variable, in declaration order."""
    rows = [TABLE_HEADER, "|---|---|---|---|---|", *(_row(v) for v in VARIABLES)]
    return "\n".join(rows) + "\n"


def table_span(readme: str) -> tuple[int, int]:
    """Where the configuration table is in ``readme``: (start, end) offsets, end after its last
    row's newline. ValueError when there is none."""
    start = readme.find("| variable | read by |")
    if start < 0 or (start > 0 and readme[start - 1] != "\n"):
        raise ValueError("the README has no configuration table (| variable | read by | ...)")
    end = start
    while end < len(readme) and readme.startswith("|", end):
        newline = readme.find("\n", end)
        end = len(readme) if newline < 0 else newline + 1
    return start, end


def main(argv: Sequence[str] | None = None) -> int:
    """``--markdown`` prints the table; ``--readme PATH`` rewrites the table inside that file."""
    parser = argparse.ArgumentParser(prog="python -m confsync.settings", description=main.__doc__)
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--markdown", action="store_true", help="print the configuration table")
    group.add_argument("--readme", type=Path, help="replace the configuration table in this file")
    args = parser.parse_args(argv)
    if args.markdown:
        sys.stdout.write(markdown_table())
        return 0
    text = args.readme.read_text(encoding="utf-8")
    start, end = table_span(text)
    args.readme.write_text(text[:start] + markdown_table() + text[end:], encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
