"""The channel commands' logger and the labels every line carries.

Every module of :mod:`confsync.channels` logs through :data:`LOGGER`, named ``confsync.channels``
whichever module writes: the log-based metrics (terraform/monitoring.tf) and their tests select
the report lines by that name. Lines name calendars by key and channels by id, never by e-mail
address.
"""

from __future__ import annotations

import logging
from typing import Any

from confsync.cloud_logging import CHANNELS_LOGGER

__all__ = ["LOGGER", "labels"]

LOGGER = logging.getLogger(CHANNELS_LOGGER)


def labels(calendar: str, channel: str | None = None) -> dict[str, Any]:
    """The ``extra`` of a line about one calendar (and one of its channels)."""
    found = {"calendar_key": calendar}
    if channel is not None:
        found["channel_id"] = channel
    return {"labels": found}
