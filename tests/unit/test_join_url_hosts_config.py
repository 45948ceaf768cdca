"""``CONFSYNC_JOIN_URL_HOSTS``: the hosts a join URL may point at to be written into users' events
(issue 13, M3). Required when write-back is on; a missing value fails fast naming it."""

from __future__ import annotations

import pytest

from confsync.bootstrap import sync_settings
from confsync.config import load_sync_config
from confsync.errors import ConfigurationError
from confsync.settings import variable

BASE = {
    "GOOGLE_CLOUD_PROJECT": "my-project",
    "CALENDAR_API_URL": "http://127.0.0.1:8683/calendar/v3/",
    "CONFERENCING_URL": "https://conferencing.example/",
}


def test_it_is_declared_once_with_its_meaning() -> None:
    declared = variable("CONFSYNC_JOIN_URL_HOSTS")
    assert declared.default == ""
    assert "CONFSYNC_WRITE_BACK" in declared.meaning


def test_write_back_without_it_fails_fast_naming_it() -> None:
    with pytest.raises(ConfigurationError, match="CONFSYNC_JOIN_URL_HOSTS is required when"):
        load_sync_config(BASE)
    with pytest.raises(ConfigurationError, match="CONFSYNC_JOIN_URL_HOSTS is required when"):
        load_sync_config({**BASE, "CONFSYNC_WRITE_BACK": "true", "CONFSYNC_JOIN_URL_HOSTS": " , "})


def test_without_write_back_it_may_be_left_out() -> None:
    config = load_sync_config({**BASE, "CONFSYNC_WRITE_BACK": "false"})
    assert config.join_url_hosts == frozenset()
    assert sync_settings(config).write_back is False


def test_hosts_are_read_in_lower_case_without_a_trailing_dot() -> None:
    config = load_sync_config(
        {**BASE, "CONFSYNC_JOIN_URL_HOSTS": "Meet.Example.COM., conference.example"}
    )
    assert config.join_url_hosts == {"meet.example.com", "conference.example"}


@pytest.mark.parametrize(
    "hosts",
    ["https://meet.example.com", "meet.example.com/j", "*.example.com", "meet.example.com:443",
     "meet_example.com", "-meet.example.com"],
)  # fmt: skip
def test_anything_but_host_names_is_refused_naming_the_variable(hosts: str) -> None:
    with pytest.raises(ConfigurationError, match="CONFSYNC_JOIN_URL_HOSTS="):
        load_sync_config({**BASE, "CONFSYNC_JOIN_URL_HOSTS": hosts})
