"""Settings for tests that build a runner from fakes: the declared defaults, never a copy.

:func:`sync_settings` parses a minimal environment with the same loader and the same mapping the
sync function uses (:func:`confsync.config.load_sync_config`, :func:`confsync.bootstrap.
sync_settings`), so a test that does not care about a setting gets the value production gets
when the variable is unset.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from confsync.bootstrap import sync_settings as settings_from_config
from confsync.config import load_sync_config
from confsync.sync import SyncSettings

__all__ = ["sync_settings"]

_MINIMAL_ENV = {
    "GOOGLE_CLOUD_PROJECT": "confsync-test",
    "CONFERENCING_URL": "http://127.0.0.1:9/",
    "CALENDAR_API_URL": "http://127.0.0.1:9/calendar/v3/",
}
"""The variables the sync function requires; the addresses are never called."""


def sync_settings(**overrides: Any) -> SyncSettings:
    """The sync function's settings with every variable at its default, then ``overrides``
    (by :class:`~confsync.sync.SyncSettings` field name)."""
    return replace(settings_from_config(load_sync_config(_MINIMAL_ENV)), **overrides)
