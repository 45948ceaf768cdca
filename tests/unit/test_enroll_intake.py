"""EnrollIntakeService (``POST /v1/enroll``): a genuine ID token of an allowed user becomes exactly
one ``enroll`` command for that user; every other request gets its status and publishes nothing."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from confsync.domains import parse_allowed_domains
from confsync.enroll_intake import (
    ENROLL_PATH,
    MAX_CALENDAR_ID,
    BadEnrollBodyError,
    EnrollIntakeService,
    decode_enroll_body,
)
from confsync.errors import PublishError
from confsync.id_tokens import CertsUnavailableError, InvalidIdTokenError
from confsync.log_budget import LogBudget
from confsync.messages import ChannelCommand, EnrollCommand
from confsync.testing.fakes import RecordingCommandPublisher
from tests.support.id_tokens import claims
from tests.support.paths import REPO_ROOT

ALICE = "alice@example.com"
LOGGER = "confsync.enroll_intake"
GENUINE = "eyJhbGciOiJSUzI1NiJ9.eyJnZW51aW5lIjp0cnVlfQ.c2lnbmF0dXJl"
"""A token the fake verifier accepts: its claims are whatever the test gives it."""


class FakeVerifier:
    """Accepts exactly the tokens it was given claims for; ``certs_down``: nothing can be told."""

    def __init__(self, tokens: Mapping[str, Mapping[str, object]], certs_down: bool = False):
        self.tokens = dict(tokens)
        self.certs_down = certs_down
        self.seen: list[str] = []

    def verify(self, token: str) -> Mapping[str, object]:
        self.seen.append(token)
        if self.certs_down:
            raise CertsUnavailableError("fetching the certificates failed: ConnectTimeoutError")
        if token not in self.tokens:
            raise InvalidIdTokenError("the token's signature does not verify")
        return self.tokens[token]


class FailingPublisher:
    """Pub/Sub is down."""

    def publish(self, command: ChannelCommand) -> None:
        raise PublishError("publishing to projects/p/topics/channel-commands failed: unavailable")


def _service(
    token_claims: Mapping[str, object] | None = None,
    *,
    allowed: str = "example.com",
    publisher: RecordingCommandPublisher | FailingPublisher | None = None,
    verifier: FakeVerifier | None = None,
    enabled: bool = True,
    refusal_log: LogBudget | None = None,
) -> tuple[EnrollIntakeService, RecordingCommandPublisher]:
    recording = RecordingCommandPublisher()
    fake = verifier or FakeVerifier(
        {GENUINE: claims(ALICE) if token_claims is None else token_claims}
    )
    service = EnrollIntakeService(
        publisher=publisher if publisher is not None else recording,
        verifier=fake if enabled else None,
        allowed_domains=parse_allowed_domains(allowed),
        max_body_bytes=4096,
        refusal_log=refusal_log,
    )
    return service, recording


def _bearer(token: str = GENUINE) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


def _body(value: Any) -> bytes:
    return json.dumps(value).encode()


# --- the genuine request ---------------------------------------------------------------------


def test_a_genuine_token_publishes_one_enroll_command_for_its_user() -> None:
    service, publisher = _service()

    answer = service.handle("POST", _bearer(), _body({"calendarId": "primary"}))

    assert (answer.status, answer.reason) == (202, "enrolment requested")
    assert publisher.published == [EnrollCommand(ALICE, ALICE, source="addon")]


@pytest.mark.parametrize("body", [b"", b"  \n", b"{}", b'{"calendarId": "PRIMARY"}'])
def test_primary_is_the_default_and_resolves_to_the_users_address(body: bytes) -> None:
    service, publisher = _service()

    answer = service.handle("POST", _bearer(), body)

    assert answer.status == 202
    assert publisher.published == [EnrollCommand(ALICE, ALICE, source="addon")]


def test_another_calendar_of_the_user_is_kept_as_given() -> None:
    service, publisher = _service()
    shared = "c_0123abcd@group.calendar.google.com"

    answer = service.handle("POST", _bearer(), _body({"calendarId": shared}))

    assert answer.status == 202
    assert publisher.published == [EnrollCommand(ALICE, shared, source="addon")]


def test_the_address_is_taken_in_lower_case() -> None:
    service, publisher = _service(claims("Alice@Example.com", hd="example.com"))

    assert service.handle("POST", _bearer(), b"").status == 202
    assert publisher.published == [EnrollCommand(ALICE, ALICE, source="addon")]


def test_the_scheme_is_case_insensitive() -> None:
    service, publisher = _service()

    answer = service.handle("POST", {"authorization": f"bearer  {GENUINE}"}, b"")

    assert answer.status == 202
    assert len(publisher.published) == 1


def test_an_allow_list_of_any_domain_needs_no_workspace_account() -> None:
    service, publisher = _service(claims("bob@gmail.com", hd=None), allowed="*")

    assert service.handle("POST", _bearer(), b"").status == 202
    assert publisher.published == [EnrollCommand("bob@gmail.com", "bob@gmail.com", source="addon")]


def test_a_secondary_domain_of_the_workspace_is_enrolled_when_both_are_allowed() -> None:
    service, publisher = _service(
        claims("carol@example.org", hd="example.com"), allowed="example.com,example.org"
    )

    assert service.handle("POST", _bearer(), b"").status == 202
    assert len(publisher.published) == 1


# --- refusals --------------------------------------------------------------------------------


def test_enrolment_off_answers_404_whatever_the_request() -> None:
    service, publisher = _service(enabled=False)

    answers = [
        service.handle("POST", _bearer(), b""),
        service.handle("POST", {}, b"not json"),
        service.handle("POST", _bearer(), b"x" * 10_000),
    ]

    assert [a.status for a in answers] == [404, 404, 404]
    assert publisher.published == []


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "HEAD", "OPTIONS"])
def test_other_methods_answer_405_first(method: str) -> None:
    on, on_publisher = _service()
    off, _ = _service(enabled=False)

    assert on.handle(method, _bearer(), b"").status == 405
    assert off.handle(method, {}, b"").status == 405
    assert on_publisher.published == []


@pytest.mark.parametrize(("body", "declared"), [(b"x" * 4097, None), (b"", 4097), (b"{}", 10**9)])
def test_a_body_over_the_limit_answers_413_before_the_token_is_looked_at(
    body: bytes, declared: int | None
) -> None:
    verifier = FakeVerifier({GENUINE: claims(ALICE)})
    service, publisher = _service(verifier=verifier)

    assert service.handle("POST", {}, body, declared).status == 413
    assert service.handle("POST", _bearer(), body, declared).status == 413
    assert verifier.seen == []
    assert publisher.published == []


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        f"Basic {GENUINE}",
        f"Bearer {GENUINE} extra",
        "Bearer not-a-jwt",
        "Bearer a.b",
        "Bearer a.b.c.d",
        "Bearer a.b.",
        f"Bearer {GENUINE}\u00e9",
        "Bearer " + "a" * 5000 + "." + "b" * 5000 + ".c",
        "Bearer eyJhbGciOiJSUzI1NiJ9.eyJmb3JnZWQiOnRydWV9.c2lnbmF0dXJl",  # the verifier refuses
    ],
)
def test_a_missing_malformed_or_refused_token_answers_401(authorization: str | None) -> None:
    service, publisher = _service()
    headers = {} if authorization is None else {"Authorization": authorization}

    answer = service.handle("POST", headers, b"")

    assert (answer.status, answer.reason) == (401, "ID token refused")
    assert publisher.published == []


@pytest.mark.parametrize("issuer", [None, "https://evil.example", "https://accounts.google.com/"])
def test_a_token_of_another_issuer_answers_401(issuer: str | None) -> None:
    service, publisher = _service(claims(ALICE, iss=issuer))

    assert service.handle("POST", _bearer(), b"").status == 401
    assert publisher.published == []


def test_google_s_issuer_without_the_scheme_is_accepted() -> None:
    service, publisher = _service(claims(ALICE, iss="accounts.google.com"))

    assert service.handle("POST", _bearer(), b"").status == 202
    assert len(publisher.published) == 1


@pytest.mark.parametrize(
    ("token_claims", "allowed", "why"),
    [
        (claims(ALICE, email_verified=False), "example.com", "not verified"),
        (claims(ALICE, email_verified=None), "example.com", "not verified"),
        (claims(ALICE, email_verified="false"), "*", "not verified"),
        ({**claims(ALICE), "email": None}, "example.com", "no e-mail address"),
        (claims("not-an-address", hd="example.com"), "example.com", "not an e-mail address"),
        (claims('"a b"@example.com', hd="example.com"), "*", "plain e-mail local part"),
        (claims("mallory@elsewhere.test"), "example.com", "Workspace domain elsewhere.test"),
        (claims(ALICE, hd=None), "example.com", "no hd claim"),
        (claims(ALICE, hd=""), "example.com", "no hd claim"),
        (claims("bob@gmail.com", hd=None), "example.com", "no hd claim"),
        (claims(ALICE, hd="elsewhere.test"), "example.com", "Workspace domain elsewhere.test"),
        (claims("eve@elsewhere.test", hd="example.com"), "example.com", "domain elsewhere.test"),
    ],
)
def test_a_genuine_token_of_a_user_who_may_not_be_enrolled_answers_403(
    token_claims: dict[str, Any], allowed: str, why: str
) -> None:
    service, publisher = _service(token_claims, allowed=allowed)

    answer = service.handle("POST", _bearer(), b"")

    assert answer.status == 403
    assert why in answer.reason
    assert publisher.published == []


def test_certificates_that_cannot_be_fetched_answer_503_not_401() -> None:
    service, publisher = _service(verifier=FakeVerifier({}, certs_down=True))

    answer = service.handle("POST", _bearer(), b"")

    assert answer.status == 503
    assert publisher.published == []


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b"not json", "not UTF-8 JSON"),
        (b"\xff\xfe{}", "not UTF-8 JSON"),
        (b'"primary"', "JSON object"),
        (b'["primary"]', "JSON object"),
        (b"null", "JSON object"),
        (b'{"subject": "bob@example.com"}', "the subject is taken from the ID token"),
        (
            b'{"calendarId": "primary", "subject": "bob@example.com"}',
            "the subject is taken from the ID token",
        ),
        (b'{"calendarId": "primary", "source": "operator"}', "only calendarId"),
        (b'{"calendarId": 7}', "non-empty string"),
        (b'{"calendarId": null}', "non-empty string"),
        (b'{"calendarId": ""}', "non-empty string"),
        (b'{"calendarId": "   "}', "non-empty string"),
        (_body({"calendarId": "c" * (MAX_CALENDAR_ID + 1)}), "at most 255"),
        (b'{"calendarId": "a\\u0000b"}', "control characters"),
        (b'{"calendarId": "a\\nb"}', "control characters"),
        (b'{"calendarId": "\\ud800"}', "control characters"),
        (b'{"calendarId": "a", "calendarId": "b"}', "twice"),
        (b"[" * 3000, "not UTF-8 JSON"),
    ],
)
def test_a_bad_body_from_a_genuine_user_answers_400(body: bytes, why: str) -> None:
    service, publisher = _service()

    answer = service.handle("POST", _bearer(), body)

    assert answer.status == 400
    assert why in answer.reason
    assert publisher.published == []


def test_the_longest_calendar_id_is_accepted() -> None:
    service, publisher = _service()
    longest = "c" * MAX_CALENDAR_ID

    assert service.handle("POST", _bearer(), _body({"calendarId": longest})).status == 202
    assert publisher.published == [EnrollCommand(ALICE, longest, source="addon")]


def test_an_unauthenticated_caller_learns_nothing_about_the_body_rules() -> None:
    service, publisher = _service()
    naming_bob = _body({"subject": "bob@example.com"})

    without = service.handle("POST", {}, naming_bob)
    forged = service.handle("POST", _bearer("eyJh.eyJm.c2ln"), naming_bob)

    assert (without.status, forged.status) == (401, 401)
    assert without.reason == forged.reason == "ID token refused"
    assert publisher.published == []


def test_pubsub_down_answers_503() -> None:
    service, _ = _service(publisher=FailingPublisher())

    assert service.handle("POST", _bearer(), b"").status == 503


# --- logs ------------------------------------------------------------------------------------


def test_a_refusal_logs_one_warning_with_the_reason_and_never_the_token_or_address(
    caplog: pytest.LogCaptureFixture,
) -> None:
    service, _ = _service(claims(ALICE, hd=None))
    caplog.set_level(logging.DEBUG, logger=LOGGER)

    service.handle("POST", _bearer(), b"")
    service.handle("POST", _bearer("eyJh.eyJm.c2ln"), b"")

    lines = [r for r in caplog.records if r.name == LOGGER]
    assert [(r.levelname, r.getMessage()) for r in lines] == [
        (
            "WARNING",
            "enrolment refused (403): may not be enrolled: not a Google Workspace account"
            " (no hd claim)",
        ),
        (
            "WARNING",
            "enrolment refused (401): ID token refused: the token's signature does not verify",
        ),
    ]
    for record in lines:
        assert GENUINE not in record.getMessage()
        assert "eyJh" not in record.getMessage()
        assert "alice" not in record.getMessage()


def test_an_enrolment_logs_info_labelled_with_the_calendar_key(
    caplog: pytest.LogCaptureFixture,
) -> None:
    service, _ = _service()
    caplog.set_level(logging.DEBUG, logger=LOGGER)

    service.handle("POST", _bearer(), b"")

    [record] = [r for r in caplog.records if r.name == LOGGER]
    assert record.levelname == "INFO"
    assert record.labels["calendar_key"].startswith("ck_")  # type: ignore[attr-defined]
    assert "alice" not in record.getMessage()


def test_a_flood_of_refusals_is_logged_within_the_budget_then_summarised(
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = [0.0]
    service, _ = _service(
        refusal_log=LogBudget(per_interval=10, interval=60.0, clock=lambda: now[0])
    )
    caplog.set_level(logging.WARNING, logger=LOGGER)

    for _ in range(500):
        service.handle("POST", _bearer("eyJh.eyJm.c2ln"), b"")
    now[0] = 61.0
    service.handle("POST", _bearer("eyJh.eyJm.c2ln"), b"")

    messages = [r.getMessage() for r in caplog.records if r.name == LOGGER]
    assert len(messages) == 12
    assert messages[10] == "490 enrolment refusals (401 ID token refused) not logged in 60 s"


# --- properties ------------------------------------------------------------------------------


@settings(max_examples=300)
@given(st.binary(max_size=600))
def test_any_body_decodes_to_a_calendar_id_or_a_bad_body_error(body: bytes) -> None:
    try:
        calendar_id = decode_enroll_body(body)
    except BadEnrollBodyError:
        pass
    else:
        assert 0 < len(calendar_id) <= MAX_CALENDAR_ID
        calendar_id.encode("utf-8")  # publishable


_VALUES = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.text(max_size=300)
    | st.lists(st.text(max_size=5), max_size=3)
    | st.dictionaries(st.text(max_size=5), st.integers(), max_size=2)
)


@settings(max_examples=300)
@given(st.dictionaries(st.sampled_from(["calendarId", "subject", "email", "x"]), _VALUES))
def test_any_json_object_body_decodes_only_when_it_names_nothing_but_a_good_calendar_id(
    value: dict[str, Any],
) -> None:
    good = set(value) <= {"calendarId"} and (
        "calendarId" not in value
        or (
            isinstance(value["calendarId"], str)
            and value["calendarId"].strip() != ""
            and len(value["calendarId"]) <= MAX_CALENDAR_ID
            and all(ord(c) >= 0x20 and not 0x7F <= ord(c) <= 0x9F for c in value["calendarId"])
            and not any(0xD800 <= ord(c) <= 0xDFFF for c in value["calendarId"])
        )
    )
    try:
        calendar_id = decode_enroll_body(json.dumps(value).encode())
    except BadEnrollBodyError:
        assert not good
    else:
        assert good
        assert calendar_id == value.get("calendarId", "primary")


@settings(max_examples=300)
@given(st.text(max_size=300), st.binary(max_size=100))
@example(f"Bearer {GENUINE}", b"")
@example(f"bearer   {GENUINE}  ", b'{"calendarId": "primary"}')
def test_any_authorization_header_gets_an_answer_and_publishes_nothing_unless_genuine(
    authorization: str, body: bytes
) -> None:
    service, publisher = _service()

    answer = service.handle("POST", {"Authorization": authorization}, body)

    assert answer.status in (202, 400, 401)
    if answer.status == 202:
        assert GENUINE in authorization
    assert (answer.status == 202) == bool(publisher.published)


def test_the_entry_point_routes_the_same_path() -> None:
    """main.py names the path itself, so a notification's cold start does not import this."""
    source = (REPO_ROOT / "functions" / "intake" / "main.py").read_text(encoding="utf-8")

    assert f'ENROLL_PATH = "{ENROLL_PATH}"' in source
