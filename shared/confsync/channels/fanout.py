"""How a tick hands out the calendars it pages through: the first ``batch`` it keeps for itself,
every further ``batch`` it publishes as one ``renew`` / ``sweep`` command as soon as it has them.

Publishing while paging, not after, lets the batches run (in other function instances) while the
tick still reads; nothing is held back, however many are due.
"""

from __future__ import annotations

from collections.abc import Iterable

from confsync.channels.logs import LOGGER
from confsync.channels.report import ChannelReport
from confsync.messages import MAX_FANOUT_KEYS, RenewCommand, SweepCommand
from confsync.ports import ChannelCommandPublisher

__all__ = ["FanOut"]


class FanOut:
    """The calendars of one tick step: :attr:`inline` (the first ``batch``), the rest published
    in commands of ``batch`` keys (at most :data:`~confsync.messages.MAX_FANOUT_KEYS`, what a
    command may hold). Raises the publisher's error (the rest is then not handed out; what was
    published stays published)."""

    def __init__(
        self,
        command: type[RenewCommand] | type[SweepCommand],
        commands: ChannelCommandPublisher,
        batch: int,
        report: ChannelReport,
    ) -> None:
        self._command = command
        self._commands = commands
        self._batch = batch
        self._size = min(batch, MAX_FANOUT_KEYS)
        self._report = report
        self.inline: list[str] = []
        self._waiting: list[str] = []
        self.fanned_out = 0
        """Keys published so far."""
        self.published = 0
        """Commands published so far."""

    def add(self, keys: Iterable[str]) -> None:
        """Hand out these keys: inline while there is room, then in full commands."""
        for key in keys:
            if len(self.inline) < self._batch:
                self.inline.append(key)
            else:
                self._waiting.append(key)
        while len(self._waiting) >= self._size:
            self._publish(self._size)

    def flush(self) -> None:
        """Publish the keys still waiting for a full command."""
        if self._waiting:
            self._publish(len(self._waiting))

    def log(self, step: str) -> None:
        """One line for what was fanned out, if anything was."""
        if self.fanned_out:
            LOGGER.info(
                "%s fanned out: %d calendars in %d commands",
                step,
                self.fanned_out,
                self.published,
            )

    def _publish(self, size: int) -> None:
        chunk, rest = self._waiting[:size], self._waiting[size:]
        self._commands.publish(self._command(calendar_keys=tuple(chunk)))
        self._waiting = rest
        self.fanned_out += len(chunk)
        self.published += 1
        self._report.fanned_out += 1
