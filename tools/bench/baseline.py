"""The baseline: the seed's recipe (Google's "Syncing calendar conference changes" sample).

This is a deliberately small re-implementation of the Apps Script sample that confsync grew out of,
used only by the benchmarks (it is never part of the product), so that confsync's figures can be
read next to what the recipe costs on the same emulators and the same workload.

What one run does, for every notification, exactly like the ``EventUpdated`` trigger:

1. Read the calendar's stored sync token (the sample's user property; here a Firestore document
   ``bench-baseline-tokens/{calendarKey}``, one per calendar, or a dict for in-process runs).
2. ``events.list`` with that token, every page to the last. Without a token: a full sync of a
   window (events ending after now - 30 days, the same window confsync uses).
3. For every returned event that carries our conference (``conferenceSolution.key.type ==
   "addOn"`` and a configured solution name): ``PUT /v1/conferences/{id}`` of the conferencing
   contract with the event's current state, every time, in order, one after another. There is no
   stored state, so no diff: an edit that changed nothing relevant still sends an update.
4. Store ``nextSyncToken`` from the last page.
5. On 410 from ``events.list``: forget the token and run the full sync (step 2) at once.

Kept from the seed: one pull per notification (no coalescing), no lease (concurrent notifications
of one calendar pull concurrently with the same token, and the last run to finish stores its
token), an update for every changed event carrying our conference (no desired-state diff), the
full-sync fallback, and no handling of deleted events (a tombstone carries only ``id``, so the
sample can never tell which conference it had; no benchmark scenario deletes events).

Fixed, because the sample would not run at all otherwise (``calendar-api.md`` §6.2): events
without ``conferenceData`` are skipped instead of throwing (defect 1); an update never takes the
delete branch (defect 3); the 410 is recognised by its status code, not its message (defect 4);
the token is stored per calendar, not in one global property (defect 5); ``orderBy`` is never
sent (defect 6); the full-sync fallback runs once per run, not recursively (defect 7).

Added so the conferencing contract accepts the request: a ``revision`` (the event's ``updated`` in
milliseconds; a run that sends an older revision than one already applied gets a 409 that changes
nothing, which is how the contract protects itself from a recipe with no ordering).

Deployed for a benchmark as the stack's ``sync`` function (this file is its functions-framework
source, target ``sync``): the push subscription on ``sync-requests`` delivers each SyncRequest
that intake published, and functions-framework serves several at once (gunicorn threads), as Cloud
Functions instances would. The calendar id comes from the calendar document that enrollment wrote.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import functions_framework
import requests
from cloudevents.http.event import CloudEvent

__all__ = [
    "BaselineRun",
    "BaselineSync",
    "FirestoreTokens",
    "MemoryTokens",
    "TokenStore",
    "conference_state",
    "sync",
]

_LOGGER = logging.getLogger("bench.baseline")
_TOKENS_COLLECTION = "bench-baseline-tokens"
_FULL_SYNC_WINDOW = timedelta(days=30)
_PAGE_SIZE = 2500
_TIMEOUT_S = 30


class TokenStore(Protocol):
    """Where the recipe keeps one sync token per calendar."""

    def get(self, calendar_key: str) -> str | None:
        """The stored token, or None."""

    def put(self, calendar_key: str, token: str | None) -> None:
        """Store (or, with None, forget) the token."""


@dataclass
class MemoryTokens:
    """Tokens in a dict (in-process benchmark runs and tests)."""

    tokens: MutableMapping[str, str] = field(default_factory=dict)

    def get(self, calendar_key: str) -> str | None:
        """The stored token, or None."""
        return self.tokens.get(calendar_key)

    def put(self, calendar_key: str, token: str | None) -> None:
        """Store (or forget) the token."""
        if token is None:
            self.tokens.pop(calendar_key, None)
        else:
            self.tokens[calendar_key] = token


class FirestoreTokens:
    """Tokens in Firestore, one document per calendar, written without any precondition."""

    def __init__(self, client: Any) -> None:
        self._collection = client.collection(_TOKENS_COLLECTION)

    def get(self, calendar_key: str) -> str | None:
        """The stored token, or None."""
        snapshot = self._collection.document(calendar_key).get()
        token = snapshot.get("token") if snapshot.exists else None
        return token if isinstance(token, str) else None

    def put(self, calendar_key: str, token: str | None) -> None:
        """Store (or forget) the token: last writer wins, as with the sample's user property."""
        self._collection.document(calendar_key).set({"token": token})


@dataclass
class BaselineRun:
    """What one run did."""

    list_calls: int = 0
    events: int = 0
    updates: int = 0
    full_sync: bool = False


def _is_ours(event: Mapping[str, Any], solution_names: frozenset[str]) -> bool:
    data = event.get("conferenceData") or {}
    solution = data.get("conferenceSolution") or {}
    if (solution.get("key") or {}).get("type") != "addOn" or not data.get("conferenceId"):
        return False
    return not solution_names or solution.get("name") in solution_names


def _when(value: Mapping[str, Any] | None) -> str:
    value = value or {}
    return str(value.get("dateTime") or value.get("date") or "")


def _updated_ms(event: Mapping[str, Any]) -> int:
    moment = datetime.fromisoformat(str(event["updated"]).replace("Z", "+00:00"))
    return int(moment.timestamp() * 1000)


def conference_state(calendar_id: str, event: Mapping[str, Any]) -> dict[str, Any]:
    """The PUT body the recipe sends for ``event``: its current state and a revision."""
    start = event.get("start") or {}
    emails = {
        str(a["email"]).lower()
        for a in event.get("attendees") or []
        if a.get("email") and not a.get("resource")
    }
    return {
        "title": event.get("summary") or "",
        "start": _when(start),
        "end": _when(event.get("end")),
        "timeZone": start.get("timeZone"),
        "attendees": sorted(emails),
        "recurrence": list(event.get("recurrence") or []),
        "organizer": (event.get("organizer") or {}).get("email"),
        "calendarId": calendar_id,
        "eventId": event["id"],
        "revision": _updated_ms(event),
    }


class BaselineSync:
    """The recipe's trigger function, against the Calendar API and the conferencing contract."""

    def __init__(
        self,
        *,
        calendar_api: str,
        conferencing: str,
        tokens: TokenStore,
        solution_names: frozenset[str],
    ) -> None:
        self._calendar_api = calendar_api.rstrip("/")
        self._conferencing = conferencing.rstrip("/")
        self._tokens = tokens
        self._solution_names = solution_names
        self._local = threading.local()

    def _http(self) -> requests.Session:
        """One session per thread (requests.Session is not thread-safe)."""
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        return session

    def run(self, calendar_key: str, calendar_id: str) -> BaselineRun:
        """One trigger run: pull with the stored token, update every changed conference event."""
        stats = BaselineRun()
        token = self._tokens.get(calendar_key)
        new_token = self._pull(calendar_id, token, stats)
        if new_token is None:  # 410: the token is no longer valid; full sync once
            self._tokens.put(calendar_key, None)
            stats.full_sync = True
            new_token = self._pull(calendar_id, None, stats)
        if new_token is None:
            raise RuntimeError(f"a full sync of {calendar_id} answered 410")
        self._tokens.put(calendar_key, new_token)
        return stats

    def _pull(self, calendar_id: str, token: str | None, stats: BaselineRun) -> str | None:
        """Every page; the last page's nextSyncToken, or None on 410."""
        url = f"{self._calendar_api}/calendars/{calendar_id}/events"
        params: dict[str, Any] = {"maxResults": _PAGE_SIZE, "showDeleted": "true"}
        if token is not None:
            params["syncToken"] = token
        else:
            params["timeMin"] = (datetime.now(UTC) - _FULL_SYNC_WINDOW).isoformat()
        while True:
            answer = self._http().get(url, params=params, timeout=_TIMEOUT_S)
            stats.list_calls += 1
            if answer.status_code == 410:
                return None
            answer.raise_for_status()
            page = answer.json()
            for event in page.get("items", []):
                stats.events += 1
                if event.get("status") != "cancelled" and _is_ours(event, self._solution_names):
                    self._update(calendar_id, event)
                    stats.updates += 1
            if page.get("nextPageToken"):
                params["pageToken"] = page["nextPageToken"]
                continue
            next_token = page.get("nextSyncToken")
            return str(next_token) if next_token else None

    def _update(self, calendar_id: str, event: Mapping[str, Any]) -> None:
        conference_id = event["conferenceData"]["conferenceId"]
        answer = self._http().put(
            f"{self._conferencing}/v1/conferences/{conference_id}",
            json=conference_state(calendar_id, event),
            timeout=_TIMEOUT_S,
        )
        if answer.status_code not in (200, 409, 410):  # 409: a newer revision is there already
            answer.raise_for_status()


# --- the Cloud Function (functions-framework source, target ``sync``) ------------------------


class _Function:
    """Built on the first request from the variables the stack gives the sync function."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._built: tuple[Any, BaselineSync] | None = None

    def __call__(self) -> tuple[Any, BaselineSync]:
        with self._lock:
            if self._built is None:
                from google.auth.credentials import AnonymousCredentials  # noqa: PLC0415
                from google.cloud import firestore  # noqa: PLC0415

                client = firestore.Client(
                    project=os.environ["GOOGLE_CLOUD_PROJECT"],
                    credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
                )
                names = os.environ.get("CONFSYNC_SOLUTION_NAMES", "")
                baseline = BaselineSync(
                    calendar_api=os.environ["CALENDAR_API_URL"],
                    conferencing=os.environ["CONFERENCING_URL"],
                    tokens=FirestoreTokens(client),
                    solution_names=frozenset(n.strip() for n in names.split(",") if n.strip()),
                )
                self._built = (client, baseline)
            return self._built


_function = _Function()


@functions_framework.cloud_event
def sync(event: CloudEvent) -> None:
    """One notification: one run of the recipe. Raising makes Pub/Sub deliver it again."""
    from confsync.messages import decode_sync_request, pubsub_message  # noqa: PLC0415

    request = decode_sync_request(pubsub_message(event.data).data)
    client, baseline = _function()
    calendar = client.collection("calendars").document(request.calendar_key).get()
    if not calendar.exists:
        _LOGGER.warning("unknown calendar %s: acknowledged", request.calendar_key)
        return
    baseline.run(request.calendar_key, str(calendar.get("calendar_id")))
