"""The test user the live tools act as (``make conformance-live``; ``make smoke`` reads the same
variables): who they are and how their access tokens are obtained, read from the environment.

:func:`load_test_user` either answers a complete :class:`TestUser` or raises
:class:`TestUserError` naming every variable that is missing or wrong, so a run without
credentials stops before it calls anything. The test user is not production's: these variables
are separate from the functions' ``CONFSYNC_*`` credentials, and the scope is the full
``calendar`` scope (making and deleting a scratch calendar and changing its ACL need it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from confsync.settings import variable

__all__ = [
    "CALENDAR_SCOPE",
    "GOOGLE_CALENDAR_URL",
    "OPTIONAL_VARIABLES",
    "TestUser",
    "TestUserError",
    "load_test_user",
]

CALENDAR_SCOPE = "https://www.googleapis.com/auth/calendar"
GOOGLE_CALENDAR_URL = "https://www.googleapis.com/calendar/v3/"

USER = "CONFSYNC_TEST_USER"
MODE = "CONFSYNC_TEST_CREDENTIALS"
DELEGATION = "CONFSYNC_TEST_DELEGATION_SERVICE_ACCOUNT"
CLIENT_ID = "CONFSYNC_TEST_OAUTH_CLIENT_ID"
CLIENT_SECRET = "CONFSYNC_TEST_OAUTH_CLIENT_SECRET"  # noqa: S105 (a variable's name)
REFRESH_TOKEN = "CONFSYNC_TEST_OAUTH_REFRESH_TOKEN"  # noqa: S105 (a variable's name)
SECOND_USER = "CONFSYNC_TEST_SECOND_USER"
SECOND_REFRESH_TOKEN = "CONFSYNC_TEST_SECOND_OAUTH_REFRESH_TOKEN"  # noqa: S105 (a variable's name)
PUSH_URL = "CONFSYNC_TEST_PUSH_URL"
PUSH_PORT = "CONFSYNC_TEST_PUSH_PORT"

OPTIONAL_VARIABLES = {
    SECOND_USER: "checks that need a second user (attendee copies, roles, free/busy views)",
    PUSH_URL: "checks of watch channels and push notifications (with CONFSYNC_TEST_PUSH_PORT)",
}
"""What each optional variable enables (the skipped checks name it)."""

Mode = Literal["delegated", "oauth"]


class TestUserError(ValueError):
    """The test user's configuration is missing or wrong; ``problems`` name each variable."""

    __test__ = False  # not a pytest test class

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class TestUser:
    """A Workspace test user, an optional second one, and the endpoints to call."""

    __test__ = False  # not a pytest test class

    email: str
    mode: Mode
    delegation_service_account: str | None
    oauth_client_id: str | None
    oauth_client_secret: str | None = None
    oauth_refresh_token: str | None = None
    second_user: str | None = None
    second_refresh_token: str | None = None
    push_url: str | None = None
    push_port: int | None = None
    token_url: str = str(variable("GOOGLE_TOKEN_URL").default)
    iam_credentials_url: str = str(variable("IAM_CREDENTIALS_URL").default)
    calendar_api_url: str = GOOGLE_CALENDAR_URL

    def __repr__(self) -> str:  # the secrets stay out of tracebacks and logs
        return f"TestUser(email={self.email!r}, mode={self.mode!r})"


def _email(value: str) -> bool:
    local, at, domain = value.partition("@")
    labels = domain.split(".")
    return bool(at and local and len(labels) > 1 and all(labels)) and not any(
        c.isspace() or c == "@" for c in local + domain
    )


def _url(value: str, *, https: bool) -> bool:
    schemes = ("https",) if https else ("https", "http")
    try:
        parts = urlsplit(value)
        return parts.scheme in schemes and bool(parts.hostname)
    except ValueError:  # e.g. an unbalanced IPv6 bracket
        return False


class _Reader:
    """Values of the environment, with every problem collected rather than the first raised."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.environ = environ
        self.problems: list[str] = []

    def get(self, name: str) -> str | None:
        value = self.environ.get(name, "").strip()
        return value or None

    def need(self, name: str, why: str) -> str | None:
        value = self.get(name)
        if value is None:
            self.problems.append(f"{name} is not set ({why})")
        return value

    def check(self, ok: bool, problem: str) -> None:
        if not ok:
            self.problems.append(problem)

    def email(self, name: str, why: str, *, required: bool) -> str | None:
        value = self.need(name, why) if required else self.get(name)
        if value is not None and not _email(value):
            self.problems.append(f"{name} must be an e-mail address")
            return None
        return value

    def url(self, name: str, default: str, *, https: bool = False) -> str:
        value = self.get(name) or default
        self.check(_url(value, https=https), f"{name} must be an http(s) URL")
        return value


def _mode(reader: _Reader) -> Mode | None:
    value = reader.need(MODE, "delegated or oauth")
    if value is None:
        return None
    if value not in ("delegated", "oauth"):
        reader.problems.append(f"{MODE} must be delegated or oauth, not {value!r}")
        return None
    return "delegated" if value == "delegated" else "oauth"


def _push(reader: _Reader) -> tuple[str | None, int | None]:
    url = reader.get(PUSH_URL)
    if url is None:
        return None, None
    reader.check(_url(url, https=True), f"{PUSH_URL} must be an https URL")
    raw = reader.need(PUSH_PORT, f"the local port {PUSH_URL} forwards to")
    if raw is None:
        return url, None
    if not (raw.isascii() and raw.isdigit()) or not 0 < int(raw) < 65536:
        reader.problems.append(f"{PUSH_PORT} must be a port number (1-65535)")
        return url, None
    return url, int(raw)


def load_test_user(environ: Mapping[str, str]) -> TestUser:
    """The test user the environment describes; :class:`TestUserError` names what is missing."""
    reader = _Reader(environ)
    email = reader.email(USER, "the test user's e-mail address", required=True)
    mode = _mode(reader)
    delegation = client_id = secret = refresh = second_refresh = None
    if mode == "delegated":
        delegation = reader.email(
            DELEGATION, "the service account the caller signs as, through IAM", required=True
        )
    if mode == "oauth":
        client_id = reader.need(CLIENT_ID, "the OAuth client of the refresh tokens")
        secret = reader.need(CLIENT_SECRET, "the OAuth client's secret")
        refresh = reader.need(REFRESH_TOKEN, "the test user's refresh token")
    second = reader.email(SECOND_USER, "", required=False)
    if second is not None and mode == "oauth":
        second_refresh = reader.need(SECOND_REFRESH_TOKEN, f"the refresh token of {SECOND_USER}")
    reader.check(
        second is None or email is None or second.lower() != email.lower(),
        f"{SECOND_USER} must be another user than {USER}",
    )
    push_url, push_port = _push(reader)
    token_url = reader.url("GOOGLE_TOKEN_URL", str(variable("GOOGLE_TOKEN_URL").default))
    iam_url = reader.url("IAM_CREDENTIALS_URL", str(variable("IAM_CREDENTIALS_URL").default))
    calendar_url = reader.url("CALENDAR_API_URL", GOOGLE_CALENDAR_URL)
    if reader.problems or email is None or mode is None:
        raise TestUserError(reader.problems)
    return TestUser(
        email=email,
        mode=mode,
        delegation_service_account=delegation,
        oauth_client_id=client_id,
        oauth_client_secret=secret,
        oauth_refresh_token=refresh,
        second_user=second,
        second_refresh_token=second_refresh,
        push_url=push_url,
        push_port=push_port,
        token_url=token_url,
        iam_credentials_url=iam_url,
        calendar_api_url=calendar_url,
    )
