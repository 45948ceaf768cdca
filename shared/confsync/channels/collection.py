"""The tick's garbage collection: superseded channels are stopped (404: already gone) and
forgotten; stopped ones are forgotten. At most ``limit`` a tick, each stop charged to the
channel's subject; a store failure leaves the channel for the next tick."""

from __future__ import annotations

from confsync.channels.logs import LOGGER, labels
from confsync.channels.report import ChannelReport, SubjectBudget
from confsync.channels.watch import Watcher
from confsync.errors import TransientError
from confsync.ports import ChannelClientFactory, ChannelStore

__all__ = ["collect_channels"]


def collect_channels(
    *,
    channels: ChannelStore,
    calendar_api: ChannelClientFactory,
    watcher: Watcher,
    limit: int,
    budget: SubjectBudget,
    report: ChannelReport,
) -> None:
    """Stop and forget up to ``limit`` superseded or stopped channels."""
    for channel in channels.superseded_or_orphaned(limit):
        if channel.state == "stopped":
            channels.delete(channel.id)
            report.collected += 1
            continue
        if not budget.spend(channel.subject, 1):
            report.deferred += 1
            continue
        try:
            if watcher.stop(calendar_api.for_subject(channel.subject), channel):
                report.collected += 1
        except TransientError as err:  # the store: next tick
            report.failed += 1
            LOGGER.warning(
                "garbage collection failed: %s",
                err,
                extra=labels(channel.calendar_key, channel.id),
            )
