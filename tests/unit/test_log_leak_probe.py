"""The log-leak probe (tests/support/log_leaks.py) finds a leak at any level, in a message or a
field, and changes nothing a test sees of its logs."""

from __future__ import annotations

import logging

import pytest

from tests.support.log_leaks import STAND_INS, leaks_in, probing

pytestmark = pytest.mark.logs_secrets  # these tests leak on purpose, inside their own probe


@pytest.mark.parametrize(
    ("args", "extra"),
    [
        (("calendar %s", "alice@example.com"), {}),
        (("listing %s", "events?syncToken=CPDAlvWDx70CEPDAlvWDx70CGAU="), {}),
        (("ok",), {"labels": {"subject": "alice@example.com"}}),
        (("ok",), {"page": {"nextPageToken": "eyJzbmFwc2hvdCI6ImFiYyIsIm9mZnNldCI6MX0"}}),
        (("GET %s", "https://www.googleapis.com/calendar/v3/calendars/primary/events"), {}),
    ],
)
def test_a_leak_at_debug_in_message_or_field_is_found(
    args: tuple[str, ...], extra: dict[str, object]
) -> None:
    with probing() as found:
        logging.getLogger("confsync.sync").debug(*args, extra=extra)
    assert found


def test_a_traceback_counts_as_the_formatter_writes_it_scrubbed_but_a_message_as_given() -> None:
    with probing() as found:
        try:
            raise RuntimeError("no access to bob@example.com")  # a library's text: scrubbed
        except RuntimeError:
            logging.getLogger("confsync.sync").exception("failed")
    assert found == []
    with probing() as found:
        logging.getLogger("confsync.sync").error("no access to %s", "bob@example.com")
    assert found  # a call site must not rely on the scrubbing


def test_quiet_libraries_below_warning_and_the_stand_ins_are_not_held_against_a_test(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # functions-framework's dictConfig, run in this process by an earlier test, disables the
    # loggers that existed then; this test needs the library's logger to emit.
    monkeypatch.setattr(logging.getLogger("googleapiclient.http"), "disabled", False)
    with probing() as found:
        logging.getLogger("googleapiclient.discovery").debug("GET /calendar/v3/calendars/a%40b.com")
        logging.getLogger(f"{STAND_INS[0]}.server").info("GET /calendar/v3/calendars/a%40b.com")
    assert found == []
    with probing() as found:
        logging.getLogger("googleapiclient.http").warning("GET /calendar/v3/calendars/a%40b.com")
    assert found


def test_caplog_sees_exactly_what_it_saw_without_the_probe(
    caplog: pytest.LogCaptureFixture,
) -> None:
    logging.getLogger().setLevel(logging.WARNING)
    with probing():
        logging.getLogger("confsync.sync").debug("made for the probe only")
        logging.getLogger("confsync.sync").warning("seen")
        caplog.set_level(logging.DEBUG, logger="confsync.channels")
        logging.getLogger("confsync.channels").debug("asked for")
    assert [r.getMessage() for r in caplog.records] == ["seen", "asked for"]


def test_clean_text_has_no_leak() -> None:
    assert leaks_in("sync synced: calendar ck_1b2c, 3 events, sync token invalid (410)") == []
    assert leaks_in('{"logging.googleapis.com/labels": {"calendar_key": "ck_1"}}') == []
