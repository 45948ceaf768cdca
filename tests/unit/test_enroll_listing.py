"""What ``confsync enroll --all-owned`` / ``--domain`` read: the pages of Google's answers decoded
(or refused, never crashing), and the listing identity they need configured."""

from __future__ import annotations

from typing import Any, cast

import pytest
from hypothesis import given
from hypothesis import strategies as st

from confsync.cli import main
from confsync.cli.commands import Services
from confsync.cli.directory import (
    GOOGLE_DIRECTORY_API,
    GoogleCalendarDirectory,
    ListingError,
    build_directory,
    owned_in,
    users_in,
)
from confsync.config import load_cli_config
from confsync.errors import ConfigurationError

ENV = {"GOOGLE_CLOUD_PROJECT": "p", "CONFSYNC_ALLOWED_DOMAINS": "example.com"}

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner),
    max_leaves=20,
)
PAGES = JSON_VALUES | st.fixed_dictionaries(
    {},
    optional={
        "items": st.lists(
            st.fixed_dictionaries(
                {}, optional={"id": JSON_VALUES, "accessRole": st.sampled_from(["owner", "reader"])}
            )
        ),
        "users": st.lists(
            st.fixed_dictionaries(
                {},
                optional={
                    "primaryEmail": JSON_VALUES,
                    "suspended": JSON_VALUES,
                    "archived": st.booleans(),
                },
            )
        ),
    },
)


@given(PAGES)
def test_any_calendar_list_page_is_decoded_or_refused(page: Any) -> None:
    try:
        owned = owned_in(page)
    except ListingError:
        return
    assert all(isinstance(calendar_id, str) and calendar_id for calendar_id in owned)
    listed = [e for e in page.get("items") or [] if isinstance(e, dict)]
    assert len(owned) <= sum(1 for entry in listed if entry.get("accessRole") == "owner")


@given(PAGES)
def test_any_users_page_is_decoded_or_refused(page: Any) -> None:
    try:
        users = users_in(page)
    except ListingError:
        return
    assert all(isinstance(email, str) and email for email in users)


def test_suspended_and_archived_users_are_left_out() -> None:
    page = {
        "users": [
            {"primaryEmail": "alice@example.com", "suspended": False},
            {"primaryEmail": "bob@example.com", "suspended": True},
            {"primaryEmail": "carol@example.com", "archived": True},
        ]
    }

    assert users_in(page) == ["alice@example.com"]


def test_the_emulator_is_listed_beside_the_calendar_api() -> None:
    config = load_cli_config({**ENV, "CALENDAR_API_URL": "http://127.0.0.1:8683/calendar/v3/"})

    directory = build_directory(config)

    assert isinstance(directory, GoogleCalendarDirectory)


def test_outside_a_local_stack_the_listing_needs_its_own_service_account() -> None:
    config = load_cli_config({**ENV, "CONFSYNC_CALENDAR_CREDENTIALS": "delegated"})

    with pytest.raises(ConfigurationError, match="CONFSYNC_ADMIN_DELEGATION_SERVICE_ACCOUNT"):
        build_directory(config)
    named = load_cli_config(
        {
            **ENV,
            "CONFSYNC_CALENDAR_CREDENTIALS": "delegated",
            "CONFSYNC_ADMIN_DELEGATION_SERVICE_ACCOUNT": "lister@p.iam.gserviceaccount.com",
        }
    )
    assert isinstance(build_directory(named), GoogleCalendarDirectory)
    assert GOOGLE_DIRECTORY_API.startswith("https://admin.googleapis.com/")


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"CONFSYNC_CALENDAR_CREDENTIALS": "emulator"}, "CALENDAR_API_URL"),
        ({"CONFSYNC_CALENDAR_CREDENTIALS": "oauth"}, "CONFSYNC_ADMIN_DELEGATION_SERVICE_ACCOUNT"),
    ],
)
def test_all_owned_without_a_listing_identity_exits_2_naming_it(
    env: dict[str, str], named: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["enroll", "--subject", "alice@example.com", "--all-owned"]

    assert main(argv, {**ENV, **env}, lambda _config: cast(Services, object())) == 2

    assert named in capsys.readouterr().err
