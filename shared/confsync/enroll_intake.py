"""Add-on enrolment: verify a user's Google ID token, publish one ``enroll`` command for them.

``POST /v1/enroll`` on the intake function's URL (see ``functions/intake/main.py``), with
``Authorization: Bearer <Google ID token>`` and an optional body ``{"calendarId": "primary"}``.
The add-on calls it right after creating the user's first conference (docs/addon.md). The user is
the token's ``email``, never anything the body says. Pure service (no Google client, no Firestore):
the entry point hands it the method, the headers and the body (at most one byte past the limit),
and turns the :class:`~confsync.intake.IntakeAnswer` into the HTTP answer. Checks run in this
order, the first failure answers, so a caller without a genuine token learns nothing about the
body rules:

=================================================================  ======  ========================
request                                                            status  effect
=================================================================  ======  ========================
method other than POST                                             405     nothing; ``Allow: POST``
``CONFSYNC_ENROLL_AUDIENCES`` empty (add-on enrolment off)         404     nothing
body longer than ``max_body_bytes``                                413     nothing
``Authorization`` missing, not ``Bearer``, not a JWT; the token    401     nothing
forged, expired, of another audience or issuer, or naming a key
id Google does not publish (:mod:`confsync.id_tokens`)
``email`` missing or not verified, not a plain address; its        403     nothing
domain, or the Workspace domain (``hd``), not allowed
Google's certificates cannot be fetched                            503     nothing; add-on retries
body not empty and not a JSON object; a field other than           400     nothing
``calendarId``; ``calendarId`` not a non-empty string of at most
255 characters without control characters
genuine                                                            202     one ``EnrollCommand``,
                                                                           ``source="addon"``
the publish failed (``PublishError``, incl. timeout)               503     nothing; add-on retries
=================================================================  ======  ========================

The command's calendar id is :func:`~confsync.calendars.resolve_calendar_id` of the body's
(``primary``, the default, becomes the user's own address), so the add-on's enrolment and an
operator's land on the same calendar key. Enrolling an enrolled calendar changes nothing, and one
an operator blocked is not re-enrolled (the channels function decides both; intake reads no
database). The domain rule (an ``hd`` claim is required unless the allow-list is ``*``) and why
are in :mod:`confsync.id_tokens`.

Logs, on the ``confsync.enroll_intake`` logger: every refusal and every 503 of the certificates is
one WARNING line with the reason, rate-limited per instance exactly like notification refusals
(:data:`~confsync.intake.REFUSAL_LINES` per reason per :data:`~confsync.intake.REFUSAL_INTERVAL_S`
seconds, then one summary line); a failed publish is one WARNING line; a 202 is one INFO line. The
calendar key labels the lines once known; the token and the e-mail address are never logged.
"""

from __future__ import annotations

import json
import logging
import re
import unicodedata
from collections.abc import Mapping
from typing import Any

from confsync.calendars import PRIMARY, calendar_key, resolve_calendar_id
from confsync.domains import DomainAllowList
from confsync.errors import PublishError
from confsync.id_tokens import (
    CertsUnavailableError,
    IdTokenVerifier,
    InvalidIdTokenError,
    UserRefusedError,
    VerifiedUser,
    enrollable_user,
)
from confsync.intake import REFUSAL_INTERVAL_S, REFUSAL_LINES, IntakeAnswer
from confsync.log_budget import LogBudget, warn_refusal
from confsync.messages import EnrollCommand
from confsync.ports import ChannelCommandPublisher

__all__ = [
    "ALLOWED_METHOD",
    "ENROLL_PATH",
    "MAX_CALENDAR_ID",
    "MAX_ID_TOKEN",
    "BadEnrollBodyError",
    "EnrollIntakeService",
    "decode_enroll_body",
]

ENROLL_PATH = "/v1/enroll"
ALLOWED_METHOD = "POST"
MAX_CALENDAR_ID = 255
MAX_ID_TOKEN = 8192
"""Longest token looked at; Google's ID tokens are about a kilobyte."""
_BEARER = re.compile(r"bearer +([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)", re.IGNORECASE)
_FIELDS = frozenset({"calendarId"})

_LOGGER = logging.getLogger(__name__)


class BadEnrollBodyError(ValueError):
    """The body of an enrolment request is not one this endpoint accepts (400)."""


class _Refused(Exception):  # noqa: N818 - internal control flow, never escapes the service
    """A check failed: answer ``status`` with ``reason``; ``detail`` goes to the log only."""

    def __init__(self, status: int, reason: str, detail: str | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.detail = detail or reason


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    if len(set(keys)) != len(keys):
        raise BadEnrollBodyError("the body names a field twice")
    return dict(pairs)


def decode_enroll_body(body: bytes) -> str:
    """The calendar id an enrolment body asks for: ``primary`` for an empty body (or only
    whitespace); BadEnrollBodyError, saying what is wrong, for anything not accepted."""
    if not body.strip():
        return PRIMARY
    try:
        value = json.loads(body.decode("utf-8"), object_pairs_hook=_unique_keys)
    except BadEnrollBodyError:
        raise
    except (ValueError, RecursionError) as err:  # UnicodeDecodeError is a ValueError
        raise BadEnrollBodyError("the body is not UTF-8 JSON") from err
    if not isinstance(value, dict):
        raise BadEnrollBodyError('the body must be a JSON object, e.g. {"calendarId": "primary"}')
    if set(value) - _FIELDS:
        raise BadEnrollBodyError(
            "only calendarId may be given: the subject is taken from the ID token"
        )
    calendar_id = value.get("calendarId", PRIMARY)
    if not isinstance(calendar_id, str) or not calendar_id.strip():
        raise BadEnrollBodyError("calendarId must be a non-empty string")
    if len(calendar_id) > MAX_CALENDAR_ID:
        raise BadEnrollBodyError(f"calendarId has at most {MAX_CALENDAR_ID} characters")
    if any(unicodedata.category(char) in ("Cc", "Cs") for char in calendar_id):
        raise BadEnrollBodyError("calendarId must not contain control characters")
    return calendar_id


class EnrollIntakeService:
    """Verifies enrolment requests and turns each genuine one into one published EnrollCommand.

    ``verifier`` None means add-on enrolment is off (no audience configured): every POST answers
    404."""

    def __init__(
        self,
        publisher: ChannelCommandPublisher,
        verifier: IdTokenVerifier | None,
        allowed_domains: DomainAllowList,
        max_body_bytes: int,
        refusal_log: LogBudget | None = None,
    ) -> None:
        self._publisher = publisher
        self._verifier = verifier
        self._allowed = allowed_domains
        self._max_body_bytes = max_body_bytes
        self._refusal_log = refusal_log or LogBudget(
            per_interval=REFUSAL_LINES, interval=REFUSAL_INTERVAL_S
        )

    def handle(
        self,
        method: str,
        headers: Mapping[str, str],
        body: bytes,
        declared_length: int | None = None,
    ) -> IntakeAnswer:
        """Answer one enrolment request (header names are matched case-insensitively).

        ``body`` is what was read of the body, ``declared_length`` its Content-Length if any;
        either over ``max_body_bytes`` answers 413."""
        labels: dict[str, str] = {}
        try:
            command = self._verify(method, headers, body, declared_length, labels)
        except _Refused as refusal:
            self._log_refusal(refusal, labels)
            return IntakeAnswer(refusal.status, refusal.reason)
        try:
            self._publisher.publish(command)
        except PublishError as err:
            _LOGGER.warning(
                "enroll command not published; answering 503: %s", err, extra={"labels": labels}
            )
            return IntakeAnswer(503, "enrolment not published, retry later")
        _LOGGER.info("enrolment requested by the add-on", extra={"labels": labels})
        return IntakeAnswer(202, "enrolment requested")

    def _verify(
        self,
        method: str,
        headers: Mapping[str, str],
        body: bytes,
        declared_length: int | None,
        labels: dict[str, str],
    ) -> EnrollCommand:
        """The command to publish; raise _Refused at the first failed check."""
        if method.upper() != ALLOWED_METHOD:
            raise _Refused(405, "method not allowed", f"method {method[:16]!r} is not POST")
        if self._verifier is None:
            raise _Refused(404, "add-on enrolment is off", "CONFSYNC_ENROLL_AUDIENCES is empty")
        length = max(len(body), declared_length or 0)
        if length > self._max_body_bytes:
            raise _Refused(
                413, "body too large", f"body of {length} bytes > {self._max_body_bytes}"
            )
        user = self._user(self._verifier, headers)
        try:
            calendar_id = resolve_calendar_id(user.email, decode_enroll_body(body))
        except BadEnrollBodyError as err:
            raise _Refused(400, str(err)) from err
        labels["calendar_key"] = calendar_key(user.email, calendar_id)
        return EnrollCommand(subject=user.email, calendar_id=calendar_id, source="addon")

    def _user(self, verifier: IdTokenVerifier, headers: Mapping[str, str]) -> VerifiedUser:
        """The verified user of the request's bearer token."""
        authorization = next(
            (value for name, value in headers.items() if name.lower() == "authorization"), ""
        ).strip()
        if not authorization:
            raise _Refused(401, "ID token refused", "no Authorization header")
        if len(authorization) > MAX_ID_TOKEN + len("Bearer "):
            raise _Refused(401, "ID token refused", "the Authorization header is too long")
        match = _BEARER.fullmatch(authorization)
        if match is None:
            raise _Refused(401, "ID token refused", "Authorization is not a Bearer JWT")
        try:
            return enrollable_user(verifier.verify(match.group(1)), self._allowed)
        except InvalidIdTokenError as err:  # its message never quotes the token
            raise _Refused(401, "ID token refused", f"ID token refused: {err}") from err
        except UserRefusedError as err:  # nor the e-mail address
            raise _Refused(403, f"may not be enrolled: {err}") from err
        except CertsUnavailableError as err:
            raise _Refused(503, "ID token cannot be checked now, retry later", str(err)) from err

    def _log_refusal(self, refusal: _Refused, labels: dict[str, str]) -> None:
        """The refusal's WARNING line, within the budget; a summary of what the budget held back."""
        warn_refusal(
            self._refusal_log,
            _LOGGER,
            "enrolment",
            status=refusal.status,
            reason=refusal.reason,
            detail=refusal.detail,
            labels=labels,
        )
