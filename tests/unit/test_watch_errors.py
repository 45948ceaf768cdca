"""How the Calendar adapter classifies ``events.watch`` and ``channels.stop`` answers."""

from __future__ import annotations

import json

import httplib2
import pytest
from googleapiclient.errors import HttpError

from confsync.adapters.calendar_api import classify_http_error
from confsync.errors import (
    CalendarAccessError,
    CalendarNotFoundError,
    CalendarUnavailableError,
    PermanentError,
    WatchRefusedError,
)


def _error(status: int, reason: str, message: str = "error") -> HttpError:
    body = {"error": {"code": status, "message": message, "errors": [{"reason": reason}]}}
    return HttpError(httplib2.Response({"status": str(status)}), json.dumps(body).encode())


@pytest.mark.parametrize(
    ("status", "reason", "message", "expected"),
    [
        (400, "pushNotSupportedForRequestedResource", "x", WatchRefusedError),
        (403, "forbidden", "Forbidden", WatchRefusedError),
        (
            400,
            "badRequest",
            "Push notifications are not supported by this resource.",
            WatchRefusedError,
        ),
        (403, "rateLimitExceeded", "Rate Limit Exceeded", CalendarUnavailableError),
        (
            403,
            "notACalendarUser",
            "The user must be signed up for Google Calendar.",
            CalendarAccessError,
        ),
        (401, "authError", "Invalid Credentials", CalendarAccessError),
        (400, "push.webhookUrlNotHttps", "WebHook callback must be HTTPS", PermanentError),
        (503, "backendError", "Backend Error", CalendarUnavailableError),
        (404, "notFound", "Not Found", CalendarAccessError),
    ],
)
def test_watch_errors(status: int, reason: str, message: str, expected: type[Exception]) -> None:
    error = classify_http_error(_error(status, reason, message), "events.watch")

    assert type(error) is expected


def test_a_refusal_reason_means_nothing_special_outside_watch() -> None:
    error = classify_http_error(_error(403, "forbidden"), "events.list")

    assert type(error) is CalendarAccessError


def test_channels_stop_404_is_not_found_which_the_adapter_swallows() -> None:
    error = classify_http_error(_error(404, "notFound"), "channels.stop")

    assert type(error) is CalendarNotFoundError
