"""Notification intake: verify one Google Calendar push notification, publish one SyncRequest.

Pure service (no Google client, no Firestore, no Calendar call): the entry point
``functions/intake/main.py`` hands it the method, the headers and the body length of every request
on any path but ``/v1/enroll`` (the add-on's enrolment, :mod:`confsync.enroll_intake`), and turns
the :class:`IntakeAnswer` into the HTTP answer. Checks run in this order, the first failure
answers:

=======================================================  ======  =========================
notification                                             status  effect
=======================================================  ======  =========================
method other than POST                                   405     nothing
body longer than ``max_body_bytes`` (Google sends none)  413     nothing
``X-Goog-Channel-ID`` missing or over 64 characters      400     nothing
``X-Goog-Resource-State`` not sync, exists, not_exists   400     nothing
``X-Goog-Resource-ID`` missing or blank                  400     nothing
``X-Goog-Message-Number`` not a positive integer         400     nothing
``X-Goog-Channel-Token`` missing, forged, made for       403     nothing
another channel, under an unknown key id, expired, or
a v1 token (no expiry) after ``v1_until``
state ``sync`` (first message of a new channel)          200     nothing
state ``exists`` or ``not_exists``                       200     one SyncRequest published
the publish failed (``PublishError``, incl. timeout)     503     nothing; Google retries
=======================================================  ======  =========================

Google treats 200, 201, 202, 204 and 102 as delivered, retries 500, 502, 503 and 504 with
backoff, and drops everything else, so a refusal is a 4xx (a forged or broken notification is
never worth a retry) and only a Pub/Sub failure is a 5xx. Success is 200 with a short plain-text
body rather than 204, so every answer, including success, says what happened.

Every failed publish logs one WARNING line on the ``confsync.intake`` logger, with the channel id
(when well-formed) and the calendar key (when the token is genuine) as labels. Refusals are cheap
(no Firestore, no Pub/Sub, nothing but header checks and one HMAC) and their WARNING lines are
rate-limited per instance (:class:`~confsync.log_budget.LogBudget`): at most
:data:`REFUSAL_LINES` lines per refusal reason per :data:`REFUSAL_INTERVAL_S` seconds; the lines
over that are counted, and one summary WARNING per reason and interval ("N refusals not logged")
says how many. Tokens, secrets and e-mail addresses are never logged: the calendar key is opaque.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from confsync.channel_tokens import ChannelTokenKeys, InvalidChannelToken, verify_channel_token
from confsync.errors import PublishError
from confsync.log_budget import LogBudget, warn_refusal
from confsync.messages import SyncRequest

if TYPE_CHECKING:  # the port is only a type here: intake's cold start skips the domain model
    from confsync.ports import SyncRequestPublisher

__all__ = [
    "ALLOWED_METHOD",
    "CHANGE_STATES",
    "REFUSAL_INTERVAL_S",
    "REFUSAL_LINES",
    "IntakeAnswer",
    "IntakeService",
]

ALLOWED_METHOD = "POST"
SYNC_STATE = "sync"
CHANGE_STATES = frozenset({"exists", "not_exists"})
MAX_CHANNEL_ID = 64  # Google's limit on a channel id
_MESSAGE_NUMBER = re.compile(r"^[0-9]{1,19}\Z")  # an int64, as Google sends it
REFUSAL_LINES = 10
"""Most WARNING lines one instance writes per refusal reason per :data:`REFUSAL_INTERVAL_S`."""
REFUSAL_INTERVAL_S = 60.0

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class IntakeAnswer:
    """The HTTP answer to one notification: status code and a short plain-text reason."""

    status: int
    reason: str


class _Refused(Exception):  # noqa: N818 - internal control flow, never escapes the service
    """A check failed: answer ``status`` with ``reason``; ``detail`` goes to the log only."""

    def __init__(self, status: int, reason: str, detail: str | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.detail = detail or reason


@dataclass(frozen=True, slots=True)
class _Notification:
    """The verified headers of a notification."""

    channel_id: str
    state: str
    message_number: int
    calendar_key: str


def _utc_now() -> datetime:
    return datetime.now(UTC)


class IntakeService:
    """Verifies push notifications and turns each change into one published SyncRequest."""

    def __init__(
        self,
        publisher: SyncRequestPublisher,
        keys: ChannelTokenKeys,
        max_body_bytes: int,
        now: Callable[[], datetime] = _utc_now,
        refusal_log: LogBudget | None = None,
    ) -> None:
        self._publisher = publisher
        self._keys = keys
        self._max_body_bytes = max_body_bytes
        self._now = now
        self._refusal_log = refusal_log or LogBudget(
            per_interval=REFUSAL_LINES, interval=REFUSAL_INTERVAL_S
        )

    def handle(self, method: str, headers: Mapping[str, str], body_length: int) -> IntakeAnswer:
        """Answer one notification (header names are matched case-insensitively)."""
        lowered = {name.lower(): value for name, value in headers.items()}
        labels: dict[str, str] = {}
        try:
            notification = self._verify(method, lowered, body_length, labels)
        except _Refused as refusal:
            self._log_refusal(refusal, labels)
            return IntakeAnswer(refusal.status, refusal.reason)
        if notification.state == SYNC_STATE:
            _LOGGER.debug("channel sync message acknowledged", extra={"labels": labels})
            return IntakeAnswer(200, "sync message acknowledged")
        return self._publish(notification, labels)

    def _log_refusal(self, refusal: _Refused, labels: dict[str, str]) -> None:
        """The refusal's WARNING line, within the budget; a summary of what the budget held back."""
        warn_refusal(
            self._refusal_log,
            _LOGGER,
            "notification",
            status=refusal.status,
            reason=refusal.reason,
            detail=refusal.detail,
            labels=labels,
        )

    def _verify(
        self, method: str, headers: Mapping[str, str], body_length: int, labels: dict[str, str]
    ) -> _Notification:
        """The verified notification; raise _Refused at the first failed check."""
        if method.upper() != ALLOWED_METHOD:
            raise _Refused(405, "method not allowed", f"method {method[:16]!r} is not POST")
        if body_length > self._max_body_bytes:
            raise _Refused(
                413, "body too large", f"body of {body_length} bytes > {self._max_body_bytes}"
            )
        channel_id = headers.get("x-goog-channel-id", "")
        if not 0 < len(channel_id) <= MAX_CHANNEL_ID:
            raise _Refused(400, "missing or invalid X-Goog-Channel-ID")
        labels["channel_id"] = channel_id
        state = headers.get("x-goog-resource-state", "")
        if state != SYNC_STATE and state not in CHANGE_STATES:
            raise _Refused(400, "missing or unknown X-Goog-Resource-State")
        labels["resource_state"] = state
        if not headers.get("x-goog-resource-id", "").strip():
            raise _Refused(400, "missing X-Goog-Resource-ID")
        number = headers.get("x-goog-message-number", "").strip()
        if not _MESSAGE_NUMBER.match(number) or int(number) < 1:
            raise _Refused(400, "missing or invalid X-Goog-Message-Number")
        token = headers.get("x-goog-channel-token")
        if not token:
            raise _Refused(403, "channel token refused", "X-Goog-Channel-Token is missing")
        try:
            calendar_key = verify_channel_token(self._keys, channel_id, token, now=self._now())
        except InvalidChannelToken as err:  # its message never quotes the token
            raise _Refused(403, "channel token refused", f"channel token refused: {err}") from err
        labels["calendar_key"] = calendar_key
        return _Notification(channel_id, state, int(number), calendar_key)

    def _publish(self, notification: _Notification, labels: dict[str, str]) -> IntakeAnswer:
        request = SyncRequest(
            calendar_key=notification.calendar_key,
            reason="notification",
            notified_at=self._now(),
            channel_id=notification.channel_id,
            message_number=notification.message_number,
        )
        try:
            self._publisher.publish(request)
        except PublishError as err:
            _LOGGER.warning(
                "sync request not published; answering 503 so Google retries: %s",
                err,
                extra={"labels": labels},
            )
            return IntakeAnswer(503, "sync request not published, retry later")
        _LOGGER.debug("sync request published", extra={"labels": labels})
        return IntakeAnswer(200, "sync request published")
