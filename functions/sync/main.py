"""Cloud Function ``sync``: one coalesced incremental sync of a calendar per SyncRequest.

Trigger: Pub/Sub topic ``sync-requests``, through a push subscription (declared in Terraform in
production, created by the local stack on the emulator): functions-framework converts its envelope
to a ``messagePublished`` CloudEvent. Returning acknowledges the message;
raising makes Pub/Sub redeliver it with backoff, and finally dead-letter it.

=============================================  ============================================
outcome                                        answer
=============================================  ============================================
synced, coalesced, skipped, disconnected       ack
malformed message (cannot ever decode)         ack, WARNING log (nothing changed)
PermanentError (e.g. a 400 from the API)       ack, ERROR log (alerted on)
TransientError or any unexpected error         raise: retry, then dead letter
=============================================  ============================================
"""

from __future__ import annotations

import os

import flask
import functions_framework
from cloudevents.http.event import CloudEvent

from confsync.bootstrap import build_sync_runner, priority_of, spending_as
from confsync.cloud_logging import function_logger, setup_logging, traced
from confsync.config import load_sync_config
from confsync.errors import MalformedInputError, PermanentError
from confsync.lazy import Lazy
from confsync.messages import decode_sync_request, pubsub_message

CONFIG = load_sync_config(os.environ)  # fails fast, naming every bad variable
setup_logging(CONFIG.log_level)
_LOGGER = function_logger("sync")
_runner = Lazy(lambda: build_sync_runner(CONFIG))  # built by the first request, then reused


@functions_framework.cloud_event
def sync(event: CloudEvent) -> None:
    """Handle one ``messagePublished`` CloudEvent carrying a SyncRequest."""
    with traced(CONFIG.project, _headers()):
        _sync(event)


def _headers() -> dict[str, str]:
    """The push request's headers (its trace context), outside a request: none."""
    return dict(flask.request.headers.items()) if flask.has_request_context() else {}


def _sync(event: CloudEvent) -> None:
    try:
        message = pubsub_message(event.data)
        request = decode_sync_request(message.data)
    except MalformedInputError as err:
        _LOGGER.warning("malformed SyncRequest acknowledged and dropped: %s", err)
        return
    try:
        with spending_as(priority_of(request)):  # sweeps spend the Calendar budget last
            _runner().run(request)
    except PermanentError as err:
        _LOGGER.error(
            "sync failed permanently; acknowledged: %s",
            err,
            extra={"labels": {"calendar_key": request.calendar_key}},
        )
