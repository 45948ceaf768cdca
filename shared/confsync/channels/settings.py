"""How the channel service behaves: who may be enrolled, lifetimes, windows, batch and budget
sizes.

Built from configuration by :func:`confsync.bootstrap.channel_settings`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from confsync.channel_tokens import ChannelTokenKeys
from confsync.domains import DomainAllowList

__all__ = ["ChannelSettings"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ChannelSettings:
    """How the service behaves; built from configuration by :func:`confsync.bootstrap.
    channel_settings`. The fields that a variable sets have no default here: the declaration in
    :mod:`confsync.settings` is the only one (tests take it through
    :func:`confsync.testing.settings.channel_settings`). The last two are constants."""

    intake_url: str
    token_keys: ChannelTokenKeys
    channel_ttl: timedelta
    renewal_window: timedelta
    sweep_interval: timedelta
    tick_batch: int
    subject_budget_per_minute: int
    allowed_domains: DomainAllowList
    """Whose calendars an ``enroll`` command may enrol (``CONFSYNC_ALLOWED_DOMAINS``), whoever
    published it."""
    disconnected_retention: timedelta
    """How long a calendar stays ``disconnected`` before the tick unenrolls it and forgets its
    conference records (``CONFSYNC_DISCONNECTED_RETENTION_SECONDS``)."""
    sweep_jitter: float = 0.2  # a fraction of the sweep interval
    query_page: int = 1000
    """How many due channels or calendars the tick reads per query (fewer round trips than one
    per ``tick_batch``; the fan-out still hands them out ``tick_batch`` at a time)."""
