"""Cloud Function ``intake``: Google Calendar push notifications in, SyncRequests out; and the
add-on's enrolments in, enroll commands out.

Trigger: HTTPS (the only public endpoint). Two kinds of request, told apart by the path:

* ``/v1/enroll`` (exactly): the add-on enrols its user with the user's Google ID token;
  :class:`~confsync.enroll_intake.EnrollIntakeService` verifies it and publishes one
  ``enroll`` command to ``channel-commands``.
* any other path: the URL is the ``address`` of every ``events.watch`` channel. Google POSTs one
  notification per change, headers only; the channel token proves the notification genuine and
  names the calendar without a database read, and :class:`~confsync.intake.IntakeService`
  publishes one SyncRequest to ``sync-requests``.

=============================================  ======  ===============================
notification (any path but ``/v1/enroll``)     answer  effect
=============================================  ======  ===============================
state ``exists`` / ``not_exists``, genuine     200     one SyncRequest published
state ``sync`` (new channel), genuine          200     nothing
Pub/Sub publish failed or timed out            503     WARNING log; Google retries
missing or malformed ``X-Goog-*`` header       400     nothing, WARNING log
token missing, forged, other channel, old key  403     nothing, WARNING log
method other than POST                         405     nothing, WARNING log
body over CONFSYNC_INTAKE_MAX_BODY_BYTES       413     nothing, WARNING log
=============================================  ======  ===============================

=============================================  ======  ===============================
enrolment (``POST /v1/enroll``)                answer  effect
=============================================  ======  ===============================
genuine ID token of an allowed user            202     one enroll command published
Pub/Sub publish failed or timed out            503     WARNING log; the add-on retries
Google's certificates cannot be fetched        503     WARNING log; the add-on retries
bad body (not a JSON object, unknown field,    400     nothing, WARNING log
bad ``calendarId``)
token missing, malformed, forged, expired,     401     nothing, WARNING log
other audience or issuer
e-mail not verified, domain not allowed        403     nothing, WARNING log
CONFSYNC_ENROLL_AUDIENCES empty (off)          404     nothing, WARNING log
method other than POST                         405     nothing, WARNING log
body over CONFSYNC_INTAKE_MAX_BODY_BYTES       413     nothing, WARNING log
=============================================  ======  ===============================

Google retries only 500, 502, 503 and 504, so refusals are 4xx and are not re-sent. Google's
delivery respects robots.txt: functions-framework answers ``/robots.txt`` with 404, which crawlers
read as "no robots.txt", so delivery is never blocked. Answers are plain text. The enrolment
service is built, and google-auth's JWT code imported, only when the first enrolment arrives, so
a notification's cold start does not pay for them.
"""

from __future__ import annotations

import os

import flask
import functions_framework

from confsync.bootstrap_intake import build_enroll_service, build_intake_service
from confsync.cloud_logging import setup_logging, traced
from confsync.config import load_intake_config
from confsync.intake import ALLOWED_METHOD
from confsync.lazy import Lazy

CONFIG = load_intake_config(os.environ)  # fails fast, naming every bad variable
setup_logging(CONFIG.log_level)
_TEXT = {"Content-Type": "text/plain; charset=utf-8"}
_service = Lazy(lambda: build_intake_service(CONFIG))  # built by the first request, then reused
_enroll = Lazy(lambda: build_enroll_service(CONFIG))  # built by the first enrolment
ENROLL_PATH = "/v1/enroll"  # confsync.enroll_intake.ENROLL_PATH, not imported until needed


def _body_length(request: flask.Request) -> int:
    """The body's length, reading at most one byte past the limit when none is declared."""
    if request.content_length is not None:
        return request.content_length
    return len(request.stream.read(CONFIG.max_body_bytes + 1))


def _bounded_body(request: flask.Request) -> bytes:
    """The body, reading at most one byte past the limit (nothing when the declared length is
    already over it)."""
    declared = request.content_length
    if declared is not None and declared > CONFIG.max_body_bytes:
        return b""
    return request.stream.read(CONFIG.max_body_bytes + 1)


@functions_framework.http
def intake(request: flask.Request) -> tuple[str, int, dict[str, str]]:
    """Answer one Google Calendar push notification, or one enrolment at ``/v1/enroll``."""
    headers_in = dict(request.headers.items())  # werkzeug's Headers is not a Mapping
    with traced(CONFIG.project, headers_in):
        if request.path == ENROLL_PATH:
            answer = _enroll().handle(
                request.method, headers_in, _bounded_body(request), request.content_length
            )
        else:
            answer = _service().handle(request.method, headers_in, _body_length(request))
    headers = dict(_TEXT)
    if answer.status == 405:
        headers["Allow"] = ALLOWED_METHOD
    return answer.reason, answer.status, headers
