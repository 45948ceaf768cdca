"""In-memory implementations of confsync's ports, for unit tests and local experiments.

They keep the ports' contracts (errors included) without any network or emulator, so a unit test
exercises the real runner against them. See :mod:`confsync.testing.fakes`.
"""

from confsync.testing.fakes import (
    FakeCalendar,
    InMemoryCalendarBudget,
    InMemoryCalendarStore,
    InMemoryChannelStore,
    InMemoryRecordStore,
    RecordingCommandPublisher,
    RecordingProvider,
    RecordingPublisher,
)

__all__ = [
    "FakeCalendar",
    "InMemoryCalendarBudget",
    "InMemoryCalendarStore",
    "InMemoryChannelStore",
    "InMemoryRecordStore",
    "RecordingCommandPublisher",
    "RecordingProvider",
    "RecordingPublisher",
]
