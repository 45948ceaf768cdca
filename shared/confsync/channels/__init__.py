"""Channel life cycle: enroll and unenroll calendars, and the periodic tick that keeps them watched.

Push notifications arrive through ``events.watch`` channels
(https://developers.google.com/workspace/calendar/api/guides/push), which expire, cannot be
renewed in place, and can die silently. :class:`ChannelService` owns their whole life; each step
lives in a module of its own:

* :mod:`~confsync.channels.service`: :class:`ChannelService`, which wires the parts over the ports
  and dispatches each channel command (``enroll``, ``unenroll``, ``tick``, ``renew``, ``sweep``);
* :mod:`~confsync.channels.enrollment`: the ``enroll`` and ``unenroll`` commands;
* :mod:`~confsync.channels.watch`: a channel's life cycle: watch, renew (new channel persisted
  before the old one is superseded and stopped), stop;
* :mod:`~confsync.channels.tick`: the tick and its fan-out batches: renewal scan, sweep with
  repair, garbage collection, each bounded by the batch size and the per-subject budget;
* :mod:`~confsync.channels.offboarding`: the tick's passes over ``disconnected`` calendars: stop
  their channels, and unenroll them (records forgotten, conferences kept) after the retention;
* :mod:`~confsync.channels.report`: what a command did and spent (:class:`ChannelReport`,
  :class:`SubjectBudget`) and its summary line;
* :mod:`~confsync.channels.settings`: :class:`ChannelSettings`;
* :mod:`~confsync.channels.logs`: the ``confsync.channels`` logger every part writes to.

Only the ports are used for I/O; time, channel ids and jitter come from injected seams. Logs name
calendars by key and channels by id, never by e-mail address.
"""

from __future__ import annotations

from confsync.channels.report import ChannelReport, SubjectBudget
from confsync.channels.service import ChannelService
from confsync.channels.settings import ChannelSettings

__all__ = ["ChannelReport", "ChannelService", "ChannelSettings", "SubjectBudget"]
