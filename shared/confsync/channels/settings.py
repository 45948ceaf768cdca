"""How the channel service behaves: lifetimes, windows, batch and budget sizes.

Built from configuration by :func:`confsync.bootstrap.channel_settings`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from confsync.channel_tokens import ChannelTokenKeys

__all__ = ["ChannelSettings"]


@dataclass(frozen=True, slots=True)
class ChannelSettings:
    """How the service behaves; built from configuration by :mod:`confsync.bootstrap`."""

    intake_url: str
    token_keys: ChannelTokenKeys
    channel_ttl: timedelta = timedelta(days=2)
    renewal_window: timedelta = timedelta(days=1)
    sweep_interval: timedelta = timedelta(minutes=15)
    tick_batch: int = 200
    subject_budget_per_minute: int = 300
    max_fanout_batches: int = 25
    sweep_jitter: float = 0.2  # a fraction of the sweep interval

    @property
    def scan_limit(self) -> int:
        """Most channels or calendars one tick looks at (inline plus fan-out)."""
        return self.tick_batch * (1 + self.max_fanout_batches)
