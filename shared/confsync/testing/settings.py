"""Settings for tests that build a service from fakes: the declared defaults, never a copy.

:func:`sync_settings` and :func:`channel_settings` parse a minimal environment with the same
loaders and the same mappings the functions use (:mod:`confsync.config`, :mod:`confsync.
bootstrap`), so a test that does not care about a setting gets the value production gets when
the variable is unset.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from confsync.bootstrap import channel_settings as channel_settings_from_config
from confsync.bootstrap import sync_settings as settings_from_config
from confsync.channels import ChannelSettings
from confsync.config import load_channels_config, load_sync_config
from confsync.sync import SyncSettings

__all__ = ["channel_settings", "sync_settings"]

_MINIMAL_ENV = {
    "GOOGLE_CLOUD_PROJECT": "confsync-test",
    "CONFERENCING_URL": "http://127.0.0.1:9/",
    "CALENDAR_API_URL": "http://127.0.0.1:9/calendar/v3/",
    "CONFSYNC_JOIN_URL_HOSTS": "conf.example",
}
"""The variables the sync function requires; the addresses are never called."""

_MINIMAL_CHANNELS_ENV = {
    "GOOGLE_CLOUD_PROJECT": "confsync-test",
    "CALENDAR_API_URL": "http://127.0.0.1:9/calendar/v3/",
    "CONFSYNC_CHANNEL_TOKEN_KEYS": "test:confsync-test-channel-secret-0123",
    "CONFSYNC_CHANNEL_TOKEN_ACTIVE_KEY": "test",
    "CONFSYNC_INTAKE_URL": "https://intake.invalid/notify",
    "CONFSYNC_ALLOWED_DOMAINS": "example.com",
}
"""The variables the channels function requires; tests usually override the intake URL and
the token keys."""


def sync_settings(**overrides: Any) -> SyncSettings:
    """The sync function's settings with every variable at its default, then ``overrides``
    (by :class:`~confsync.sync.SyncSettings` field name)."""
    return replace(settings_from_config(load_sync_config(_MINIMAL_ENV)), **overrides)


def channel_settings(**overrides: Any) -> ChannelSettings:
    """The channels function's settings with every variable at its default, then ``overrides``
    (by :class:`~confsync.channels.ChannelSettings` field name)."""
    config = load_channels_config(_MINIMAL_CHANNELS_ENV)
    return replace(channel_settings_from_config(config), **overrides)
