"""The checks after convergence, besides the oracle: revisions, dead letters, the users' edits.

* :func:`revision_violations` reads the conferencing system's request log: per conference, every
  applied operation must carry a higher revision than the one applied before it, nothing may be
  applied after the conference was deleted, and the conference must end at the last applied
  revision (invariant 5).
* :func:`classify_dead_letters`: a dead-lettered message is explained when it was published
  while faults were in force (a run may then fail five times in a row, and the sweep covers the
  calendar); one published after the faults were cleared is not.
* :func:`intent_violations`: the Calendar still holds what each user last wrote (title,
  conference, deleted or not): confsync's writes never overwrote a user's edit.
* :func:`stale_join_urls`: events whose conference got a new join URL but still show the old one
  (reported as a note; should not happen now that confsync repairs such events on sight).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chaos.oracle import counts
from chaos.workload import EventModel

__all__ = [
    "DeadLetters",
    "classify_dead_letters",
    "intent_violations",
    "outcome_counts",
    "revision_violations",
    "stale_join_urls",
]


def revision_violations(
    log: Sequence[Mapping[str, Any]], conferences: Sequence[Mapping[str, Any]]
) -> list[str]:
    """Every operation applied out of revision order, after a deletion, or not reflected."""
    problems: list[str] = []
    last: dict[str, int] = {}
    deleted: set[str] = set()
    for entry in log:
        if entry.get("outcome") != "applied":
            continue
        conference_id, revision = str(entry["conferenceId"]), entry.get("revision")
        if not isinstance(revision, int):
            problems.append(f"{conference_id}: applied {entry['method']} without a revision")
            continue
        if conference_id in deleted and entry["method"] == "PUT":
            problems.append(f"{conference_id}: PUT r{revision} applied after the delete")
        if conference_id in last and revision < last[conference_id]:
            problems.append(
                f"{conference_id}: {entry['method']} r{revision} applied after "
                f"r{last[conference_id]} (stale)"
            )
        last[conference_id] = max(revision, last.get(conference_id, revision))
        if entry["method"] == "DELETE":
            deleted.add(conference_id)
    for conference in conferences:
        conference_id = str(conference["id"])
        if conference_id in last and conference.get("revision") != last[conference_id]:
            problems.append(
                f"{conference_id}: ends at r{conference.get('revision')}, "
                f"last applied r{last[conference_id]}"
            )
    return problems


def outcome_counts(log: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """How the conferencing system answered (applied, repeat, stale, fault, ...)."""
    return dict(Counter(f"{e['method']} {e['outcome']}" for e in log))


def provider_history(
    log: Sequence[Mapping[str, Any]], conference_id: str, *, limit: int = 40
) -> list[str]:
    """What the conferencing system was asked about one conference, in order (the last
    ``limit`` requests): method, revision, status and outcome, and whether the answer was an
    idempotent replay. What a failure's trace needs to tell a lost update from a stale plan."""
    mine = [e for e in log if e.get("conferenceId") == conference_id]
    shown = [
        f"{e.get('method')} revision={e.get('revision')} {e.get('status')} {e.get('outcome')}"
        + (" (replayed)" if e.get("idempotentReplay") else "")
        for e in mine[-limit:]
    ]
    skipped = len(mine) - len(shown)
    return ([f"({skipped} earlier requests not shown)"] if skipped else []) + shown


@dataclass(frozen=True)
class DeadLetters:
    """Dead-lettered messages, split by whether the fault schedule explains them."""

    explained: list[str]
    unexplained: list[str]


def _published_at(data: Mapping[str, Any]) -> datetime | None:
    for key in ("notifiedAt", "issuedAt"):
        value = data.get(key)
        if isinstance(value, str):
            try:
                return datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                return None
    return None


def classify_dead_letters(
    messages: Sequence[Mapping[str, Any]], faults_cleared_at: datetime
) -> DeadLetters:
    """Messages published before ``faults_cleared_at`` are explained by the storm."""
    explained: list[str] = []
    unexplained: list[str] = []
    for message in messages:
        raw = str(message.get("data", ""))
        try:
            data = json.loads(raw)
        except ValueError:
            unexplained.append(f"undecodable: {raw[:120]}")
            continue
        when = _published_at(data) if isinstance(data, dict) else None
        text = raw[:160]
        if when is not None and when < faults_cleared_at:
            explained.append(text)
        else:
            unexplained.append(text)
    return DeadLetters(explained, unexplained)


def intent_violations(
    models: Mapping[str, EventModel],
    event_ids: Mapping[str, str],
    conference_ids: Mapping[str, str],
    listings: Mapping[str, Sequence[Mapping[str, Any]]],
    calendar_ids: Mapping[str, str],
) -> list[str]:
    """Every event whose Calendar state differs from what its user last wrote."""
    problems: list[str] = []
    for name, model in sorted(models.items()):
        calendar_id = calendar_ids[model.calendar]
        found = {str(item["id"]): item for item in listings[calendar_id]}
        item = found.get(event_ids.get(name, ""))
        if item is None:
            problems.append(f"{name}: not in the calendar")
            continue
        if not model.live:
            if item.get("status") != "cancelled":
                problems.append(f"{name}: deleted by its user, yet {item.get('status')}")
            continue
        if item.get("status") == "cancelled":
            problems.append(f"{name}: live for its user, yet cancelled")
            continue
        if item.get("summary") != model.title:
            problems.append(
                f"{name}: title {item.get('summary')!r}, its user wrote {model.title!r}"
            )
        wanted = conference_ids.get(model.conference) if model.conference else None
        data = item.get("conferenceData") or {}
        if data.get("conferenceId") != wanted:
            problems.append(f"{name}: conference {data.get('conferenceId')}, expected {wanted}")
    return problems


def stale_join_urls(
    rotated: Mapping[str, datetime],
    conferences: Sequence[Mapping[str, Any]],
    listings: Mapping[str, Sequence[Mapping[str, Any]]],
    log: Sequence[Mapping[str, Any]],
    users: Mapping[str, str] | None = None,
) -> list[str]:
    """Live events of ours whose rotated conference's join URL never reached them.

    Only events of the conference's owner (``users``: calendar id -> its subject) are looked at:
    confsync never writes back to another user's copy, which keeps the URL its author put there.

    Each note says how many PUTs the conferencing system applied after the rotation: with none,
    confsync never got the new URL in an answer (nothing relevant changed for that conference).
    """
    urls = {str(c["id"]): c.get("joinUrl") for c in conferences if c.get("status") == "active"}
    owners = {str(c["id"]): c.get("owner") or None for c in conferences}
    notes: list[str] = []
    for calendar_id, items in listings.items():
        for item in items:
            if item.get("status") == "cancelled" or item.get("recurringEventId"):
                continue
            data = item.get("conferenceData") or {}
            conference_id = str(data.get("conferenceId"))
            if conference_id not in rotated or conference_id not in urls:
                continue
            user = (users or {}).get(calendar_id, calendar_id)
            if not counts(item, calendar_id, user, owners.get(conference_id)):
                continue
            entries = data.get("entryPoints") or []
            video = next(
                (e.get("uri") for e in entries if e.get("entryPointType") == "video"), None
            )
            if video == urls[conference_id]:
                continue
            since = rotated[conference_id]
            later = sum(
                1
                for e in log
                if e["conferenceId"] == conference_id
                and e["method"] == "PUT"
                and e.get("outcome") == "applied"
                and datetime.fromisoformat(str(e["time"]).replace("Z", "+00:00")) > since
            )
            notes.append(
                f"{calendar_id} event {item['id']}: still shows the old join URL of "
                f"{conference_id} ({later} PUTs applied after the rotation)"
            )
    return notes
