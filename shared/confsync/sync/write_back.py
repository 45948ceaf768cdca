"""Writing a conference's join URL back to its calendar events, never over a user's edit.

Each patch carries the event's etag (``If-Match``); when the user edited the event meanwhile
(412), the event is read again and the decision made again, a few times at most. An event that
is cancelled, carries another conference, already shows the URL or has no etag is left alone. A
write-back that fails for now raises, so the run fails before its records say "done" and the
redelivery writes back again (see :mod:`confsync.sync.apply`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from confsync.errors import CalendarNotFoundError, PermanentError, PreconditionFailedError
from confsync.events import decode_event
from confsync.records import ConferenceRecord
from confsync.sync.send import Sent
from confsync.sync.state import Run
from confsync.sync.summary import LOGGER, labels

__all__ = ["write_back"]

_WRITE_BACK_ATTEMPTS = 3


def write_back(
    run: Run,
    records: Mapping[str, ConferenceRecord],
    sent: Mapping[str, Sent],
    raw: Mapping[str, Mapping[str, Any]],
) -> None:
    """Put each conference's known join URL on its events on this calendar that show another,
    never over a user's edit (the owner's events on other calendars are repaired by their own
    calendars' runs, when they next list them).

    ``records`` are the records as they will be saved. Events in ``raw`` (on this page) are
    repaired whenever they differ, even when no operation was sent: an event that joins a
    conference carrying an old URL, or one our last write-back missed. Events not in ``raw``
    (another event sharing the conference, a series master whose exception changed, a
    pending retry) are read only when an answer in ``sent`` brought a URL the record did not
    know; an unchanged URL costs no read."""
    for key in sorted(records):
        record = records[key]
        sent_state = record.sent
        refs = record.refs_of(run.doc.key)
        if record.role != "acting" or refs is None:
            continue  # never written onto events that do not act for the conference
        if record.status == "deleted" or sent_state is None or not sent_state.join_url:
            continue
        result = sent.get(key)
        read_others = result is not None and result.new_join_url
        for event_id in sorted(refs.events):
            item = raw.get(event_id)
            if item is None and read_others:
                item = run.client.get_event(run.doc.calendar_id, event_id)
            if item is not None and _patch_join_url(
                run, item, record.conference_id, sent_state.join_url
            ):
                run.stats.write_backs += 1


def _patch_join_url(run: Run, item: Mapping[str, Any], conference_id: str, join_url: str) -> bool:
    """Patch one event (``item`` as last read) to show ``join_url``; whether it was written."""
    current: Mapping[str, Any] | None = item
    for _ in range(_WRITE_BACK_ATTEMPTS):
        if current is None:
            return False
        event = decode_event(current)
        conference = event.conference
        if (
            event.cancelled
            or conference is None
            or conference.conference_id != conference_id
            or conference.video_uri == join_url
            or not event.etag
        ):
            return False  # nothing to write, or no longer ours to write
        data = _with_video_uri(current.get("conferenceData") or {}, join_url)
        try:
            run.client.patch_conference_data(run.doc.calendar_id, event.id, event.etag, data)
            return True
        except PreconditionFailedError:
            # The user edited the event meanwhile: re-read it and decide again.
            current = run.client.get_event(run.doc.calendar_id, event.id)
        except (CalendarNotFoundError, PermanentError) as err:
            # Retrying cannot help (the event is gone, or the API refuses the change).
            LOGGER.error(
                "write-back of new join details refused: %s", err, extra=labels(run.doc.key)
            )
            return False
    LOGGER.warning("write-back gave up after repeated concurrent edits", extra=labels(run.doc.key))
    return False


def _with_video_uri(conference_data: Mapping[str, Any], join_url: str) -> dict[str, Any]:
    data = dict(conference_data)
    entry_points = [dict(e) for e in data.get("entryPoints") or [] if isinstance(e, Mapping)]
    for entry in entry_points:
        if entry.get("entryPointType") == "video":
            entry["uri"] = join_url
            break
    else:
        entry_points.insert(0, {"entryPointType": "video", "uri": join_url})
    data["entryPoints"] = entry_points
    return data
