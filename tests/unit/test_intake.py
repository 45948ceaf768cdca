"""IntakeService: genuine changes become exactly one SyncRequest; everything else is refused."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
from datetime import UTC, datetime, timedelta

import pytest

from confsync.channel_tokens import ChannelTokenKeys, mint_channel_token
from confsync.errors import PublishError
from confsync.intake import IntakeAnswer, IntakeService
from confsync.log_budget import LogBudget
from confsync.messages import SyncRequest
from confsync.testing.fakes import RecordingPublisher

KEYS = ChannelTokenKeys.parse("k1:first-secret-0123456789,k2:second-secret-0123456789", "k2")
OTHER_KEYS = ChannelTokenKeys.parse("k9:unknown-secret-0123456789", "k9")
NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
EXPIRES = NOW + timedelta(days=2)
CHANNEL = "4ba78bf0-6a47-11e2-bcfd-0800200c9a66"
CALENDAR_KEY = "ck_0123456789abcdef"
TOKEN = mint_channel_token(KEYS, CHANNEL, CALENDAR_KEY, expires=EXPIRES)
LOGGER = "confsync.intake"


class FailingPublisher:
    """Pub/Sub is down."""

    def publish(self, request: SyncRequest) -> None:
        raise PublishError("publishing to projects/p/topics/sync-requests failed: unavailable")


def _headers(**overrides: str | None) -> dict[str, str]:
    """A genuine ``exists`` notification's headers, with some replaced (None: removed)."""
    headers: dict[str, str | None] = {
        "X-Goog-Channel-ID": CHANNEL,
        "X-Goog-Channel-Token": TOKEN,
        "X-Goog-Channel-Expiration": "Tue, 26 Nov 2026 09:00:00 GMT",
        "X-Goog-Message-Number": "42",
        "X-Goog-Resource-ID": "ret08u3rv24htgh289g",
        "X-Goog-Resource-State": "exists",
        "X-Goog-Resource-URI": "https://www.googleapis.com/calendar/v3/calendars/x/events",
    }
    for name, value in overrides.items():
        headers[name.replace("_", "-")] = value
    return {name: value for name, value in headers.items() if value is not None}


def _service(publisher: RecordingPublisher | FailingPublisher | None = None) -> IntakeService:
    return IntakeService(
        publisher=publisher if publisher is not None else RecordingPublisher(),
        keys=KEYS,
        max_body_bytes=4096,
        now=lambda: NOW,
    )


def _warnings(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == LOGGER and r.levelno == logging.WARNING]


@pytest.mark.parametrize("state", ["exists", "not_exists"])
def test_change_publishes_one_sync_request_for_the_tokens_calendar(
    state: str, caplog: pytest.LogCaptureFixture
) -> None:
    publisher = RecordingPublisher()

    answer = _service(publisher).handle("POST", _headers(X_Goog_Resource_State=state), 0)

    assert answer == IntakeAnswer(200, "sync request published")
    assert publisher.published == [
        SyncRequest(
            calendar_key=CALENDAR_KEY,
            reason="notification",
            notified_at=NOW,
            channel_id=CHANNEL,
            message_number=42,
        )
    ]
    assert _warnings(caplog) == []


def test_sync_state_is_acknowledged_and_publishes_nothing() -> None:
    publisher = RecordingPublisher()

    answer = _service(publisher).handle(
        "POST", _headers(X_Goog_Resource_State="sync", X_Goog_Message_Number="1"), 0
    )

    assert answer.status == 200
    assert publisher.published == []


def test_header_names_are_case_insensitive() -> None:
    publisher = RecordingPublisher()
    headers = {name.lower(): value for name, value in _headers().items()}
    headers["X-GOOG-CHANNEL-ID"] = headers.pop("x-goog-channel-id")

    answer = _service(publisher).handle("post", headers, 0)

    assert answer.status == 200
    assert len(publisher.published) == 1


FORGED = TOKEN[:-4] + ("AAAA" if not TOKEN.endswith("AAAA") else "BBBB")


@pytest.mark.parametrize(
    ("method", "headers", "body_length", "status"),
    [
        pytest.param("GET", _headers(), 0, 405, id="get"),
        pytest.param("PUT", _headers(), 0, 405, id="put"),
        pytest.param("POST", _headers(), 4097, 413, id="oversized-body"),
        pytest.param("POST", _headers(X_Goog_Channel_ID=None), 0, 400, id="no-channel-id"),
        pytest.param("POST", _headers(X_Goog_Channel_ID=""), 0, 400, id="empty-channel-id"),
        pytest.param("POST", _headers(X_Goog_Channel_ID="c" * 65), 0, 400, id="long-channel-id"),
        pytest.param("POST", _headers(X_Goog_Resource_State=None), 0, 400, id="no-state"),
        pytest.param("POST", _headers(X_Goog_Resource_State="deleted"), 0, 400, id="bad-state"),
        pytest.param("POST", _headers(X_Goog_Resource_State="EXISTS"), 0, 400, id="state-case"),
        pytest.param("POST", _headers(X_Goog_Resource_ID=None), 0, 400, id="no-resource-id"),
        pytest.param("POST", _headers(X_Goog_Resource_ID=" "), 0, 400, id="blank-resource-id"),
        pytest.param("POST", _headers(X_Goog_Message_Number=None), 0, 400, id="no-number"),
        pytest.param("POST", _headers(X_Goog_Message_Number="abc"), 0, 400, id="non-numeric"),
        pytest.param("POST", _headers(X_Goog_Message_Number="0"), 0, 400, id="zero-number"),
        pytest.param("POST", _headers(X_Goog_Message_Number="-3"), 0, 400, id="negative-number"),
        pytest.param("POST", _headers(X_Goog_Message_Number="1.5"), 0, 400, id="decimal-number"),
        pytest.param("POST", _headers(X_Goog_Message_Number="9" * 20), 0, 400, id="huge-number"),
        pytest.param("POST", _headers(X_Goog_Channel_Token=None), 0, 403, id="no-token"),
        pytest.param("POST", _headers(X_Goog_Channel_Token=""), 0, 403, id="empty-token"),
        pytest.param("POST", _headers(X_Goog_Channel_Token=FORGED), 0, 403, id="forged-token"),
        pytest.param(
            "POST",
            _headers(
                X_Goog_Channel_Token=mint_channel_token(
                    KEYS, "other-channel", CALENDAR_KEY, expires=EXPIRES
                )
            ),
            0,
            403,
            id="token-of-another-channel",
        ),
        pytest.param(
            "POST",
            _headers(
                X_Goog_Channel_Token=mint_channel_token(
                    OTHER_KEYS, CHANNEL, CALENDAR_KEY, expires=EXPIRES
                )
            ),
            0,
            403,
            id="unknown-key-id",
        ),
        pytest.param(
            "POST",
            _headers(X_Goog_Channel_Token=TOKEN.replace(CALENDAR_KEY, "ck_someone_else")),
            0,
            403,
            id="token-claiming-another-calendar",
        ),
        pytest.param("POST", _headers(X_Goog_Channel_Token="x" * 300), 0, 403, id="long-token"),
    ],
)
def test_bad_notification_is_refused_with_one_warning_and_nothing_published(
    method: str,
    headers: dict[str, str],
    body_length: int,
    status: int,
    caplog: pytest.LogCaptureFixture,
) -> None:
    publisher = RecordingPublisher()

    answer = _service(publisher).handle(method, headers, body_length)

    assert answer.status == status
    assert publisher.published == []
    assert len(_warnings(caplog)) == 1
    assert [r for r in caplog.records if r.levelno > logging.WARNING] == []


def test_forged_sync_message_is_refused_too() -> None:
    answer = _service().handle(
        "POST", _headers(X_Goog_Resource_State="sync", X_Goog_Channel_Token=FORGED), 0
    )

    assert answer.status == 403


def test_body_up_to_the_limit_is_accepted() -> None:
    assert _service().handle("POST", _headers(), 4096).status == 200


def test_publish_failure_answers_503_so_google_retries(caplog: pytest.LogCaptureFixture) -> None:
    answer = _service(FailingPublisher()).handle("POST", _headers(), 0)

    assert answer.status == 503
    [warning] = _warnings(caplog)
    assert getattr(warning, "labels", {})["calendar_key"] == CALENDAR_KEY


def test_refusal_log_labels_name_the_channel_and_calendar_when_known(
    caplog: pytest.LogCaptureFixture,
) -> None:
    _service().handle("POST", _headers(X_Goog_Channel_Token=FORGED), 0)
    _service().handle("POST", _headers(X_Goog_Message_Number="x"), 0)

    forged, bad_number = _warnings(caplog)
    assert getattr(forged, "labels", None) == {"channel_id": CHANNEL, "resource_state": "exists"}
    assert getattr(bad_number, "labels", {}).get("channel_id") == CHANNEL
    assert "calendar_key" not in getattr(bad_number, "labels", {})


def test_no_log_line_contains_a_token_or_a_secret(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    other_channel = mint_channel_token(KEYS, "other-channel", CALENDAR_KEY, expires=EXPIRES)
    cases = [
        _headers(),
        _headers(X_Goog_Resource_State="sync"),
        _headers(X_Goog_Channel_Token=FORGED),
        _headers(X_Goog_Channel_Token=other_channel),
        _headers(X_Goog_Message_Number="nope"),
    ]
    for headers in cases:
        _service().handle("POST", headers, 0)
        _service(FailingPublisher()).handle("POST", headers, 0)
        _service().handle("GET", headers, 0)

    secrets = [TOKEN, FORGED, other_channel, "first-secret", "second-secret"]
    secrets += [token.rsplit(".", 1)[1] for token in (TOKEN, FORGED, other_channel)]
    lines = [
        f"{r.getMessage()} {getattr(r, 'labels', '')}" for r in caplog.records if r.name == LOGGER
    ]
    assert lines  # something was logged
    for line in lines:
        for secret in secrets:
            assert secret not in line


def test_public_names() -> None:
    import confsync.intake  # noqa: PLC0415

    assert confsync.intake.__all__ == [
        "ALLOWED_METHOD",
        "CHANGE_STATES",
        "REFUSAL_INTERVAL_S",
        "REFUSAL_LINES",
        "IntakeAnswer",
        "IntakeService",
    ]


# --- expiring tokens (issue #13, M1) -------------------------------------------------------------


def _v1_token(channel_id: str, calendar_key: str, kid: str = "k2") -> str:
    """A token as releases before expiring tokens minted it (``v1``, no expiry)."""
    message = f"v1\n{kid}\n{channel_id}\n{calendar_key}".encode()
    digest = hmac.new(KEYS.keys[kid], message, hashlib.sha256).digest()
    return f"v1.{kid}.{calendar_key}.{base64.urlsafe_b64encode(digest).rstrip(b'=').decode()}"


def _service_at(
    now: datetime, keys: ChannelTokenKeys = KEYS, publisher: RecordingPublisher | None = None
) -> IntakeService:
    return IntakeService(
        publisher=publisher if publisher is not None else RecordingPublisher(),
        keys=keys,
        max_body_bytes=4096,
        now=lambda: now,
    )


def test_a_replayed_token_is_refused_once_it_expired(caplog: pytest.LogCaptureFixture) -> None:
    publisher = RecordingPublisher()

    before = _service_at(EXPIRES - timedelta(seconds=1), publisher=publisher)
    after = _service_at(EXPIRES, publisher=publisher)

    assert before.handle("POST", _headers(), 0).status == 200
    answers = [after.handle("POST", _headers(), 0) for _ in range(100)]
    assert {a.status for a in answers} == {403}
    assert len(publisher.published) == 1  # only the one sent while the channel lived
    assert "expired" in _warnings(caplog)[0].getMessage()


def test_a_token_whose_expiry_was_pushed_back_is_refused() -> None:
    version, kid, key, stamp, signature = TOKEN.split(".")
    later = f"{version}.{kid}.{key}.{int(stamp) + 86400 * 365}.{signature}"
    publisher = RecordingPublisher()

    answer = _service_at(NOW, publisher=publisher).handle(
        "POST", _headers(X_Goog_Channel_Token=later), 0
    )

    assert answer.status == 403
    assert publisher.published == []


def test_tokens_minted_before_expiries_work_until_the_v1_cutoff_then_are_refused() -> None:
    cutoff = NOW + timedelta(days=30)
    keys = ChannelTokenKeys(keys=KEYS.keys, active=KEYS.active, v1_until=cutoff)
    old = _headers(X_Goog_Channel_Token=_v1_token(CHANNEL, CALENDAR_KEY))
    publisher = RecordingPublisher()

    assert _service_at(cutoff - timedelta(seconds=1), keys, publisher).handle(
        "POST", old, 0
    ) == IntakeAnswer(200, "sync request published")
    assert _service_at(cutoff, keys, publisher).handle("POST", old, 0).status == 403
    never = ChannelTokenKeys(keys=KEYS.keys, active=KEYS.active, v1_until=None)
    assert _service_at(NOW, never, publisher).handle("POST", old, 0).status == 403
    assert len(publisher.published) == 1


# --- cheap, rate-limited refusals (issue #13, M2) ------------------------------------------------


class UntouchablePublisher:
    """A refusal must never reach Pub/Sub."""

    def publish(self, request: SyncRequest) -> None:
        raise AssertionError("a refused notification was published")


def test_a_refusal_flood_writes_a_few_lines_and_one_summary_per_interval(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = [1000.0]
    service = IntakeService(
        publisher=UntouchablePublisher(),
        keys=KEYS,
        max_body_bytes=4096,
        now=lambda: NOW,
        refusal_log=LogBudget(per_interval=3, interval=60, clock=lambda: clock[0]),
    )
    forged = _headers(X_Goog_Channel_Token=FORGED)

    answers = [service.handle("POST", forged, 0) for _ in range(1000)]
    flood = _warnings(caplog)
    service.handle("GET", _headers(), 0)  # another reason has its own budget
    clock[0] += 60
    caplog.clear()
    service.handle("POST", forged, 0)

    assert {a.status for a in answers} == {403}
    assert len(flood) == 3
    summary, line = _warnings(caplog)
    assert summary.getMessage() == (
        "997 notification refusals (403 channel token refused) not logged in 60 s"
    )
    assert line.getMessage().startswith("notification refused (403)")


def test_refusals_are_answered_without_pubsub_or_firestore() -> None:
    """Refusals stay cheap: header checks and one HMAC, no Pub/Sub or Firestore call."""
    service = IntakeService(publisher=UntouchablePublisher(), keys=KEYS, max_body_bytes=4096)

    statuses = {
        service.handle("POST", _headers(X_Goog_Channel_Token=FORGED), 0).status,
        service.handle("POST", _headers(X_Goog_Channel_Token=None), 0).status,
        service.handle("POST", _headers(X_Goog_Message_Number="x"), 0).status,
        service.handle("GET", _headers(), 0).status,
    }

    # UntouchablePublisher would have raised; the service holds no store at all (and the intake
    # function never imports Firestore: tests/functions/test_intake_imports.py).
    assert statuses == {403, 400, 405}
    assert not any("store" in name for name in vars(service))
