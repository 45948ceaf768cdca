"""The push channel life cycle: watch, renew, supersede, stop.

A channel (``events.watch``) expires, cannot be renewed in place and can die silently
(https://developers.google.com/workspace/calendar/api/guides/push). A channel is opened with a new
id, a token binding it to the calendar key (:mod:`confsync.channel_tokens`) and the intake URL,
and persisted in ``channels/{channelId}`` before anything relies on it. Renewal opens and
persists the **new** channel before the old one is superseded and stopped: the overlap only
duplicates notifications, which syncs coalesce. A channel whose calendar is gone or no longer
``active`` is an orphan: it is superseded and stopped instead of renewed. See
docs/decisions/2026-11-24-channel-lifecycle.md.

The calendar document keeps each recent channel's live window (``channels``, see
:mod:`confsync.calendars`), which sync runs check, and the sweep (a calendar without a live window
is repaired): a window is written **before** ``events.watch``
(from :data:`OPENED_EARLY` before now until the token's expiry), so a channel is never live
without one; superseding a renewed channel ends it :data:`SUPERSEDED_GRACE` later, an orphan's at
once; a watch that fails, or whose channel cannot be recorded, ends its window at once;
channels opened before windows existed get theirs when their
calendar is next renewed or enrolled; windows ended more than :data:`WINDOW_RETENTION` ago are
dropped with the next write. See docs/decisions/2026-12-04-channel-token-expiry.md.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Literal

from confsync.calendars import CalendarDoc, ChannelWindow
from confsync.channel_docs import ChannelDoc
from confsync.channel_tokens import EXPIRY_SLACK, mint_channel_token
from confsync.channels.logs import LOGGER, labels
from confsync.channels.report import ChannelReport, SubjectBudget
from confsync.channels.settings import ChannelSettings
from confsync.errors import CalendarAccessError, PermanentError, TransientError, WatchRefusedError
from confsync.ports import CalendarStore, ChannelClient, ChannelClientFactory, ChannelStore
from confsync.state_changes import set_while_syncing

__all__ = ["OPENED_EARLY", "SUPERSEDED_GRACE", "WINDOW_RETENTION", "OpenOutcome", "Watcher"]

OPENED_EARLY = timedelta(minutes=1)
"""How long before ``events.watch`` a new channel's window opens: intake stamps notifications by
its own clock, which may lag the channels function's (the channel id is new, so nothing earlier
can carry it)."""

SUPERSEDED_GRACE = timedelta(minutes=5)
"""How long a superseded channel still counts as live (notifications Google sent before the stop
and delivers, or retries, a little later)."""
WINDOW_RETENTION = timedelta(days=1)
"""How long an ended window stays on the calendar document (a request still queued in Pub/Sub)."""

OpenOutcome = Literal["opened", "poll-only", "disconnected"]
"""What :meth:`Watcher.open` did: see there."""


class Watcher:
    """Opens, renews, supersedes and stops one calendar's push channels."""

    def __init__(
        self,
        *,
        calendar_api: ChannelClientFactory,
        calendar_store: CalendarStore,
        channels: ChannelStore,
        settings: ChannelSettings,
        new_channel_id: Callable[[], str],
    ) -> None:
        self._calendar_api = calendar_api
        self._calendar_store = calendar_store
        self._channels = channels
        self._settings = settings
        self._new_channel_id = new_channel_id

    def due(self, channel: ChannelDoc, now: datetime) -> bool:
        """Whether a channel must be renewed: less than the renewal window is left, or less than
        half its lifetime when Google granted a lifetime shorter than twice the window (its
        maximum is undocumented); otherwise such a channel would be renewed on every tick."""
        lifetime = channel.expiration - channel.created_at
        margin = min(self._settings.renewal_window, lifetime / 2)
        return channel.expiration < now + margin

    def renew_calendar(
        self, key: str, now: datetime, budget: SubjectBudget, report: ChannelReport
    ) -> None:
        """Renew the calendar's due channels (new one first), or stop them if it is orphaned."""
        channels = self._channels.active_for(key)
        if any(self.due(c, now) for c in channels):
            doc = self._calendar_store.get(key)
            self.renew_known(key, channels, doc, now=now, budget=budget, report=report)
        else:
            LOGGER.debug("channels fresh; no renewal", extra=labels(key))

    def renew_known(
        self,
        key: str,
        channels: Sequence[ChannelDoc],
        doc: CalendarDoc | None,
        *,
        now: datetime,
        budget: SubjectBudget,
        report: ChannelReport,
    ) -> None:
        """:meth:`renew_calendar` with the calendar's active ``channels`` and its document
        (None: gone) already read, for a batch that reads them for many calendars at once."""
        due = [c for c in channels if self.due(c, now)]
        if not due:
            LOGGER.debug("channels fresh; no renewal", extra=labels(key))
            return
        if doc is None or doc.state != "active":
            reason = "calendar gone" if doc is None else f"calendar {doc.state}"
            self._stop_orphans(key, due, reason, budget, report, now=now)
            return
        self.record_windows(doc, channels)
        fresh = [c for c in channels if not self.due(c, now)]
        if not budget.spend(doc.subject, len(due) + (0 if fresh else 1)):
            report.deferred += 1
            LOGGER.info("subject's Calendar budget spent; renewal deferred", extra=labels(key))
            return
        client = self._calendar_api.for_subject(doc.subject)
        if not fresh:
            outcome = self.open(client, doc, now, report)
            if outcome == "opened":
                report.renewed += 1
        else:
            LOGGER.info(
                "a fresh channel exists already; superseding the due one", extra=labels(key)
            )
        for channel in due:  # only now that the new channel is persisted
            self.supersede(channel, "renewed", now)
            self.stop(client, channel)

    def _stop_orphans(
        self,
        key: str,
        due: list[ChannelDoc],
        reason: str,
        budget: SubjectBudget,
        report: ChannelReport,
        *,
        now: datetime,
    ) -> None:
        """Supersede and stop the due channels of a calendar that is gone or not ``active``."""
        subject = due[0].subject
        if not budget.spend(subject, len(due)):
            report.deferred += 1
            return
        for channel in due:
            LOGGER.info("orphaned channel (%s); stopping it", reason, extra=labels(key))
            self.supersede(channel, reason, now, grace=timedelta(0))
            if self.stop(self._calendar_api.for_subject(channel.subject), channel):
                report.orphaned += 1

    def _set_state_unless_changed(
        self, doc: CalendarDoc, state: str, now: datetime, outcome: str
    ) -> bool:
        """Set ``state`` if the calendar still syncs (:mod:`confsync.state_changes`): an
        unenrolment (or another change) made while the watch was under way stands."""
        found = set_while_syncing(
            self._calendar_store, doc.key, doc.state, state, now=now, outcome=outcome
        )
        if found is None:
            return True
        LOGGER.info(
            "calendar %s when its watch failed: not marked %s", found, state, extra=labels(doc.key)
        )
        return False

    def open(
        self, client: ChannelClient, doc: CalendarDoc, now: datetime, report: ChannelReport
    ) -> OpenOutcome:
        """Watch the calendar with a new channel and persist it: ``opened``, ``poll-only`` (the
        calendar refuses watches) or ``disconnected`` (its access is gone: credentials refused,
        user deleted or suspended, calendar not found; its live windows are forgotten)."""
        channel_id = self._new_channel_id()
        ttl = int(self._settings.channel_ttl.total_seconds())
        expires = now + timedelta(seconds=ttl) + EXPIRY_SLACK
        token = mint_channel_token(self._settings.token_keys, channel_id, doc.key, expires=expires)
        stale = [i for i, w in (doc.channels or {}).items() if w.until < now - WINDOW_RETENTION]
        # Before the watch: a channel must never be live without its window (sync drops it).
        self._calendar_store.note_channel(
            doc.key, channel_id, ChannelWindow(now - OPENED_EARLY, expires), forget=stale
        )
        try:
            watched = client.watch(
                doc.calendar_id, channel_id, self._settings.intake_url, token, ttl
            )
        except WatchRefusedError as err:
            report.poll_only += 1
            LOGGER.warning(
                "calendar refuses push channels; marked poll-only (the sweep covers it): %s",
                err,
                extra=labels(doc.key),
            )
            self._set_state_unless_changed(doc, "poll-only", now, f"watch refused: {err}")
            return "poll-only"
        except TransientError:
            self._end_window(doc.key, channel_id, now)  # no channel: the sweep must repair
            raise
        except CalendarAccessError as err:
            if self._set_state_unless_changed(doc, "disconnected", now, err.outcome):
                report.disconnected += 1
                LOGGER.error(
                    "calendar access refused on watch; calendar disconnected: %s",
                    err,
                    extra=labels(doc.key),
                )
            self._calendar_store.clear_channels(doc.key)  # the window just noted included
            return "disconnected"
        channel = ChannelDoc(
            id=watched.id,
            calendar_key=doc.key,
            subject=doc.subject,
            resource_id=watched.resource_id,
            expiration=watched.expiration,
            created_at=now,
        )
        try:
            self._channels.put(channel)
        except TransientError:
            # Google has a channel we could not record: stop it rather than leak it.
            self.stop(client, channel, forget_record=False)
            self._end_window(doc.key, channel_id, now)
            raise
        LOGGER.info(
            "channel opened, expires %s",
            watched.expiration.isoformat(timespec="seconds"),
            extra=labels(doc.key, watched.id),
        )
        return "opened"

    def _end_window(self, key: str, channel_id: str, now: datetime) -> None:
        """End the window noted for a channel that was not opened after all, so the calendar
        does not look watched (the sweep repairs a calendar without a live window). If the store
        fails too, the window stays until the expiry it was noted with."""
        try:
            self._calendar_store.note_channel(key, channel_id, ChannelWindow(now, now))
        except TransientError as err:
            LOGGER.warning("window of a failed watch left open: %s", err, extra=labels(key))

    def record_windows(self, doc: CalendarDoc, channels: Sequence[ChannelDoc]) -> None:
        """Give each active channel of ``doc`` without a live window one (channels opened before
        windows were recorded), before anything writes ``doc.channels``."""
        for channel in channels:
            if channel.state == "active" and channel.id not in (doc.channels or {}):
                window = ChannelWindow(channel.created_at, channel.expiration + EXPIRY_SLACK)
                self._calendar_store.note_channel(doc.key, channel.id, window)
                LOGGER.info("live window recorded", extra=labels(doc.key, channel.id))

    def supersede(
        self,
        channel: ChannelDoc,
        reason: str,
        now: datetime,
        *,
        grace: timedelta = SUPERSEDED_GRACE,
    ) -> None:
        """Mark a channel ``superseded`` (it is stopped next, or by garbage collection) and end
        its live window ``grace`` from ``now``."""
        self._channels.set_state(channel.id, "superseded")
        end = min(now + grace, channel.expiration + EXPIRY_SLACK)
        window = ChannelWindow(min(channel.created_at, end), end)
        self._calendar_store.note_channel(channel.calendar_key, channel.id, window)
        LOGGER.info(
            "channel superseded (%s)", reason, extra=labels(channel.calendar_key, channel.id)
        )

    def stop(
        self, client: ChannelClient, channel: ChannelDoc, *, forget_record: bool = True
    ) -> bool:
        """``channels.stop``; True when the channel is stopped or can never be (it then expires
        by itself), False when the stop failed for now (garbage collection retries it)."""
        found = labels(channel.calendar_key, channel.id)
        try:
            client.stop_channel(channel.id, channel.resource_id)
        except TransientError as err:
            LOGGER.warning("channel stop failed for now; collected later: %s", err, extra=found)
            return False
        except PermanentError as err:
            LOGGER.warning("channel cannot be stopped; it will expire: %s", err, extra=found)
        else:
            LOGGER.info("channel stopped", extra=found)
        if forget_record:
            self._channels.delete(channel.id)
        return True
