"""The emulator's in-memory state: conferences, remembered idempotent answers, the request log.

One reentrant lock guards everything (the fault book shares it): callers that need several steps
to be atomic (look up an idempotency key, apply, remember the answer, log) hold ``store.lock``
around them.
"""

from __future__ import annotations

import copy
import datetime
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from .batch import summary
from .errors import conference_deleted, not_found, stale_revision
from .model import Conference, PutRequest, utc_now_text

__all__ = ["IDEMPOTENCY_CAPACITY", "JOIN_URL_BASE", "IdempotencyScope", "Store", "StoredAnswer"]

#: How many idempotency keys are remembered (least recently used forgotten first).
IDEMPOTENCY_CAPACITY: Final = 100_000
#: Join URLs are ``JOIN_URL_BASE + id`` (a reserved, never-resolving domain).
JOIN_URL_BASE: Final = "https://conference.example/j/"

#: (method, path, Idempotency-Key)
IdempotencyScope = tuple[str, str, str]


@dataclass(frozen=True)
class StoredAnswer:
    """An answer remembered under an idempotency key."""

    status: int
    body: dict[str, Any]
    outcome: str


class Store:
    """Conferences by id, idempotent answers and the PUT/DELETE request log."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.lock = threading.RLock()
        self._clock = clock
        self._conferences: dict[str, Conference] = {}
        self._answers: OrderedDict[IdempotencyScope, StoredAnswer] = OrderedDict()
        self._log: list[dict[str, Any]] = []

    def now_text(self) -> str:
        return utc_now_text(datetime.datetime.fromtimestamp(self._clock(), datetime.UTC))

    # --- conferences ------------------------------------------------------------------------

    def create(self, state: dict[str, Any], owner: str | None = None) -> Conference:
        """A new conference at revision 0 with ``state`` and ``owner`` (never changed later)."""
        with self.lock:
            conference_id = f"conf_{secrets.token_hex(8)}"
            while conference_id in self._conferences:  # pragma: no cover - 64 random bits
                conference_id = f"conf_{secrets.token_hex(8)}"
            now = self.now_text()
            conference = Conference(
                id=conference_id,
                join_url=JOIN_URL_BASE + conference_id,
                created_at=now,
                updated_at=now,
                owner=owner,
            )
            conference.apply(state)
            self._conferences[conference_id] = conference
            return copy.deepcopy(conference)

    def get(self, conference_id: str) -> Conference | None:
        with self.lock:
            found = self._conferences.get(conference_id)
            return None if found is None else copy.deepcopy(found)

    def summaries(self, conference_ids: list[str]) -> tuple[list[dict[str, Any]], list[str]]:
        """A batch read: the summaries of the known ids and the unknown ids, in that order."""
        with self.lock:
            found = [self._conferences.get(name) for name in conference_ids]
            known = [summary(c) for c in found if c is not None]
            return known, [n for n, c in zip(conference_ids, found, strict=True) if c is None]

    def all(self) -> list[Conference]:
        with self.lock:
            return [copy.deepcopy(c) for c in self._conferences.values()]

    def put(self, conference_id: str, request: PutRequest) -> tuple[str, Conference]:
        """Apply a PUT: ``("applied" | "repeat", conference)``; raises the contract's errors."""
        with self.lock:
            conference = self._conferences.get(conference_id)
            if conference is None:
                raise not_found(conference_id)
            if conference.status == "deleted":
                raise conference_deleted(conference_id)
            if request.revision < conference.revision:
                raise stale_revision(conference_id, request.revision, conference.revision)
            if request.revision == conference.revision:
                return "repeat", copy.deepcopy(conference)
            conference.apply(request.state)
            conference.revision = request.revision
            conference.updated_at = self.now_text()
            return "applied", copy.deepcopy(conference)

    def delete(self, conference_id: str, revision: int) -> Conference:
        """Mark deleted at ``revision``; raises 404 (unknown or already deleted) or 409."""
        with self.lock:
            conference = self._conferences.get(conference_id)
            if conference is None:
                raise not_found(conference_id)
            if conference.status == "deleted":
                raise not_found(conference_id, outcome="deleted")
            if revision < conference.revision:
                raise stale_revision(conference_id, revision, conference.revision)
            conference.status = "deleted"
            conference.revision = revision
            conference.updated_at = self.now_text()
            return copy.deepcopy(conference)

    def set_join_url(self, conference_id: str, join_url: str) -> Conference:
        """Give a conference a new join URL (admin only; its revision is unchanged)."""
        with self.lock:
            conference = self._conferences.get(conference_id)
            if conference is None:
                raise not_found(conference_id)
            conference.join_url = join_url
            conference.updated_at = self.now_text()
            return copy.deepcopy(conference)

    # --- idempotency ------------------------------------------------------------------------

    def recall(self, scope: IdempotencyScope) -> StoredAnswer | None:
        with self.lock:
            answer = self._answers.get(scope)
            if answer is not None:
                self._answers.move_to_end(scope)
            return answer

    def remember(self, scope: IdempotencyScope, answer: StoredAnswer) -> None:
        with self.lock:
            self._answers[scope] = answer
            self._answers.move_to_end(scope)
            while len(self._answers) > IDEMPOTENCY_CAPACITY:
                self._answers.popitem(last=False)

    # --- request log ------------------------------------------------------------------------

    def log(self, entry: dict[str, Any]) -> None:
        with self.lock:
            self._log.append({"time": self.now_text(), **entry})

    def requests(self) -> list[dict[str, Any]]:
        with self.lock:
            return copy.deepcopy(self._log)

    def reset_requests(self) -> None:
        with self.lock:
            self._log.clear()

    def reset(self) -> None:
        """Forget every conference, idempotency key and logged request."""
        with self.lock:
            self._conferences.clear()
            self._answers.clear()
            self._log.clear()
