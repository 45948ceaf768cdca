"""The errors of :mod:`confsync.adapters.firestore_http`, sorted by what the store does with them.

::

    FirestoreError               any refusal or failure (the stores' StoreUnavailableError)
    ├── NotFoundError            NOT_FOUND: the document of an update or delete is missing
    ├── AlreadyExistsError       ALREADY_EXISTS: a create of a document that exists
    ├── FailedPreconditionError  FAILED_PRECONDITION: a write's precondition no longer holds
    ├── AbortedError             ABORTED: contention with another write or transaction
    └── UnavailableError         UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, INTERNAL,
                                 a 429 or 5xx, an unreachable server or no credentials

:func:`error_of` reads an HTTP answer's status and Google's JSON error body
(``{"error": {"code", "status", "message"}}``).
"""

from __future__ import annotations

import json

__all__ = [
    "AbortedError",
    "AlreadyExistsError",
    "FailedPreconditionError",
    "FirestoreError",
    "NotFoundError",
    "UnavailableError",
    "error_of",
]


class FirestoreError(Exception):
    """Firestore refused or failed a request; ``status`` is its canonical code name."""

    def __init__(self, message: str, status: str = "UNKNOWN", http_status: int = 0) -> None:
        super().__init__(message)
        self.status = status
        self.http_status = http_status


class NotFoundError(FirestoreError):
    """The document does not exist."""


class AlreadyExistsError(FirestoreError):
    """The document already exists."""


class FailedPreconditionError(FirestoreError):
    """The write's precondition (exists, update time) no longer holds."""


class AbortedError(FirestoreError):
    """The request lost to a concurrent one; trying again may succeed."""


class UnavailableError(FirestoreError):
    """Firestore could not be reached or answered in time; trying again may succeed."""


_BY_STATUS: dict[str, type[FirestoreError]] = {
    "NOT_FOUND": NotFoundError,
    "ALREADY_EXISTS": AlreadyExistsError,
    "FAILED_PRECONDITION": FailedPreconditionError,
    "ABORTED": AbortedError,
    "UNAVAILABLE": UnavailableError,
    "DEADLINE_EXCEEDED": UnavailableError,
    "RESOURCE_EXHAUSTED": UnavailableError,
    "INTERNAL": UnavailableError,
}
_BY_HTTP: dict[int, type[FirestoreError]] = {
    404: NotFoundError,
    409: AbortedError,
    429: UnavailableError,
}


def error_of(http_status: int, body: bytes, what: str) -> FirestoreError:
    """The error of an answer with ``http_status`` (not 2xx) and ``body``, for request ``what``."""
    status, message = "", body[:200].decode("utf-8", errors="replace")
    try:
        error = json.loads(body)
        if isinstance(error, list) and error:  # some answers are a one-element array
            error = error[0]
        details = error["error"]
        status, message = str(details.get("status", "")), str(details.get("message", ""))
    except (ValueError, KeyError, TypeError, AttributeError):
        pass
    kind = _BY_STATUS.get(status) or _BY_HTTP.get(http_status)
    if kind is None:
        kind = UnavailableError if http_status >= 500 else FirestoreError
    text = f"{what}: HTTP {http_status} {status or 'error'}: {message}"
    return kind(text, status or kind.__name__.upper(), http_status)
