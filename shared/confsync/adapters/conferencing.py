"""The conferencing system over HTTP: :class:`HttpConferenceProvider` (a ``ConferenceProvider``).

Speaks the contract in ``docs/conferencing-api.yaml``: ``PUT /v1/conferences/{id}`` with the
desired state, its ``revision`` and ``changedFields``; ``DELETE /v1/conferences/{id}?revision=N``;
``GET /v1/conferences/{id}`` to read a conference's ``owner`` (:meth:`owner_of`) or what it
holds (:meth:`held`: revision, status, calendar and event), and
``POST /v1/conferences:batchGet`` to read up to 100 owners at once (:meth:`owners_of`, contract
2.1.0, :mod:`confsync.adapters.conferencing_batch`). A conference id not of the form
:data:`~confsync.conference.CONFERENCE_ID_PATTERN` is refused with ProviderRejectedError before
anything is sent: it never reaches a URL path or a batch.
Every request carries a compact UTF-8 JSON body (PUT), ``Authorization: Bearer <credential>`` when
a credential is configured, an explicit ``Host`` header (the base URL's host and port as written,
in lower case), an ``Idempotency-Key`` derived from (method, conference id, revision) so a
redelivered operation is recognised as a repeat (PUT and DELETE; a GET changes nothing and
carries none), ``User-Agent: confsync/<version>``, and the ``X-Confsync-Timestamp`` /
``X-Confsync-Signature`` headers when signing secrets are configured: scheme ``v2`` over the
method, the request target exactly as urllib3 puts it on the wire, that ``Host``, that
``Idempotency-Key`` (empty for a GET) and the digest of the exact body bytes, one ``v2=`` value
per configured secret (several during a rotation, ``CONFERENCING_SIGNING_SECRET`` holding
``NEW,OLD``), see :mod:`confsync.signing`.

Every answer is classified here, and only here:

======================================  ==========================================================
answer                                  outcome
======================================  ==========================================================
2xx on PUT, body has joinUrl+revision   :class:`~confsync.ports.ProviderAnswer`
2xx on PUT, body unusable               ProviderRejectedError (contract violation: retrying the
                                        same request cannot repair the answer)
2xx on DELETE                           done (None), whatever the body
2xx on GET, ``owner`` string or null    the owner (None for null); ProviderGoneError when the
                                        body's ``status`` is ``deleted``
2xx on GET, body unusable               ProviderRejectedError (contract violation; an answer
                                        without ``owner`` is one: contract 1.1.0 requires it)
2xx on GET for :meth:`held`             :class:`~confsync.ports.HeldConference` (deleted ones
                                        too); ProviderRejectedError without a usable
                                        ``revision`` and ``status``
2xx on batchGet                         one outcome per id, as GET's (see
                                        :mod:`~confsync.adapters.conferencing_batch`)
404, 405, 410 or 501 on batchGet        the system has no batch read: the ids are read with one
                                        GET each, and so is every later batch of this provider
409 (``stale_revision``) on PUT/DELETE  ProviderStaleRevisionError
404 or 410 (any method)                 ProviderGoneError
401, 403                                ProviderAuthError (a ProviderUnavailableError), not
                                        retried here: the sync keeps the operation pending with
                                        backoff (a rotation or clock skew heals by itself)
429, 5xx                                retried here; then ProviderUnavailableError(retry_after)
timeout, connection or protocol error   retried here; then ProviderUnavailableError
any other status (400, 405, 409 on      ProviderRejectedError, never retried
GET, other 4xx, 1xx/3xx)
======================================  ==========================================================

A batch read (:meth:`owners_of`) never raises: a failure of the whole request (unavailable after
retries, 401/403, any other refusal, an unreadable answer) is the outcome of every id it carried.

Retries: at most ``max_attempts`` requests per operation. Between attempts the adapter sleeps for
the answer's ``Retry-After`` (seconds, or an HTTP date) when present, else a full-jitter
exponential backoff, ``uniform(0, min(max_delay, base_delay * 2 ** (attempt - 1)))``
(:class:`~confsync.adapters.backoff.Backoff`). A
``Retry-After`` longer than ``max_delay`` is not waited for: the adapter stops at once and raises
ProviderUnavailableError carrying ``retry_after``, so the runner records the operation as pending
and tries again later. Retries reuse the body and the ``Idempotency-Key``; the signature is
recomputed for each attempt (fresh timestamp).

A state without a title is sent with ``"title": ""``: the contract's ``title`` is a required
string, while Calendar events may have no summary.

Caps (docs/decisions/2026-12-03-input-size-caps.md), far above what a real meeting reaches: a
title (the series' or an occurrence's) over :data:`MAX_TITLE_CHARACTERS` is cut to that length,
ending in an ellipsis; more than :data:`MAX_ATTENDEES` attendees, or an address over
:data:`MAX_ADDRESS_CHARACTERS`, is ProviderRejectedError before anything is sent. An answer body
is read up to :data:`MAX_ANSWER_BYTES` only: a larger 2xx answer to a PUT or GET is unusable
(ProviderRejectedError, contract violation), a larger error answer is classified by its status
alone, a DELETE's 2xx needs no body.

Join URLs are vetted here, where the answer enters, so the sync only ever sees a URL it may write
into users' events, or None: ``https``, no user name or password, a host (compared without case
or a trailing dot) in ``join_url_hosts`` (``CONFSYNC_JOIN_URL_HOSTS``), at most
:data:`MAX_JOIN_URL_CHARACTERS` (Calendar's limit on an entry point's ``uri``), printable ASCII
without spaces. Any other join URL is answered as None (the update itself still counts as
applied) with one ERROR line naming the conference and why (the URL clipped). With
``join_url_hosts=None`` (write-back off: nothing is written) every join URL is None, silently.

The provider is safe to share between threads: its only shared state is a
``urllib3.PoolManager``. Logging (logger ``confsync.adapters.conferencing``) is one DEBUG line per
attempt with method, conference id, revision, status and duration. Credentials, secrets,
signatures and request bodies are never logged, and e-mail addresses in the system's error
messages are redacted before they reach an exception message.
"""

from __future__ import annotations

import email.utils
import hashlib
import json
import logging
import math
import re
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, TypeGuard
from urllib.parse import quote, urlsplit

import urllib3
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.util import parse_url

from confsync import __version__
from confsync.adapters.backoff import Backoff
from confsync.adapters.conferencing_batch import (
    BATCH_PATH,
    NO_BATCH_STATUSES,
    batch_body,
    decode_owners,
)
from confsync.conference import is_conference_id
from confsync.errors import (
    ProviderAuthError,
    ProviderGoneError,
    ProviderRejectedError,
    ProviderStaleRevisionError,
    ProviderUnavailableError,
)
from confsync.planner import DeleteConference, UpdateConference
from confsync.ports import MAX_OWNER_BATCH, HeldConference, OwnerLookup, ProviderAnswer
from confsync.signing import signed_headers

__all__ = [
    "IDEMPOTENCY_HEADER",
    "MAX_ADDRESS_CHARACTERS",
    "MAX_ANSWER_BYTES",
    "MAX_ATTENDEES",
    "MAX_JOIN_URL_CHARACTERS",
    "MAX_TITLE_CHARACTERS",
    "USER_AGENT",
    "HttpConferenceProvider",
    "idempotency_key",
]

_LOGGER = logging.getLogger(__name__)

IDEMPOTENCY_HEADER: Final = "Idempotency-Key"
USER_AGENT: Final = f"confsync/{__version__}"

_EMAIL: Final = re.compile(r"[^\s@\"'<>(),;:]+@[^\s@\"'<>(),;:]+")

MAX_TITLE_CHARACTERS: Final = 1024
"""A title (series or occurrence) longer than this is cut to this length, ending in an ellipsis."""
MAX_ATTENDEES: Final = 5000
"""More attendees than this: the update is refused before anything is sent."""
MAX_ADDRESS_CHARACTERS: Final = 254
"""The longest attendee address sent (RFC 5321's path limit less the brackets); longer: refused."""
MAX_ANSWER_BYTES: Final = 4 * 1024 * 1024
"""The most of an answer body that is read; a larger one is unusable (see the module docstring)."""
MAX_JOIN_URL_CHARACTERS: Final = 1300
"""The longest join URL passed on to the sync (Calendar's limit on an entry point's ``uri``)."""
_ELLIPSIS: Final = "\u2026"
_URL_SHOWN: Final = 120  # characters of a refused join URL in the log line
_MAX_DETAIL: Final = 200
_MAX_ID_SHOWN: Final = 80  # characters of a refused conference id shown in an error message


def idempotency_key(method: str, conference_id: str, revision: int) -> str:
    """The ``Idempotency-Key`` of one operation: the same for every retry and redelivery of it.

    A digest keeps the key short (the contract allows 255 characters) whatever the id looks like.
    """
    material = f"{method.upper()}\n{conference_id}\n{revision}".encode()
    return "confsync-" + hashlib.sha256(material).hexdigest()[:40]


@dataclass(frozen=True, slots=True)
class _Request:
    method: str
    url: str
    target: str  # the request target urllib3 sends for ``url``: what the signature covers
    conference_id: str
    revision: int | None  # None: a read (GET), which has no revision
    body: bytes
    key: str  # the Idempotency-Key; empty: none is sent (GET)

    @property
    def what(self) -> str:
        """The request, for messages: method, conference id and revision (when there is one)."""
        shown = f"{self.method} {self.conference_id}"
        return shown if self.revision is None else f"{shown} revision {self.revision}"


@dataclass(frozen=True, slots=True)
class _Answer:
    status: int
    body: bytes
    retry_after: float | None
    oversize: bool = False  # the body was larger than MAX_ANSWER_BYTES: ``body`` is empty


class _RetryableError(Exception):
    """An attempt failed in a way worth retrying (internal to this module)."""

    def __init__(self, message: str, retry_after: float | None) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after


class HttpConferenceProvider:
    """The conferencing system reached over HTTP (see the module docstring for the rules)."""

    def __init__(
        self,
        base_url: str,
        *,
        credential: str | None,
        signing_secrets: Sequence[bytes],
        timeout: float = 5.0,
        max_attempts: int = 3,
        base_delay: float = 0.2,
        max_delay: float = 5.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        pool: urllib3.PoolManager | None = None,
        join_url_hosts: Collection[str] | None,
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("base_url must be an absolute http(s) URL")
        if parts.query or parts.fragment:
            raise ValueError("base_url must not have a query or fragment")
        _check_options(
            credential,
            signing_secrets,
            timeout=timeout,
            max_attempts=max_attempts,
            base_delay=base_delay,
            max_delay=max_delay,
        )
        self._join_url_hosts = (
            None if join_url_hosts is None else frozenset(_host(h) for h in join_url_hosts)
        )
        self._base_url = base_url.rstrip("/")
        self._credential = credential
        self._secrets = tuple(signing_secrets)  # empty: requests are not signed
        self._host = parts.netloc.rpartition("@")[2].lower()  # the Host header sent and signed
        self._timeout = urllib3.Timeout(connect=timeout, read=timeout)
        self._max_attempts = max_attempts
        self._max_delay = max_delay
        self._backoff = Backoff(base_delay, max_delay, sleep=sleep)
        self._clock = clock
        self._owns_pool = pool is None
        self._pool = pool if pool is not None else urllib3.PoolManager(num_pools=4, maxsize=16)
        self._batch_read = True  # False once the system answered that it has none

    def __repr__(self) -> str:
        return f"HttpConferenceProvider({self._base_url!r})"

    def close(self) -> None:
        """Close the connections of the pool this provider created (not of one passed in)."""
        if self._owns_pool:
            self._pool.clear()

    # --- the port -------------------------------------------------------------------------

    def update(self, op: UpdateConference) -> ProviderAnswer:
        """``PUT`` the desired state at ``op.revision``; the system's join URL and revision."""
        payload: dict[str, Any] = op.state.to_wire()
        payload["title"] = _capped_title(payload.get("title") or "")
        for occurrence in payload["modifiedOccurrences"]:
            if occurrence.get("title") is not None:
                occurrence["title"] = _capped_title(occurrence["title"])
        _check_attendees(op.conference_id, payload["attendees"])
        payload["revision"] = op.revision
        payload["changedFields"] = list(op.changed_fields)
        body = json.dumps(
            payload, separators=(",", ":"), ensure_ascii=False, allow_nan=False
        ).encode("utf-8")
        request = self._request("PUT", op.conference_id, op.revision, body, query="")
        answer = self._send(request)
        return _provider_answer(request, answer, self._join_url_hosts)

    def delete(self, op: DeleteConference) -> None:
        """``DELETE`` the conference at ``op.revision``."""
        request = self._request(
            "DELETE", op.conference_id, op.revision, b"", query=f"?revision={op.revision}"
        )
        self._send(request)

    def held(self, conference_id: str) -> HeldConference:
        """``GET`` the conference; its revision, status, calendar and event."""
        request = self._request("GET", conference_id, None, b"", query="")
        return _held(request, self._send(request))

    def owner_of(self, conference_id: str) -> str | None:
        """``GET`` the conference; its ``owner`` (None when it has none)."""
        request = self._request("GET", conference_id, None, b"", query="")
        answer = self._send(request)
        return _owner(request, answer)

    def owners_of(self, conference_ids: Sequence[str]) -> dict[str, OwnerLookup]:
        """The owners of up to 100 conferences: one ``POST /v1/conferences:batchGet``, or one
        ``GET`` each once the system has shown it has no batch read; never raises a provider
        error (each id's outcome is in the mapping)."""
        found, asked = _sendable(conference_ids)
        batch = self._batch(asked) if asked and self._batch_read else None
        if batch is None:
            batch = {name: self._owner_or_error(name) for name in asked}
        return found | batch

    def _batch(self, asked: list[str]) -> dict[str, OwnerLookup] | None:
        """The outcome of every id of one batch read; None when the system has none."""
        url = self._base_url + BATCH_PATH
        request = _Request(
            method="POST",
            url=url,
            target=parse_url(url).request_uri,
            conference_id=f"batchGet of {len(asked)}",
            revision=None,
            body=batch_body(asked),
            key="",
        )
        try:
            answer = self._send(request, passthrough=NO_BATCH_STATUSES)
            if answer.status in NO_BATCH_STATUSES:
                self._batch_read = False
                _LOGGER.info(
                    "the conferencing system has no batch read (HTTP %d on %s): owners are read "
                    "with one GET each from now on",
                    answer.status,
                    BATCH_PATH,
                )
                return None
            _refuse_oversize(request, answer)
            return decode_owners(request.what, asked, answer.body)
        except (ProviderUnavailableError, ProviderRejectedError, ProviderGoneError) as err:
            return dict.fromkeys(asked, err)

    def _owner_or_error(self, conference_id: str) -> OwnerLookup:
        try:
            return self.owner_of(conference_id)
        except (ProviderGoneError, ProviderUnavailableError, ProviderRejectedError) as err:
            return err

    # --- plumbing -------------------------------------------------------------------------

    def _request(
        self, method: str, conference_id: str, revision: int | None, body: bytes, *, query: str
    ) -> _Request:
        refused = _id_refused(method, conference_id)
        if refused is not None:
            raise refused
        if revision is None:
            if method != "GET":
                raise ProviderRejectedError(f"{method} {conference_id}: a revision is required")
        elif isinstance(revision, bool) or not isinstance(revision, int) or revision < 0:
            raise ProviderRejectedError(
                f"{method} {conference_id}: revision must be a non-negative integer"
            )
        url = self._base_url + "/v1/conferences/" + quote(conference_id, safe="") + query
        return _Request(
            method=method,
            url=url,
            # urllib3 sends ``parse_url(url).request_uri`` (after its own normalisation), so that
            # is what gets signed, byte for byte.
            target=parse_url(url).request_uri,
            conference_id=conference_id,
            revision=revision,
            body=body,
            key="" if revision is None else idempotency_key(method, conference_id, revision),
        )

    def _headers(self, request: _Request) -> dict[str, str]:
        headers = {"Accept": "application/json", "Host": self._host, "User-Agent": USER_AGENT}
        if request.key:
            headers[IDEMPOTENCY_HEADER] = request.key
        if request.body:
            headers["Content-Type"] = "application/json; charset=utf-8"
        if self._credential is not None:
            headers["Authorization"] = f"Bearer {self._credential}"
        if self._secrets:
            headers.update(
                signed_headers(
                    self._secrets,
                    request.body,
                    method=request.method,
                    target=request.target,
                    host=self._host,
                    idempotency_key=request.key,
                    now=self._clock(),
                )
            )
        return headers

    def _send(self, request: _Request, passthrough: Collection[int] = ()) -> _Answer:
        """Send with retries; the first non-retryable answer (raises for every error status but
        those of ``passthrough``, which are answered as they are, never retried)."""
        attempt = 1
        while True:
            try:
                answer = self._attempt(request, attempt)
                return answer if answer.status in passthrough else _classify(request, answer)
            except _RetryableError as failure:
                if failure.retry_after is not None and failure.retry_after > self._max_delay:
                    raise ProviderUnavailableError(
                        f"{failure.message}; Retry-After {failure.retry_after:g} s exceeds the "
                        f"{self._max_delay:g} s this adapter waits",
                        retry_after=failure.retry_after,
                    ) from failure
                if attempt >= self._max_attempts:
                    raise ProviderUnavailableError(
                        f"{failure.message} (gave up after {attempt} attempts)",
                        retry_after=failure.retry_after,
                    ) from failure
                self._backoff.wait(attempt, failure.retry_after)
                attempt += 1

    def _attempt(self, request: _Request, attempt: int) -> _Answer:
        started = time.monotonic()
        status: int | str = "error"
        try:
            response = self._pool.request(
                request.method,
                request.url,
                body=request.body or None,
                headers=self._headers(request),
                timeout=self._timeout,
                retries=False,
                redirect=False,
                preload_content=False,
            )
            status = response.status
            body, oversize = _read_capped(response)
            return _Answer(
                status=response.status,
                body=body,
                retry_after=_retry_after(response.headers.get("Retry-After"), self._clock),
                oversize=oversize,
            )
        except Urllib3Error as error:
            status = type(error).__name__
            raise _RetryableError(
                f"{request.what}: {type(error).__name__} reaching the conferencing system",
                retry_after=None,
            ) from error
        finally:
            _LOGGER.debug(
                "conferencing %s %s revision=%s attempt=%d status=%s duration_ms=%.1f",
                request.method,
                request.conference_id,
                request.revision,
                attempt,
                status,
                (time.monotonic() - started) * 1000,
            )


def _sendable(conference_ids: Sequence[str]) -> tuple[dict[str, OwnerLookup], list[str]]:
    """The refusals of the ids no system could take, and the other ids (each once) to send."""
    ids = list(dict.fromkeys(conference_ids))
    if len(ids) > MAX_OWNER_BATCH:
        raise ValueError(f"at most {MAX_OWNER_BATCH} conference ids per batch read")
    refused: dict[str, OwnerLookup] = {
        name: err for name in ids if (err := _id_refused("POST", name)) is not None
    }
    return refused, [name for name in ids if name not in refused]


def _check_options(
    credential: str | None,
    signing_secrets: Sequence[bytes],
    *,
    timeout: float,
    max_attempts: int,
    base_delay: float,
    max_delay: float,
) -> None:
    """ValueError for a provider option no request could work with."""
    if credential is not None and (
        not credential or not credential.isascii() or not credential.isprintable()
    ):
        raise ValueError("credential must be non-empty printable ASCII")
    if not all(signing_secrets):
        raise ValueError("a signing secret must not be empty (pass none to disable signing)")
    if timeout <= 0 or not math.isfinite(timeout):
        raise ValueError("timeout must be a positive number of seconds")
    if max_attempts < 1:
        raise ValueError("max_attempts must be at least 1")
    if base_delay < 0 or max_delay < 0:
        raise ValueError("base_delay and max_delay must not be negative")


# --- classification (the one place statuses become errors) ----------------------------------


def _id_refused(method: str, conference_id: str) -> ProviderRejectedError | None:
    """The refusal of an id no system could take (never sent), or None when it may be sent."""
    if is_conference_id(conference_id):
        return None
    shown = str(conference_id)
    if len(shown) > _MAX_ID_SHOWN:
        shown = shown[:_MAX_ID_SHOWN] + "..."
    return ProviderRejectedError(
        f"{method}: conference id {shown!r} is not 1 to 128 of A-Z a-z 0-9 _ - (nothing sent)"
    )


def _classify(request: _Request, answer: _Answer) -> _Answer:
    """Return a 2xx answer; raise the matching error (or :class:`_RetryableError`) for the rest."""
    status = answer.status
    if 200 <= status < 300:
        return answer
    detail = f"{request.what}: HTTP {status}{_error_detail(answer.body)}"
    if status == 429 or 500 <= status < 600:
        raise _RetryableError(detail, retry_after=answer.retry_after)
    if status == 409 and request.revision is not None:
        raise ProviderStaleRevisionError(detail)
    if status in (404, 410):
        raise ProviderGoneError(detail)
    if status in (401, 403):
        raise ProviderAuthError(f"{detail}: credential or signature refused")
    raise ProviderRejectedError(detail)


def _json_object(answer: _Answer) -> Mapping[str, Any] | None:
    try:
        body = json.loads(answer.body)
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: nested too deep
        return None
    return body if isinstance(body, Mapping) else None


def _provider_answer(
    request: _Request, answer: _Answer, hosts: frozenset[str] | None
) -> ProviderAnswer:
    _refuse_oversize(request, answer)
    body = _json_object(answer)
    if body is not None:
        join_url = body.get("joinUrl")
        revision = body.get("revision")
        if isinstance(join_url, str) and join_url and _is_int(revision):
            return ProviderAnswer(join_url=_vetted(request, join_url, hosts), revision=revision)
    raise ProviderRejectedError(
        f"{request.what}: HTTP {answer.status} without a usable joinUrl and revision "
        "(contract violation)"
    )


def _owner(request: _Request, answer: _Answer) -> str | None:
    """The ``owner`` of a GET answer: a non-empty string, or None for null; a deleted conference
    is gone. Anything else (no JSON object, ``owner`` absent or of another type) violates the
    contract, which a retry cannot repair."""
    _refuse_oversize(request, answer)
    body = _json_object(answer)
    if body is not None and body.get("status") == "deleted":
        raise ProviderGoneError(f"{request.what}: HTTP {answer.status}, the conference is deleted")
    if body is not None and "owner" in body:
        owner = body["owner"]
        if owner is None or (isinstance(owner, str) and owner):
            return owner
    raise ProviderRejectedError(
        f"{request.what}: HTTP {answer.status} without a usable owner (contract violation)"
    )


def _held(request: _Request, answer: _Answer) -> HeldConference:
    """What a GET answer says the system holds: ``revision`` (a non-negative integer) and
    ``status`` (``active`` or ``deleted``) are required; ``calendarId`` and ``eventId`` are
    kept when they are non-empty strings (None otherwise: they say nothing then)."""
    _refuse_oversize(request, answer)
    body = _json_object(answer)
    if body is not None:
        revision = body.get("revision")
        status = body.get("status")
        if _is_int(revision) and revision >= 0 and status in ("active", "deleted"):
            return HeldConference(
                revision=revision,
                deleted=status == "deleted",
                calendar_id=_text(body.get("calendarId")),
                event_id=_text(body.get("eventId")),
            )
    raise ProviderRejectedError(
        f"{request.what}: HTTP {answer.status} without a usable revision and status "
        "(contract violation)"
    )


def _is_int(value: Any) -> TypeGuard[int]:
    """A JSON integer (``true`` and ``false`` are not)."""
    return isinstance(value, int) and not isinstance(value, bool)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _error_detail(raw: bytes) -> str:
    """`` (code, field: message)`` from a contract error body, e-mail addresses redacted."""
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: nested too deep
        return ""
    error = body.get("error") if isinstance(body, Mapping) else None
    if not isinstance(error, Mapping):
        return ""
    parts = [str(error[name]) for name in ("code", "field") if isinstance(error.get(name), str)]
    message = error.get("message")
    text = ", ".join(parts)
    if isinstance(message, str) and message:
        redacted = _EMAIL.sub("<email>", message)
        if len(redacted) > _MAX_DETAIL:
            redacted = redacted[:_MAX_DETAIL] + "..."
        text = f"{text}: {redacted}" if text else redacted
    return f" ({text})" if text else ""


_RETRY_AFTER_DIGITS = 12
_RETRY_AFTER_FOREVER = 1e12  # seconds: finite (a timedelta takes it), beyond any delay we wait


def _retry_after(value: str | None, clock: Callable[[], float]) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (delta-seconds or HTTP date), or None."""
    if value is None:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():  # more digits than a float holds: "for ages"
        return float(int(value)) if len(value) <= _RETRY_AFTER_DIGITS else _RETRY_AFTER_FOREVER
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - clock())


# --- caps and join URLs ------------------------------------------------------------------------


def _read_capped(response: urllib3.BaseHTTPResponse) -> tuple[bytes, bool]:
    """The body, read up to MAX_ANSWER_BYTES; (b"", True) when it is larger (the connection is
    then closed, never drained)."""
    try:
        # ``data``: a response whose body is already in memory (a pool that preloads) reads None
        body = response.read(MAX_ANSWER_BYTES + 1) or response.data or b""
        if len(body) > MAX_ANSWER_BYTES:
            response.close()
            return b"", True
        response.drain_conn()
        return body, False
    finally:
        response.release_conn()


def _refuse_oversize(request: _Request, answer: _Answer) -> None:
    if answer.oversize:
        raise ProviderRejectedError(
            f"{request.what}: HTTP {answer.status} with a body larger than {MAX_ANSWER_BYTES} "
            "bytes (contract violation)"
        )


def _capped_title(title: str) -> str:
    if len(title) <= MAX_TITLE_CHARACTERS:
        return title
    return title[: MAX_TITLE_CHARACTERS - 1] + _ELLIPSIS


def _check_attendees(conference_id: str, attendees: list[str]) -> None:
    if len(attendees) > MAX_ATTENDEES:
        raise ProviderRejectedError(
            f"PUT {conference_id}: {len(attendees)} attendees, more than the {MAX_ATTENDEES} "
            "sent (nothing sent)"
        )
    if any(len(address) > MAX_ADDRESS_CHARACTERS for address in attendees):
        raise ProviderRejectedError(
            f"PUT {conference_id}: an attendee address is longer than {MAX_ADDRESS_CHARACTERS} "
            "characters (nothing sent)"
        )


def _host(name: str) -> str:
    """A host name as compared: lower case, without a trailing dot."""
    return name.strip().lower().rstrip(".")


def _join_url_problem(join_url: str, hosts: frozenset[str]) -> str | None:
    """Why ``join_url`` may not be written into an event, or None when it may."""
    if len(join_url) > MAX_JOIN_URL_CHARACTERS:
        return f"longer than {MAX_JOIN_URL_CHARACTERS} characters"
    if not (join_url.isascii() and join_url.isprintable()) or " " in join_url:
        return "not printable ASCII without spaces"
    try:
        parts = urlsplit(join_url)
        host = _host(parts.hostname or "")
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        return "not a URL"
    problems = (
        (parts.scheme != "https", "not https"),
        ("@" in parts.netloc, "carries a user name"),
        (host not in hosts, "its host is not in CONFSYNC_JOIN_URL_HOSTS"),
    )
    return next((problem for failed, problem in problems if failed), None)


_USERINFO = re.compile(r"//[^/?#]*@")


def _vetted(request: _Request, join_url: str, hosts: frozenset[str] | None) -> str | None:
    """``join_url`` when it may be written into users' events; else None, logged once."""
    if hosts is None:
        return None
    problem = _join_url_problem(join_url, hosts)
    if problem is None:
        return join_url
    shown = _USERINFO.sub("//<user>@", join_url)  # a user name or password is never logged
    shown = shown if len(shown) <= _URL_SHOWN else shown[:_URL_SHOWN] + "..."
    _LOGGER.error(
        "%s: the conferencing system answered a join URL that is never written to events (%s): %r",
        request.what,
        problem,
        shown,
    )
    return None
