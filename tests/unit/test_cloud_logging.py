"""Log lines are Cloud Logging structured entries."""

from __future__ import annotations

import io
import json
import logging

from confsync.cloud_logging import setup_logging


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
