""":class:`ChannelService`: the ``channels`` function's one object, wiring the parts together
and dispatching each decoded channel command to the part that runs it."""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from confsync.channels.enrollment import Enrollment
from confsync.channels.report import ChannelReport
from confsync.channels.settings import ChannelSettings
from confsync.channels.tick import Tick
from confsync.channels.watch import Watcher
from confsync.messages import (
    ChannelCommand,
    EnrollCommand,
    EnrollSource,
    RenewCommand,
    SweepCommand,
    TickCommand,
    UnenrollCommand,
)
from confsync.ports import (
    CalendarStore,
    ChannelClientFactory,
    ChannelCommandPublisher,
    ChannelStore,
    RecordForgetter,
    SyncRequestPublisher,
)

__all__ = ["ChannelService"]


def _utcnow() -> datetime:
    return datetime.now(UTC)


class ChannelService:
    """Enrollment and channel maintenance over the ports it is given (see :mod:`confsync.channels`).

    ``calendar_api`` is the Calendar API's channel port (``events.watch``, ``channels.stop``);
    ``calendar_store`` holds the calendar records (``calendars/{key}``), ``channels`` the channel
    records (``channels/{channelId}``). Time, channel ids and jitter come from injected seams.
    """

    def __init__(
        self,
        *,
        calendar_api: ChannelClientFactory,
        calendar_store: CalendarStore,
        channels: ChannelStore,
        publisher: SyncRequestPublisher,
        commands: ChannelCommandPublisher,
        settings: ChannelSettings,
        records: RecordForgetter | None = None,
        now: Callable[[], datetime] = _utcnow,
        new_channel_id: Callable[[], str] = lambda: uuid.uuid4().hex,
        rng: random.Random | None = None,
    ) -> None:
        watcher = Watcher(
            calendar_api=calendar_api,
            calendar_store=calendar_store,
            channels=channels,
            settings=settings,
            new_channel_id=new_channel_id,
        )
        self._enrollment = Enrollment(
            calendar_api=calendar_api,
            calendar_store=calendar_store,
            channels=channels,
            publisher=publisher,
            records=records,
            watcher=watcher,
            allowed_domains=settings.allowed_domains,
            now=now,
        )
        self._tick = Tick(
            calendar_api=calendar_api,
            calendar_store=calendar_store,
            channels=channels,
            publisher=publisher,
            commands=commands,
            settings=settings,
            watcher=watcher,
            now=now,
            rng=rng or random.Random(),  # noqa: S311 - jitter, not security
            unenroll=self._enrollment.unenroll,  # offboarding: retired calendars are unenrolled
        )

    def handle(self, command: ChannelCommand) -> ChannelReport:
        """Run one decoded channel command."""
        match command:
            case EnrollCommand(subject=subject, calendar_id=calendar_id, source=source):
                return self.enroll(subject, calendar_id, source=source)
            case UnenrollCommand(calendar_key=key, forget=forget, block=block):
                return self.unenroll(key, forget=forget, block=block)
            case TickCommand(issued_at=issued_at):
                return self.tick(issued_at=issued_at)
            case RenewCommand(calendar_keys=keys):
                return self.renew(keys)
            case SweepCommand(calendar_keys=keys):
                return self.sweep(keys)

    def enroll(
        self, subject: str, calendar_id: str, *, source: EnrollSource = "operator"
    ) -> ChannelReport:
        """Start syncing a calendar of an allowed subject; idempotent (see
        :meth:`Enrollment.enroll`)."""
        return self._enrollment.enroll(subject, calendar_id, source=source)

    def unenroll(self, key: str, *, forget: bool = False, block: bool = False) -> ChannelReport:
        """Stop syncing a calendar (``block``: and keep the add-on from enrolling it again);
        idempotent (see :meth:`Enrollment.unenroll`)."""
        return self._enrollment.unenroll(key, forget=forget, block=block)

    def tick(
        self, now: datetime | None = None, *, issued_at: datetime | None = None
    ) -> ChannelReport:
        """Renew, sweep (with repair) and collect, within the batch and the subject budget."""
        return self._tick.tick(now, issued_at=issued_at)

    def renew(self, keys: Iterable[str]) -> ChannelReport:
        """A fan-out batch: renew the due channels of these calendars (own subject budget)."""
        return self._tick.renew(keys)

    def sweep(self, keys: Iterable[str]) -> ChannelReport:
        """A fan-out batch: request a sync of these calendars, repairing missing channels."""
        return self._tick.sweep(keys)
