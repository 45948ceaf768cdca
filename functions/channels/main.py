"""Cloud Function ``channels``: enrollment, unenrollment and the periodic channel maintenance.

Trigger: Pub/Sub topic ``channel-commands``, through a push subscription (declared in Terraform in
production, created by the local stack on the emulator): functions-framework converts its envelope
to a ``messagePublished`` CloudEvent. Cloud Scheduler publishes
``{"v":1,"command":"tick","issuedAt":"..."}`` every few minutes; ``confsync enroll`` /
``unenroll`` and intake's ``/v1/enroll`` (for the add-on) publish ``enroll`` / ``unenroll``; a
tick publishes its own ``renew`` / ``sweep`` fan-out batches. Returning acknowledges the
message; raising makes Pub/Sub redeliver it with backoff, and finally dead-letter it. Every
command is idempotent, so a redelivery is harmless.

=============================================  ============================================
outcome                                        answer
=============================================  ============================================
done (including per-calendar failures, which   ack (the next tick finds the work again)
the next tick retries)
``enroll`` of a subject that is not an e-mail  ack, ERROR log naming the domain and the
address or not of a domain in                  calendar key, never the address (nothing
``CONFSYNC_ALLOWED_DOMAINS``, whoever          read, written or called: someone who may
published it                                   publish commands asked for another domain)
``enroll`` from the add-on of a calendar an    ack, INFO log (nothing changed)
operator blocked (``unenroll --block``)
malformed message (cannot ever decode)         ack, WARNING log (nothing changed)
PermanentError                                 ack, ERROR log (alerted on)
TransientError or any unexpected error         raise: retry, then dead letter
=============================================  ============================================
"""

from __future__ import annotations

import os

import flask
import functions_framework
from cloudevents.http.event import CloudEvent

from confsync.bootstrap import build_channel_service, priority_of, spending_as
from confsync.cloud_logging import function_logger, setup_logging, traced
from confsync.config import load_channels_config
from confsync.errors import MalformedInputError, PermanentError
from confsync.lazy import Lazy
from confsync.messages import decode_channel_command, pubsub_message

CONFIG = load_channels_config(os.environ)  # fails fast, naming every bad variable
setup_logging(CONFIG.log_level)
_LOGGER = function_logger("channels")
_service = Lazy(lambda: build_channel_service(CONFIG))  # built by the first request, then reused


@functions_framework.cloud_event
def channels(event: CloudEvent) -> None:
    """Handle one ``messagePublished`` CloudEvent carrying a channel command."""
    with traced(CONFIG.project, _headers()):
        _channels(event)


def _headers() -> dict[str, str]:
    """The push request's headers (its trace context), outside a request: none."""
    return dict(flask.request.headers.items()) if flask.has_request_context() else {}


def _channels(event: CloudEvent) -> None:
    try:
        message = pubsub_message(event.data)
        command = decode_channel_command(message.data)
    except MalformedInputError as err:
        _LOGGER.warning("malformed channel command acknowledged and dropped: %s", err)
        return
    kind = type(command).__name__
    try:
        with spending_as(priority_of(command)):  # maintenance spends the Calendar budget last
            _service().handle(command)
    except PermanentError as err:
        _LOGGER.error(
            "channel command failed permanently; acknowledged: %s: %s",
            kind,
            err,
            extra={"labels": {"command": kind}},
        )
