"""confsync's exception tree, sorted by what the caller must do.

Adapters translate every vendor error (HTTP statuses, ``google.api_core`` exceptions) into one of
these, with the original chained (``raise ... from err``). Entry points map a branch to an outcome
in one place: retry (raise, so Pub/Sub redelivers or Google re-sends), or ack and record.

::

    ConfsyncError
    ├── ConfigurationError          bad or missing setting: fail fast at start, naming the variable
    ├── MalformedInputError         undecodable message or notification: reject, change nothing
    ├── TransientError              a dependency failed for now: retry later (raise)
    │   ├── CalendarUnavailableError    Calendar 429, rate-limit 403, 5xx, network
    │   │   └── CalendarBudgetSpentError    the project's Calendar budget for this minute is spent
    │   ├── StoreUnavailableError       Firestore unavailable, aborted, deadline exceeded
    │   ├── PublishError                Pub/Sub publish failed
    │   ├── LeaseLostError              another run took over the calendar: redo the sync
    │   ├── RecordConflictError         another run wrote a conference record meanwhile: re-plan
    │   └── ProviderUnavailableError    conferencing 429, 5xx, timeout, network
    │       └── ProviderAuthError           conferencing 401, 403: credential or signature refused
    ├── PermanentError              retrying cannot help: ack, record, alert
    │   ├── CalendarAccessError         401, invalid_grant, permission 403, the calendar's 404:
    │   │   │                           calendar disconnected (its user deleted, suspended, gone)
    │   │   └── UntrustedViewError          events.list accessRole below writer: disconnected too
    │   ├── WatchRefusedError           events.watch refused for this calendar: poll it instead
    │   └── ProviderRejectedError       conferencing 4xx other than the ones below
    ├── SyncTokenInvalidError       Calendar 410 on a sync token: run a full sync
    ├── PreconditionFailedError     Calendar 412 on If-Match: re-read and re-plan
    ├── CalendarNotFoundError       Calendar 404 on an event: the event is gone
    ├── ProviderGoneError           conferencing 404 on delete, 410 on update: already gone
    └── ProviderStaleRevisionError  conferencing 409: a newer revision was applied already
"""

from __future__ import annotations

__all__ = [
    "OUTCOME_MAX_CHARS",
    "CalendarAccessError",
    "CalendarBudgetSpentError",
    "CalendarNotFoundError",
    "CalendarUnavailableError",
    "ConfigurationError",
    "ConfsyncError",
    "LeaseLostError",
    "MalformedInputError",
    "PermanentError",
    "PreconditionFailedError",
    "ProviderAuthError",
    "ProviderGoneError",
    "ProviderRejectedError",
    "ProviderStaleRevisionError",
    "ProviderUnavailableError",
    "PublishError",
    "RecordConflictError",
    "StoreUnavailableError",
    "SyncTokenInvalidError",
    "TransientError",
    "UntrustedViewError",
    "WatchRefusedError",
]


class ConfsyncError(Exception):
    """Base of every error confsync raises on purpose."""


class ConfigurationError(ConfsyncError):
    """A setting is missing or invalid. The message names the environment variable."""


class MalformedInputError(ConfsyncError):
    """An input (Pub/Sub message, push notification, stored document) cannot be decoded."""


class TransientError(ConfsyncError):
    """A dependency failed in a way that retrying later can fix."""


class CalendarUnavailableError(TransientError):
    """The Calendar API answered 429, a rate-limit 403 or a 5xx, or could not be reached."""


class CalendarBudgetSpentError(CalendarUnavailableError):
    """The project-wide Calendar budget (``CONFSYNC_PROJECT_CALENDAR_PER_MINUTE``) allows no more
    calls of this priority in the current minute: nothing was sent to Google. A sync raises it
    (Pub/Sub redelivers the request with backoff); the tick and its fan-out batches defer the
    calendar to the next tick. ``retry_after`` is how long until the next minute begins."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class StoreUnavailableError(TransientError):
    """Firestore could not complete the operation for now."""


class PublishError(TransientError):
    """A Pub/Sub message could not be published."""


class LeaseLostError(TransientError):
    """The run's lease on a calendar expired and another run took it; nothing was committed."""


class RecordConflictError(TransientError):
    """Conference records changed since they were read (another calendar's run wrote them);
    nothing of the save was written. The caller reads them again and plans again."""

    def __init__(self, keys: list[str]) -> None:
        super().__init__(f"conference records changed meanwhile: {', '.join(sorted(keys))}")
        self.keys = sorted(keys)


class ProviderUnavailableError(TransientError):
    """The conferencing system answered 429 or 5xx, timed out, or could not be reached."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ProviderAuthError(ProviderUnavailableError):
    """The conferencing system refused our bearer credential or request signature (401, 403).

    Kept pending with backoff like an outage, never failed at once: a credential or signing-secret
    rotation done on one side first, or clock skew, heals without anyone re-sending. The sync logs
    each one with the alert ``conference_provider_auth_refused``."""


class PermanentError(ConfsyncError):
    """Retrying cannot help; the outcome is recorded and alerted on."""


OUTCOME_MAX_CHARS = 500
"""The longest reason a disconnected calendar's ``last_outcome`` keeps (see
:attr:`CalendarAccessError.outcome`): room for the operator's next step that the credential
errors name (a missing role, the delegation to authorize), never a whole response body."""


class CalendarAccessError(PermanentError):
    """Access to a calendar is gone: credentials revoked or lacking permission (401, a 403 other
    than a rate limit), the user deleted or suspended (``invalid_grant`` from the token endpoint,
    a 404 on the calendar), or the delegation not authorized (``unauthorized_client``). Retrying
    cannot help; the calendar is disconnected with :attr:`outcome` as its reason.

    The message is built by confsync's adapters from the method, the HTTP status, Google's reason
    and the token endpoint's error code and description: it names no user and carries no token."""

    @property
    def outcome(self) -> str:
        """The reason stored as the calendar's ``last_outcome``: the message on one line, at most
        :data:`OUTCOME_MAX_CHARS` characters (longer ones are cut and end with ``...``)."""
        text = " ".join(str(self).split())
        if len(text) <= OUTCOME_MAX_CHARS:
            return text
        return text[: OUTCOME_MAX_CHARS - 3].rstrip() + "..."


DEPLOYMENT_WIDE_MARKERS: tuple[str, ...] = (
    "unauthorized_client",  # the delegation grant lacks the client id or the scope
    "invalid_client",  # the OAuth client was deleted or its secret rotated
    "signJwt as ",  # the function may not sign as the delegation service account
    "credentials of its own",  # the function has no identity to call signJwt with
    "own credentials",  # the function's identity was refused or failed to refresh
    "accessNotConfigured",  # the Calendar API is not enabled in the project
    "SERVICE_DISABLED",
    "insufficientPermissions",  # the token lacks the scope (delegation grant narrowed)
    "ACCESS_TOKEN_SCOPE_INSUFFICIENT",
)
"""Fragments of the reasons :class:`CalendarAccessError` carries that point at the deployment's
configuration rather than at one user: every calendar of the deployment fails the same way, and
fixing the configuration restores all of them."""


def deployment_wide(outcome: str | None) -> bool:
    """Whether a disconnected calendar's reason (its ``last_outcome``) points at the
    deployment's configuration (:data:`DEPLOYMENT_WIDE_MARKERS`), not at its user leaving."""
    return outcome is not None and any(marker in outcome for marker in DEPLOYMENT_WIDE_MARKERS)


class UntrustedViewError(CalendarAccessError):
    """An ``events.list`` answer showed the calendar through an access role below ``writer``
    (``freeBusyReader``, ``reader`` or a value we do not know). Such a view strips or hides what
    the sync relies on (``conferenceData``, private events), so planning from it would delete or
    overwrite live conferences: the calendar is disconnected instead, as for revoked credentials.
    ``role`` is the role Google answered; the message starts with the outcome reason
    ``access_role``."""

    reason = "access_role"

    def __init__(self, role: str) -> None:
        super().__init__(
            f"{self.reason}: events.list answered accessRole {role!r}; writer or owner needed"
        )
        self.role = role


class WatchRefusedError(PermanentError):
    """The calendar refuses push channels (``events.watch`` answered a push-not-supported or
    forbidden 400/403): it is covered by the sweep (poll-only) instead of being watched again."""


class ProviderRejectedError(PermanentError):
    """The conferencing system rejected a request as invalid (a 4xx we do not retry)."""


class SyncTokenInvalidError(ConfsyncError):
    """The Calendar API answered 410 to a sync token: a full sync is required."""


class PreconditionFailedError(ConfsyncError):
    """The Calendar API answered 412 to an ``If-Match`` write: the event changed meanwhile."""


class CalendarNotFoundError(ConfsyncError):
    """The Calendar API answered 404: the event or calendar does not exist."""


class ProviderGoneError(ConfsyncError):
    """The conference is already gone (404 on delete, 410 on update)."""


class ProviderStaleRevisionError(ConfsyncError):
    """The conferencing system holds a newer revision than the one sent (409)."""
