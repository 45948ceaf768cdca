"""The test user's variables (testuser.variables): every bad or missing value is named, a
complete set loads, and no input makes the loader fail any other way."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.paths import REPO_ROOT
from testuser import variables as testuser
from testuser.variables import TestUser, TestUserError, load_test_user

DELEGATED = {
    "CONFSYNC_TEST_USER": "tester@example.com",
    "CONFSYNC_TEST_CREDENTIALS": "delegated",
    "CONFSYNC_TEST_DELEGATION_SERVICE_ACCOUNT": "conformance@p.iam.gserviceaccount.com",
}
OAUTH = {
    "CONFSYNC_TEST_USER": "tester@example.com",
    "CONFSYNC_TEST_CREDENTIALS": "oauth",
    "CONFSYNC_TEST_OAUTH_CLIENT_ID": "client.apps.example",
    "CONFSYNC_TEST_OAUTH_CLIENT_SECRET": "secret",
    "CONFSYNC_TEST_OAUTH_REFRESH_TOKEN": "refresh",
}


def _problems(environ: dict[str, str]) -> list[str]:
    with pytest.raises(TestUserError) as caught:
        load_test_user(environ)
    return caught.value.problems


def test_a_delegated_user_loads_with_googles_endpoints_by_default() -> None:
    user = load_test_user(DELEGATED)

    assert user.mode == "delegated"
    assert user.delegation_service_account == DELEGATED["CONFSYNC_TEST_DELEGATION_SERVICE_ACCOUNT"]
    assert user.calendar_api_url == "https://www.googleapis.com/calendar/v3/"
    assert user.token_url == "https://oauth2.googleapis.com/token"
    assert user.second_user is None
    assert user.push_url is None


def test_an_oauth_user_with_a_second_user_and_a_push_address_loads() -> None:
    user = load_test_user(
        {
            **OAUTH,
            "CONFSYNC_TEST_SECOND_USER": "second@example.com",
            "CONFSYNC_TEST_SECOND_OAUTH_REFRESH_TOKEN": "refresh-2",
            "CONFSYNC_TEST_PUSH_URL": "https://push.example/hook",
            "CONFSYNC_TEST_PUSH_PORT": "8765",
        }
    )

    assert (user.second_user, user.second_refresh_token) == ("second@example.com", "refresh-2")
    assert (user.push_url, user.push_port) == ("https://push.example/hook", 8765)
    assert "refresh" not in repr(user)  # secrets stay out of tracebacks


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"CONFSYNC_TEST_CREDENTIALS": "key-file"}, "CONFSYNC_TEST_CREDENTIALS must be"),
        ({"CONFSYNC_TEST_USER": "not-an-address"}, "CONFSYNC_TEST_USER must be an e-mail"),
        ({"CONFSYNC_TEST_USER": "a@example."}, "CONFSYNC_TEST_USER must be an e-mail"),
        ({"CONFSYNC_TEST_USER": "a@b@example.com"}, "CONFSYNC_TEST_USER must be an e-mail"),
        ({"CONFSYNC_TEST_OAUTH_REFRESH_TOKEN": " "}, "CONFSYNC_TEST_OAUTH_REFRESH_TOKEN is not"),
        ({"CONFSYNC_TEST_SECOND_USER": "x@example.org"}, "CONFSYNC_TEST_SECOND_OAUTH_REFRESH"),
        ({"CONFSYNC_TEST_SECOND_USER": "TESTER@example.com"}, "CONFSYNC_TEST_SECOND_USER must"),
        ({"CONFSYNC_TEST_PUSH_URL": "https://p.example"}, "CONFSYNC_TEST_PUSH_PORT is not set"),
        ({"CONFSYNC_TEST_PUSH_URL": "http://p.example"}, "CONFSYNC_TEST_PUSH_URL must be an"),
        (
            {"CONFSYNC_TEST_PUSH_URL": "https://p.example", "CONFSYNC_TEST_PUSH_PORT": "99999"},
            "CONFSYNC_TEST_PUSH_PORT must be a port",
        ),
        ({"CALENDAR_API_URL": "ftp://calendar"}, "CALENDAR_API_URL must be an http(s) URL"),
        (
            {"CONFSYNC_TEST_PUSH_URL": "https://p.example", "CONFSYNC_TEST_PUSH_PORT": "²"},
            "CONFSYNC_TEST_PUSH_PORT must be a port",
        ),
        ({"GOOGLE_TOKEN_URL": "http://["}, "GOOGLE_TOKEN_URL must be an http(s) URL"),
    ],
)
def test_a_bad_value_is_named(change: dict[str, str], named: str) -> None:
    problems = _problems({**OAUTH, **change})

    assert any(problem.startswith(named) for problem in problems), problems


def test_every_missing_variable_is_named_at_once() -> None:
    problems = _problems({"CONFSYNC_TEST_CREDENTIALS": "delegated"})

    assert [problem.split()[0] for problem in problems] == [
        "CONFSYNC_TEST_USER",
        "CONFSYNC_TEST_DELEGATION_SERVICE_ACCOUNT",
    ]


NAMES = sorted({*DELEGATED, *OAUTH, "CONFSYNC_TEST_SECOND_USER", "CONFSYNC_TEST_PUSH_URL",
                "CONFSYNC_TEST_PUSH_PORT", "CONFSYNC_TEST_SECOND_OAUTH_REFRESH_TOKEN",
                "CALENDAR_API_URL", "GOOGLE_TOKEN_URL", "IAM_CREDENTIALS_URL"})  # fmt: skip


@settings(
    database=None, deadline=None, max_examples=400, suppress_health_check=[HealthCheck.too_slow]
)
@given(
    st.dictionaries(
        st.sampled_from(NAMES),
        st.one_of(
            st.text(max_size=40),
            st.sampled_from(
                [
                    "delegated",
                    "oauth",
                    "a@b.co",
                    "0@.",
                    "https://x.example/",
                    "8080",
                    "²",
                    "http://[",
                ]
            ),
        ),
    )
)
def test_any_environment_loads_or_names_its_problems(environ: dict[str, str]) -> None:
    problems: list[str] = []
    try:
        user: TestUser | None = load_test_user(environ)
    except TestUserError as error:
        user, problems = None, error.problems

    if user is None:
        assert problems
        assert all(problem.split()[0] in NAMES for problem in problems)
    else:
        assert user.mode in ("delegated", "oauth")
        assert "@" in user.email


def test_the_readme_documents_every_test_user_variable() -> None:
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    names = [
        value
        for name, value in vars(testuser).items()
        if name.isupper() and isinstance(value, str) and value.startswith("CONFSYNC_TEST_")
    ]

    assert len(names) == 10
    assert [name for name in names if f"`{name}`" not in readme] == []
