"""The ``/v1`` handlers: authentication, signatures, faults, idempotency and the operations.

Order of checks for every ``/v1`` request: bearer credential (when configured), signature (when
configured: scheme ``v2`` over the method, the raw request target (see :func:`request_target`), the
``Host`` and ``Idempotency-Key`` headers as received and the body; a request is accepted when any
of its ``v2=`` values verifies under any of the emulator's secrets; ``v1`` values are ignored),
fault rules, then the remembered answer of a repeated ``Idempotency-Key`` (not for the batch
read, which changes nothing), then the operation itself. PUT and DELETE requests are recorded in
the request log whatever happens.
"""

from __future__ import annotations

import hmac
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import quote

from werkzeug.wrappers import Request, Response

from . import signing
from .batch import parse_batch_get
from .errors import ApiError, ValidationError, bad_signature, not_found, unauthenticated
from .faults import FaultBook, fault_error
from .model import parse_create, parse_put, parse_revision_param
from .store import Store, StoredAnswer

__all__ = ["IDEMPOTENCY_HEADER", "Api", "json_response", "request_target"]

IDEMPOTENCY_HEADER: Final = "Idempotency-Key"
_IDEMPOTENT_METHODS: Final = ("POST", "PUT", "DELETE")
_LOGGED_METHODS: Final = ("PUT", "DELETE")


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(
        json.dumps(body), status=status, headers=headers, content_type="application/json"
    )


def _error_outcome(error: ApiError) -> str:
    if error.outcome is not None:
        return error.outcome
    return "rejected"


@dataclass(frozen=True)
class _Answer:
    status: int
    body: dict[str, Any]
    outcome: str
    headers: dict[str, str]

    @classmethod
    def of_error(cls, error: ApiError) -> _Answer:
        return cls(error.status, error.body(), _error_outcome(error), dict(error.headers))


def request_target(request: Request) -> str:
    """The request target (path and ``?query``) as the client sent it, for signature checks.

    The signature covers the target exactly as sent on the wire, so the raw form is used when the
    server provides it: ``RAW_URI`` (werkzeug's server, gunicorn) or ``REQUEST_URI`` (werkzeug,
    mod_wsgi, uWSGI). WSGI carries both as latin-1-decoded bytes, which leaves an ASCII target
    unchanged. Only when neither is present is the target rebuilt from the decoded ``PATH_INFO``
    (percent-encoded again, ``/`` left as is) and the raw ``QUERY_STRING``; that rebuild cannot
    restore an encoded ``/`` or unusual encodings, so such requests then fail verification (they
    are refused, never wrongly accepted).
    """
    environ = request.environ
    for key in ("RAW_URI", "REQUEST_URI"):
        raw = environ.get(key)
        if isinstance(raw, str) and raw:
            return raw
    path = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
    target = quote(path.encode("latin-1"), safe="/")
    query = environ.get("QUERY_STRING", "")
    return f"{target}?{query}" if query else target


def _json_body(request: Request, *, empty_as_object: bool) -> Any:
    raw = request.get_data(cache=True)
    if not raw.strip():
        if empty_as_object:
            return {}
        raise ValidationError("body", "a JSON object is required")
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise ValidationError("body", "is not valid JSON") from None


class Api:
    """Serves ``/v1/conferences`` over a :class:`Store` and a :class:`FaultBook`."""

    def __init__(
        self,
        store: Store,
        faults: FaultBook,
        *,
        credential: str | None,
        signing_secrets: tuple[bytes, ...],
        stopping: threading.Event,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._faults = faults
        self._credential = credential
        self._secrets = signing_secrets  # empty: signatures are not checked
        self._stopping = stopping
        self._clock = clock

    # --- entry point --------------------------------------------------------------------------

    def handle(self, request: Request, endpoint: str, conference_id: str | None) -> Response:
        method = request.method
        try:
            self._authenticate(request)
        except ApiError as error:
            return self._finish(request, conference_id, _Answer.of_error(error))
        hit = self._faults.match(method, conference_id)
        if hit is not None:
            if hit.delay_ms:
                self._stopping.wait(hit.delay_ms / 1000)
            if hit.status is not None:
                return self._finish(request, conference_id, _Answer.of_error(fault_error(hit)))
        key = None
        if method in _IDEMPOTENT_METHODS and endpoint != "batch_get":
            key = request.headers.get(IDEMPOTENCY_HEADER)
        with self._store.lock:
            if key:
                remembered = self._store.recall((method, request.path, key))
                if remembered is not None:
                    answer = _Answer(remembered.status, remembered.body, "repeat", {})
                    return self._finish(request, conference_id, answer, replay=True)
            answer = self._run(request, endpoint, conference_id)
            if key:
                self._store.remember(
                    (method, request.path, key),
                    StoredAnswer(answer.status, answer.body, answer.outcome),
                )
            return self._finish(request, conference_id, answer)

    def _run(self, request: Request, endpoint: str, conference_id: str | None) -> _Answer:
        try:
            if endpoint == "create":
                create = parse_create(_json_body(request, empty_as_object=True))
                created = self._store.create(create.state, owner=create.owner)
                return _Answer(201, created.to_json(), "applied", {})
            if endpoint == "batch_get":
                ids = parse_batch_get(_json_body(request, empty_as_object=False))
                known, missing = self._store.summaries(ids)
                return _Answer(200, {"conferences": known, "missing": missing}, "read", {})
            assert conference_id is not None
            if endpoint == "get":
                found = self._store.get(conference_id)
                if found is None:
                    raise not_found(conference_id)
                return _Answer(200, found.to_json(), "applied", {})
            if endpoint == "put":
                put = parse_put(_json_body(request, empty_as_object=False))
                outcome, conference = self._store.put(conference_id, put)
                return _Answer(200, conference.to_json(), outcome, {})
            if endpoint == "delete":
                revision = parse_revision_param(request.args.get("revision"))
                deleted = self._store.delete(conference_id, revision)
                return _Answer(200, deleted.to_json(), "applied", {})
            raise AssertionError(f"unknown endpoint {endpoint}")
        except ApiError as error:
            return _Answer.of_error(error)

    # --- checks -------------------------------------------------------------------------------

    def _authenticate(self, request: Request) -> None:
        if self._credential is not None:
            scheme, _, token = request.headers.get("Authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise unauthenticated("an Authorization: Bearer credential is required")
            if not hmac.compare_digest(token.strip().encode(), self._credential.encode()):
                raise unauthenticated("the bearer credential is not valid")
        if self._secrets:
            timestamp = request.headers.get(signing.TIMESTAMP_HEADER)
            signature = request.headers.get(signing.SIGNATURE_HEADER)
            if not timestamp or not signature:
                raise bad_signature(
                    f"{signing.TIMESTAMP_HEADER} and {signing.SIGNATURE_HEADER} are required"
                )
            body = request.get_data(cache=True)
            if not signing.verify(
                self._secrets,
                timestamp,
                signature,
                body,
                method=request.method,
                target=request_target(request),
                host=request.headers.get("Host"),
                idempotency_key=request.headers.get(IDEMPOTENCY_HEADER),
                now=self._clock(),
            ):
                raise bad_signature(
                    f"no {signing.SCHEME}= signature matches the method, request target, Host, "
                    "Idempotency-Key and body, or the timestamp is more than "
                    f"{signing.TOLERANCE_SECONDS} s away from the server's clock"
                )

    # --- answer and log -----------------------------------------------------------------------

    def _finish(
        self,
        request: Request,
        conference_id: str | None,
        answer: _Answer,
        *,
        replay: bool = False,
    ) -> Response:
        if request.method in _LOGGED_METHODS and conference_id is not None:
            revision, changed = _log_details(request)
            self._store.log(
                {
                    "method": request.method,
                    "conferenceId": conference_id,
                    "revision": revision,
                    "status": answer.status,
                    "outcome": answer.outcome,
                    "changedFields": changed,
                    "idempotencyKey": request.headers.get(IDEMPOTENCY_HEADER),
                    "idempotentReplay": replay,
                }
            )
        return json_response(answer.status, answer.body, answer.headers)


def _log_details(request: Request) -> tuple[int | None, list[Any] | None]:
    """Best-effort ``revision`` and ``changedFields`` of a PUT or DELETE, for the log."""
    if request.method == "DELETE":
        value = request.args.get("revision", "")
        return (int(value) if value.isascii() and value.isdigit() else None), None
    try:
        body = json.loads(request.get_data(cache=True))
    except (ValueError, UnicodeDecodeError):
        return None, None
    if not isinstance(body, dict):
        return None, None
    revision = body.get("revision")
    if isinstance(revision, bool) or not isinstance(revision, int):
        revision = None
    changed = body.get("changedFields")
    return revision, changed if isinstance(changed, list) else None
