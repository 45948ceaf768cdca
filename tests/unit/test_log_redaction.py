"""No e-mail address, sync or page token or Calendar URL reaches a log entry, whatever a call site
or a library passes: the formatter scrubs message, labels, fields and tracebacks, and the
libraries that log request URLs are held at WARNING."""

from __future__ import annotations

import io
import json
import logging
from typing import Any

import httplib2
import pytest
from googleapiclient.errors import HttpError
from hypothesis import given, settings
from hypothesis import strategies as st

from confsync.adapters.calendar_api import classify_http_error
from confsync.cloud_logging import QUIET_LOGGERS, setup_logging
from confsync.redaction import redact, redact_value
from tests.support.log_leaks import leaks_in

pytestmark = pytest.mark.logs_secrets  # these tests log secrets on purpose, to see them scrubbed

EMAIL = "alice.smith@example.com"
SYNC_TOKEN = "CPDAlvWDx70CEPDAlvWDx70CGAU="
URI = (
    "https://www.googleapis.com/calendar/v3/calendars/alice.smith%40example.com/events"
    f"?syncToken={SYNC_TOKEN}&showDeleted=true&alt=json"
)


def _entries(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def _http_error(status: int) -> HttpError:
    body = json.dumps({"error": {"errors": [{"reason": "backendError"}], "message": "oops"}})
    return HttpError(httplib2.Response({"status": str(status)}), body.encode(), uri=URI)


def _assert_clean(text: str) -> None:
    assert leaks_in(text) == []
    for secret in (EMAIL, "alice.smith%40example.com", SYNC_TOKEN, "/calendar/v3/calendars"):
        assert secret not in text


def test_a_failing_calendar_calls_traceback_names_neither_calendar_nor_token() -> None:
    stream = io.StringIO()
    setup_logging("INFO", stream)
    cause = _http_error(503)
    try:
        try:
            raise cause
        except HttpError as err:
            raise classify_http_error(err, "events.list") from err
    except Exception:
        logging.getLogger("confsync.sync").exception("sync failed")

    [entry] = _entries(stream)
    assert "HttpError 503" in entry["message"]  # the traceback is still there, chain included
    assert "CalendarUnavailableError" in entry["message"]
    assert "https://www.googleapis.com/" in entry["message"]  # the host stays, for debugging
    _assert_clean(json.dumps(entry))


def test_labels_fields_and_message_arguments_are_scrubbed() -> None:
    stream = io.StringIO()
    setup_logging("DEBUG", stream)

    logging.getLogger("confsync.test").warning(
        "calendar %s answered %s",
        EMAIL,
        {"nextSyncToken": SYNC_TOKEN, "nextPageToken": "eyJzbmFwc2hvdCI6ImFiYyJ9xyz"},
        extra={
            "labels": {"subject": EMAIL, "calendar_key": "ck_1"},
            "request": {"url": URI, "subjects": [EMAIL], "page_token": "p:1"},
        },
    )

    [entry] = _entries(stream)
    _assert_clean(json.dumps(entry))
    assert entry["logging.googleapis.com/labels"] == {"subject": "<email>", "calendar_key": "ck_1"}
    assert entry["request"]["subjects"] == ["<email>"]


@pytest.mark.parametrize(
    "name",
    [
        "googleapiclient.discovery",
        "googleapiclient.http",
        "google.cloud.firestore_v1.services.firestore.transports.grpc",
        "google.auth.transport.requests",
    ],
)
def test_google_client_libraries_never_log_request_urls_even_at_debug(name: str) -> None:
    stream = io.StringIO()
    setup_logging("DEBUG", stream)

    logging.getLogger(name).debug("URL being requested: GET %s", URI)
    logging.getLogger("confsync.test").debug("ours still logs at DEBUG")

    assert [entry["logger"] for entry in _entries(stream)] == ["confsync.test"]
    assert any(name.startswith(quiet + ".") for quiet in QUIET_LOGGERS)


@pytest.mark.parametrize(
    "text",
    [
        "GET http://localhost:8683/calendar/v3/calendars/bob%40example.com/events?pageToken=abc",
        "EventPage(items=(), next_page_token=None, next_sync_token='bob@example.com:0:7')",
        "{'nextSyncToken': 'eyJjYWxlbmRhciI6ImJvYiJ9abcdefgh', 'items': []}",
        "sync_token=CAESBgiA;rest",
        'grant for "Bob.O\'Neil+work@Mail.Example.CO.uk" refused',
    ],
)
def test_every_form_a_secret_takes_in_our_and_our_libraries_messages_is_scrubbed(
    text: str,
) -> None:
    assert leaks_in(redact(text)) == []


_LOCAL = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789._+-", min_size=1, max_size=20)
_DOMAIN = st.lists(
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=12),
    min_size=2,
    max_size=4,
).map(".".join)


@settings(max_examples=200)
@given(
    before=st.text(max_size=30),
    local=_LOCAL,
    domain=_DOMAIN.filter(lambda d: d[-1].isalpha()),
    after=st.text(max_size=30),
    encoded=st.booleans(),
)
def test_no_email_address_survives_redaction_wherever_it_stands(
    before: str, local: str, domain: str, after: str, encoded: bool
) -> None:
    address = f"{local}{'%40' if encoded else '@'}{domain}"
    scrubbed = redact(f"{before} {address} {after}")
    assert address not in scrubbed
    assert redact_value({"k": [address]}) == {"k": [redact(address)]}


def test_a_service_accounts_address_is_kept_to_say_which_account_lacks_a_role() -> None:
    text = "signJwt as calendar@my-project.iam.gserviceaccount.com: HTTP 403 for alice@example.com"
    assert (
        redact(text)
        == "signJwt as calendar@my-project.iam.gserviceaccount.com: HTTP 403 for <email>"
    )


def test_text_without_secrets_is_left_alone() -> None:
    text = "sync synced: 3 events in 1 pages (calendar ck_1b2c, conference conf_9, 0.25 s)"
    assert redact(text) == text
    assert redact_value({"n": 3, "ok": True, "x": None, "s": text}) == {
        "n": 3,
        "ok": True,
        "x": None,
        "s": text,
    }
