"""Log lines are Cloud Logging structured entries."""

from __future__ import annotations

import contextlib
import io
import json
import logging

import pytest

from confsync.cloud_logging import setup_logging, trace_of, traced

TRACE_ID = "105445aa7843bc8bf206b12000100000"


def test_records_become_json_entries_with_severity_labels_and_fields() -> None:
    stream = io.StringIO()
    setup_logging("INFO", stream)

    logging.getLogger("confsync.test").warning(
        "sync %s", "done", extra={"labels": {"calendar_key": "ck_1"}, "duration_s": 0.25}
    )

    entry = json.loads(stream.getvalue())
    assert entry["severity"] == "WARNING"
    assert entry["message"] == "sync done"
    assert entry["logging.googleapis.com/labels"] == {"calendar_key": "ck_1"}
    assert entry["duration_s"] == 0.25


def test_exceptions_are_part_of_the_message_for_error_reporting() -> None:
    stream = io.StringIO()
    setup_logging("INFO", stream)

    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("confsync.test").exception("failed")

    entry = json.loads(stream.getvalue())
    assert entry["severity"] == "ERROR"
    assert "ValueError: boom" in entry["message"]


def test_records_below_the_level_are_dropped() -> None:
    stream = io.StringIO()
    setup_logging("WARNING", stream)

    logging.getLogger("confsync.test").info("quiet")

    assert stream.getvalue() == ""


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Cloud-Trace-Context": f"{TRACE_ID}/1;o=1"},
        {"x-cloud-trace-context": TRACE_ID},
        {"traceparent": f"00-{TRACE_ID}-00f067aa0ba902b7-01"},
    ],
)
def test_a_request_trace_header_names_the_trace(headers: dict[str, str]) -> None:
    assert trace_of("my-project", headers) == f"projects/my-project/traces/{TRACE_ID}"


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Cloud-Trace-Context": "not-a-trace"},
        {"X-Cloud-Trace-Context": "0" * 32},
        {"traceparent": "00-short-00f067aa0ba902b7-01"},
    ],
)
def test_absent_or_malformed_trace_headers_are_ignored(headers: dict[str, str]) -> None:
    assert trace_of("my-project", headers) is None


def test_entries_inside_a_traced_request_carry_its_trace_and_only_those() -> None:
    stream = io.StringIO()
    setup_logging("INFO", stream)
    log = logging.getLogger("confsync.test")

    with traced("my-project", {"X-Cloud-Trace-Context": f"{TRACE_ID}/7;o=1"}):
        log.info("inside")
    log.info("outside")

    inside, outside = (json.loads(line) for line in stream.getvalue().splitlines())
    assert inside["logging.googleapis.com/trace"] == f"projects/my-project/traces/{TRACE_ID}"
    assert "logging.googleapis.com/trace" not in outside


def test_the_default_handler_follows_stdout_when_it_is_swapped() -> None:
    """functions-framework swaps sys.stdout per request to add the execution id: the entries
    must go through whatever stdout is current, not the one present at setup."""
    setup_logging("INFO")
    swapped = io.StringIO()

    with contextlib.redirect_stdout(swapped):
        logging.getLogger("confsync.test").info("during a request")

    assert json.loads(swapped.getvalue())["message"] == "during a request"
