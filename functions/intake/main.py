"""Cloud Function ``intake``: Google Calendar push notifications in, SyncRequests out.

Trigger: HTTPS (the only public endpoint; its URL is the ``address`` of every ``events.watch``
channel). Google POSTs one notification per change, headers only; the channel token proves the
notification genuine and names the calendar without a database read, and
:class:`~confsync.intake.IntakeService` publishes one SyncRequest to ``sync-requests``.

=============================================  ======  ===============================
notification                                   answer  effect
=============================================  ======  ===============================
state ``exists`` / ``not_exists``, genuine     200     one SyncRequest published
state ``sync`` (new channel), genuine          200     nothing
Pub/Sub publish failed or timed out            503     WARNING log; Google retries
missing or malformed ``X-Goog-*`` header       400     nothing, WARNING log
token missing, forged, other channel, old key  403     nothing, WARNING log
method other than POST                         405     nothing, WARNING log
body over CONFSYNC_INTAKE_MAX_BODY_BYTES       413     nothing, WARNING log
=============================================  ======  ===============================

Google retries only 500, 502, 503 and 504, so refusals are 4xx and are not re-sent. Google's
delivery respects robots.txt: functions-framework answers ``/robots.txt`` with 404, which crawlers
read as "no robots.txt", so delivery is never blocked. Any path is accepted. Answers are plain text.
"""

from __future__ import annotations

import os

import flask
import functions_framework

from confsync.bootstrap_intake import build_intake_service
from confsync.cloud_logging import setup_logging, traced
from confsync.config import load_intake_config
from confsync.intake import ALLOWED_METHOD
from confsync.lazy import Lazy

CONFIG = load_intake_config(os.environ)  # fails fast, naming every bad variable
setup_logging(CONFIG.log_level)
_TEXT = {"Content-Type": "text/plain; charset=utf-8"}
_service = Lazy(lambda: build_intake_service(CONFIG))  # built by the first request, then reused


def _body_length(request: flask.Request) -> int:
    """The body's length, reading at most one byte past the limit when none is declared."""
    if request.content_length is not None:
        return request.content_length
    return len(request.stream.read(CONFIG.max_body_bytes + 1))


@functions_framework.http
def intake(request: flask.Request) -> tuple[str, int, dict[str, str]]:
    """Answer one Google Calendar push notification."""
    notification = dict(request.headers.items())  # werkzeug's Headers is not a Mapping
    with traced(CONFIG.project, notification):
        answer = _service().handle(request.method, notification, _body_length(request))
    headers = dict(_TEXT)
    if answer.status == 405:
        headers["Allow"] = ALLOWED_METHOD
    return answer.reason, answer.status, headers
