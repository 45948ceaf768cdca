"""The ownership check: nothing reached the conferencing system from a non-owner's event.

A copy of a conference by another user (their own event carrying it) and an event moved to
another user never count for the conference (the oracle's rule); confsync must not even try to
act for them. The provider's request log does not hold bodies, so the check uses what confsync
sends as a revision: the latest ``updated`` (ms) of the events behind the operation. A PUT whose
revision is the ``updated`` of a write to a non-owner's event (and of no owner's write) was sent
for that event. A DELETE of such a conference is allowed only after its owner let go of it (the
step that removed its owner's last event started); one while the owner's event still carries it
was sent for someone else's event. Requests count whatever their outcome (a faulted or refused
request still reached the provider).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

__all__ = ["non_owner_requests"]

_LOG_SLACK = timedelta(seconds=1)  # the log's times and the harness's clock may round apart


def _when(entry: Mapping[str, Any]) -> datetime | None:
    value = entry.get("time")
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def non_owner_requests(
    log: Sequence[Mapping[str, Any]],
    copy_writes: Mapping[str, Mapping[int, str]],
    owner_writes: Collection[int],
    detached_at: Mapping[str, datetime],
    carried: Collection[str],
) -> list[str]:
    """Every PUT or DELETE sent for an event of a user who does not own the conference.

    ``copy_writes``: per conference carried by non-owners' events, the ``updated`` (ms) of each
    write to them and what it was; ``owner_writes``: the ``updated`` of every other write;
    ``detached_at``: when each conference lost its owner's last event; ``carried``: the
    conferences the oracle keeps at the end (an event of their owner carries them, or they were
    transferred to another user with their event).
    """
    problems: list[str] = []
    for entry in log:
        conference_id = str(entry.get("conferenceId"))
        writes = copy_writes.get(conference_id)
        if writes is None:
            continue
        method, revision, outcome = entry.get("method"), entry.get("revision"), entry.get("outcome")
        if (
            method == "PUT"
            and isinstance(revision, int)
            and revision in writes
            and revision not in owner_writes
        ):
            problems.append(
                f"{conference_id}: PUT r{revision} ({outcome}) sent for {writes[revision]}, "
                "an event of a user who does not own it"
            )
        if method != "DELETE":
            continue
        if conference_id in carried:
            problems.append(
                f"{conference_id}: DELETE r{revision} ({outcome}) while its owner's event "
                "still carries it (or it was transferred)"
            )
            continue
        let_go, when = detached_at.get(conference_id), _when(entry)
        if let_go is not None and when is not None and when < let_go - _LOG_SLACK:
            problems.append(
                f"{conference_id}: DELETE r{revision} ({outcome}) at {entry.get('time')}, "
                f"before its owner let go of it ({let_go:%H:%M:%S.%f})"
            )
    return problems
