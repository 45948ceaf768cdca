"""Who may be enrolled: e-mail syntax, the domain allow-list; ``primary`` resolved to one key."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from confsync.calendars import calendar_key, resolve_calendar_id
from confsync.domains import email_problem, parse_allowed_domains


def test_only_users_of_listed_domains_are_allowed() -> None:
    allow = parse_allowed_domains(" Example.com, corp.example.org. ")

    assert allow.refusal("alice@example.com") is None
    assert allow.refusal("Bob@EXAMPLE.COM") is None
    assert allow.refusal("carol@corp.example.org") is None
    assert allow.refusal("mallory@example.com.evil.test") == (
        "domain example.com.evil.test is not in CONFSYNC_ALLOWED_DOMAINS"
    )
    assert allow.refusal("dave@sub.example.com") is not None  # subdomains are not implied
    assert str(allow) == "corp.example.org,example.com"


def test_a_star_allows_every_domain_and_must_stand_alone() -> None:
    assert parse_allowed_domains("*").refusal("anyone@anywhere.test") is None
    with pytest.raises(ValueError, match="cannot be combined"):
        parse_allowed_domains("*,example.com")


@pytest.mark.parametrize(
    ("text", "named"),
    [("", "at least one"), (" , ", "at least one"), ("localhost", "not a domain"),
     ("exa mple.com", "not a domain"), ("*.example.com", "not a domain"),
     ("http://example.com", "not a domain")],
)  # fmt: skip
def test_a_bad_allow_list_is_refused_naming_what_is_wrong(text: str, named: str) -> None:
    with pytest.raises(ValueError, match=named):
        parse_allowed_domains(text)


@pytest.mark.parametrize(
    "email",
    ["alice", "@example.com", "alice@", "a b@example.com", "alice@example", ".a@example.com",
     "a..b@example.com", "alice@[127.0.0.1]", "Alice <alice@example.com>", "a@b@example.com",
     "x" * 65 + "@example.com", "alice@exa_mple.com", "alice@example.com\n"],
)  # fmt: skip
def test_what_is_not_a_plain_address_is_refused(email: str) -> None:
    assert email_problem(email) is not None
    assert parse_allowed_domains("*").refusal(email) is not None


@given(st.text(max_size=300))
def test_any_text_is_judged_without_an_error(text: str) -> None:
    problem = email_problem(text)
    assert problem is None or isinstance(problem, str)
    if problem is None:  # a plain address: its domain is what the allow-list compares
        domain = text.rpartition("@")[2].lower()
        assert parse_allowed_domains(domain).refusal(text) is None


@given(st.text(max_size=200))
def test_any_allow_list_text_parses_or_says_why(text: str) -> None:
    try:
        allow = parse_allowed_domains(text)
    except ValueError as err:
        problem = str(err)
        allow = None
    else:
        problem = ""
    assert (allow is None) == bool(problem)
    if allow is not None:
        assert parse_allowed_domains(str(allow)) == allow


def test_primary_is_the_users_own_calendar_with_one_key() -> None:
    assert resolve_calendar_id("Alice@Example.com", "primary") == "alice@example.com"
    assert resolve_calendar_id("alice@example.com", "PRIMARY") == "alice@example.com"
    assert resolve_calendar_id("alice@example.com", "team@group.calendar.google.com") == (
        "team@group.calendar.google.com"
    )
    by_primary = calendar_key(
        "alice@example.com", resolve_calendar_id("alice@example.com", "primary")
    )
    assert by_primary == calendar_key("alice@example.com", "alice@example.com")
