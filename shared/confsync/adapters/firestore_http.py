"""A small Firestore client over the REST API (JSON on a urllib3 pool), shaped like the part of
google-cloud-firestore the stores use, so a store moves to it by changing its imports.

Importing google-cloud-firestore loads grpc, google-api-core, proto-plus and the protobuf types
of every Firestore message: most of the sync and channels functions' cold start. The stores send
five requests: ``batchGet`` (document reads, one or many), ``commit`` (every write: set, merge,
update with a precondition and transforms, delete), ``runQuery`` (filters, orderings, a limit and
a ``start_after`` cursor), and neither transactions nor listeners. See
``docs/decisions/2026-12-04-firestore-over-rest.md``.

Surface: :class:`Client` (``collection``, ``get_all``, ``batch``, ``write_option``),
:class:`CollectionReference` (``document`` and the :class:`~.firestore_query.Query` methods),
:class:`DocumentReference` (``get``, ``set``, ``update``, ``delete``), :class:`DocumentSnapshot`
(``exists``, ``id``, ``reference``, ``to_dict()``, ``update_time``), :class:`WriteBatch` and
:class:`WriteResult` (``update_time``, ``transform_results`` as Python values). Values are
coded by :mod:`.firestore_values`, writes built by :mod:`.firestore_fields`, failures are the
errors of :mod:`.firestore_errors`.

Reads (``batchGet``, ``runQuery``) are retried at once on 429, 5xx and connection failures, up to
three attempts in all; a commit is sent once (a retried increment could count twice), its
failure is for the caller, as the library's non-retried errors are. Every request calls the
client's ``on_request`` hooks first (the stores count round trips there); every read calls its
``on_read`` hooks with the reads Firestore bills for it (one per document a get asks for or a
query returns, one for a query that returns none).

Where requests go (:meth:`Client.from_environment`): ``FIRESTORE_EMULATOR_HOST`` set, the
emulator over plain HTTP as its owner (``Authorization: Bearer owner``); on Cloud Functions
(``K_SERVICE``, no ``GOOGLE_APPLICATION_CREDENTIALS``) the runtime service account's token from
the metadata server (:mod:`.metadata_token`); else google-auth's application default credentials.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import urllib3
from google.auth.exceptions import GoogleAuthError

from confsync.adapters.firestore_errors import FirestoreError, UnavailableError, error_of
from confsync.adapters.firestore_fields import (
    Precondition,
    delete_write,
    set_write,
    update_write,
)
from confsync.adapters.firestore_query import ASCENDING, FieldFilter, Query
from confsync.adapters.firestore_values import Timestamp, decode_fields, parse_timestamp

__all__ = [
    "DATASTORE_SCOPE",
    "Client",
    "CollectionReference",
    "DocumentReference",
    "DocumentSnapshot",
    "WriteBatch",
    "WriteResult",
]

DATASTORE_SCOPE = "https://www.googleapis.com/auth/datastore"
_ENDPOINT = "https://firestore.googleapis.com"
_RETRIED_STATUSES = frozenset({429, 500, 502, 503, 504})
_READ_ATTEMPTS = 3
_POOL_SIZE = 8  # connections kept: the stores send up to four requests of one call at once
_TIMEOUT = urllib3.Timeout(connect=10.0, read=60.0)


@dataclass(frozen=True, slots=True)
class WriteResult:
    """One write's outcome: the document's new ``update_time`` (None for a delete) and the
    results of its transforms, in order, as Python values."""

    update_time: Timestamp | None
    transform_results: list[Any] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class DocumentSnapshot:
    """A document as read (``exists`` False: there is none)."""

    reference: DocumentReference
    exists: bool
    _fields: Mapping[str, Any] | None = None
    update_time: Timestamp | None = None
    create_time: Timestamp | None = None

    @property
    def id(self) -> str:
        return self.reference.id

    def to_dict(self) -> dict[str, Any] | None:
        """The document's fields (a fresh copy at the top level), None when it does not exist."""
        return dict(self._fields) if self.exists and self._fields is not None else None


class DocumentReference:
    """Document ``id`` of a top-level collection."""

    def __init__(self, collection: CollectionReference, document_id: str) -> None:
        if not document_id or "/" in document_id:
            raise ValueError(f"not a document id: {document_id!r}")
        self.parent = collection
        self.id = document_id

    @property
    def path(self) -> str:
        return f"{self.parent.id}/{self.id}"

    @property
    def name(self) -> str:
        """The full resource name (``projects/.../documents/<collection>/<id>``)."""
        return f"{self.parent.client.documents}/{self.path}"

    _document_path = name  # the library's name for it

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DocumentReference) and other.name == self.name

    def __hash__(self) -> int:
        return hash(self.name)

    def __repr__(self) -> str:
        return f"DocumentReference({self.path!r})"

    def get(self) -> DocumentSnapshot:
        return next(iter(self.parent.client.get_all([self])))

    def set(self, data: Mapping[str, Any], *, merge: bool = False) -> WriteResult:
        return self.parent.client.commit([set_write(self.name, data, merge=merge)])[0]

    def update(
        self, fields: Mapping[str, Any], *, option: Precondition | None = None
    ) -> WriteResult:
        return self.parent.client.commit([update_write(self.name, fields, option)])[0]

    def delete(self, *, option: Precondition | None = None) -> WriteResult:
        return self.parent.client.commit([delete_write(self.name, option)])[0]


class CollectionReference:
    """A top-level collection: its documents, and the queries of them (:class:`Query`)."""

    def __init__(self, client: Client, collection_id: str) -> None:
        if not collection_id or "/" in collection_id:
            raise ValueError(f"not a collection id: {collection_id!r}")
        self.client = client
        self.id = collection_id

    def document(self, document_id: str) -> DocumentReference:
        return DocumentReference(self, document_id)

    def where(self, *, filter: FieldFilter) -> Query:
        return Query(self).where(filter=filter)

    def order_by(self, path: str, direction: str = ASCENDING) -> Query:
        return Query(self).order_by(path, direction)

    def limit(self, count: int) -> Query:
        return Query(self).limit(count)

    def stream(self) -> Iterator[DocumentSnapshot]:
        return Query(self).stream()


class WriteBatch:
    """Writes committed together, atomically, by :meth:`commit` (at most 500)."""

    def __init__(self, client: Client) -> None:
        self._client = client
        self._writes: list[dict[str, Any]] = []

    def __len__(self) -> int:
        return len(self._writes)

    def set(self, ref: DocumentReference, data: Mapping[str, Any], *, merge: bool = False) -> None:
        self._writes.append(set_write(ref.name, data, merge=merge))

    def update(
        self,
        ref: DocumentReference,
        fields: Mapping[str, Any],
        *,
        option: Precondition | None = None,
    ) -> None:
        self._writes.append(update_write(ref.name, fields, option))

    def delete(self, ref: DocumentReference, *, option: Precondition | None = None) -> None:
        self._writes.append(delete_write(ref.name, option))

    def add_write(self, write: Mapping[str, Any]) -> None:
        """Add a prepared JSON ``Write`` (e.g. from :mod:`.firestore_writes`)."""
        self._writes.append(dict(write))

    def commit(self) -> list[WriteResult]:
        return self._client.commit(self._writes) if self._writes else []


class Client:
    """Requests to the documents of ``database`` in ``project`` through ``http`` (anything
    with urllib3's ``request``, authorising them as needed) at ``endpoint``."""

    def __init__(
        self,
        project: str,
        database: str = "(default)",
        *,
        http: Any,
        endpoint: str = _ENDPOINT,
    ) -> None:
        self.project = project
        self.database = database
        self.documents = f"projects/{project}/databases/{database}/documents"
        self._http = http
        self._base = f"{endpoint.rstrip('/')}/v1/{self.documents}"
        self.on_request: list[Callable[[], None]] = []
        self.on_read: list[Callable[[int], None]] = []

    @classmethod
    def from_environment(
        cls, project: str, database: str = "(default)", env: Mapping[str, str] | None = None
    ) -> Client:
        """The client for where the process runs (see the module's docstring); nothing is
        fetched until the first request."""
        values = os.environ if env is None else env
        pool = urllib3.PoolManager(maxsize=_POOL_SIZE)
        if emulator := values.get("FIRESTORE_EMULATOR_HOST"):
            owner = _Headers(pool, {"Authorization": "Bearer owner"})
            return cls(project, database, http=owner, endpoint=f"http://{emulator}")
        if values.get("K_SERVICE") and not values.get("GOOGLE_APPLICATION_CREDENTIALS"):
            from confsync.adapters.metadata_token import MetadataTokenHttp  # noqa: PLC0415

            return cls(project, database, http=MetadataTokenHttp(pool))
        # Only here: google-auth's default credentials (the command line, a developer's machine).
        import google.auth  # noqa: PLC0415
        from google.auth.transport.urllib3 import AuthorizedHttp  # noqa: PLC0415

        credentials, _ = google.auth.default(scopes=[DATASTORE_SCOPE])
        return cls(project, database, http=AuthorizedHttp(credentials, http=pool))  # type: ignore[no-untyped-call]

    def collection(self, collection_id: str) -> CollectionReference:
        return CollectionReference(self, collection_id)

    def close(self) -> None:
        """Close the pooled connections (the client stays usable: it opens new ones)."""
        clear = getattr(self._http, "clear", None)
        if callable(clear):
            clear()

    def batch(self) -> WriteBatch:
        return WriteBatch(self)

    @staticmethod
    def write_option(
        *, exists: bool | None = None, last_update_time: datetime | str | None = None
    ) -> Precondition:
        return Precondition(exists=exists, last_update_time=last_update_time)

    def get_all(self, refs: Iterable[DocumentReference]) -> list[DocumentSnapshot]:
        """The snapshots of ``refs`` (one ``batchGet``), in the order the server answers."""
        by_name = {ref.name: ref for ref in refs}
        if not by_name:
            return []
        answer = self._call(":batchGet", {"documents": list(by_name)}, retried=True)
        found: list[DocumentSnapshot] = []
        with _decoding("batchGet"):
            for item in _items(answer, "batchGet"):
                if "found" in item:
                    document = item["found"]
                    found.append(self._snapshot(by_name[document["name"]], document))
                elif "missing" in item:
                    found.append(DocumentSnapshot(by_name[item["missing"]], exists=False))
        self._read(len(found))
        return found

    def run_query(
        self, collection: CollectionReference, query: Mapping[str, Any]
    ) -> list[DocumentSnapshot]:
        """The documents of a ``structuredQuery`` on ``collection`` (one ``runQuery``)."""
        answer = self._call(":runQuery", {"structuredQuery": query}, retried=True)
        found: list[DocumentSnapshot] = []
        with _decoding("runQuery"):
            for item in _items(answer, "runQuery"):
                if "document" in item:
                    document = item["document"]
                    ref = collection.document(str(document["name"]).rsplit("/", 1)[-1])
                    found.append(self._snapshot(ref, document))
        self._read(max(1, len(found)))
        return found

    def commit(self, writes: Sequence[Mapping[str, Any]]) -> list[WriteResult]:
        """Commit ``writes`` atomically (one ``commit``); one result per write."""
        answer = self._call(":commit", {"writes": list(writes)}, retried=False)
        if not isinstance(answer, dict):
            raise FirestoreError(f"commit: unexpected answer {str(answer)[:200]}")
        results = answer.get("writeResults") or [{} for _ in writes]
        with _decoding("commit"):
            return [_write_result(result) for result in results]

    def _read(self, documents: int) -> None:
        for hook in self.on_read:
            hook(documents)

    @staticmethod
    def _snapshot(ref: DocumentReference, document: Mapping[str, Any]) -> DocumentSnapshot:
        fields = decode_fields(document.get("fields"), ref.path)
        update_time = _time(document.get("updateTime"))
        return DocumentSnapshot(ref, True, fields, update_time, _time(document.get("createTime")))

    def _call(self, method: str, body: Mapping[str, Any], *, retried: bool) -> Any:
        """POST ``body`` to ``method`` of the documents; the decoded JSON answer."""
        for hook in self.on_request:
            hook()
        data = json.dumps(body).encode()
        attempts = _READ_ATTEMPTS if retried else 1
        problem: FirestoreError = UnavailableError(f"{method}: not sent")
        for _ in range(attempts):
            try:
                answer = self._http.request(
                    "POST",
                    f"{self._base}{method}",
                    body=data,
                    headers={"Content-Type": "application/json"},
                    timeout=_TIMEOUT,
                    retries=False,
                )
            except (urllib3.exceptions.HTTPError, OSError) as err:
                problem = UnavailableError(f"{method}: {type(err).__name__}: {err}")
                continue
            except GoogleAuthError as err:  # no credentials, or a token that cannot be had now
                raise UnavailableError(f"{method}: {type(err).__name__}: {err}") from err
            if 200 <= answer.status < 300:
                return _json(answer.data, method)
            problem = error_of(answer.status, answer.data, method)
            if answer.status not in _RETRIED_STATUSES:
                break
        raise problem


class _Headers:
    """urllib3's ``request`` over ``http``, with ``headers`` added to every request."""

    def __init__(self, http: Any, headers: Mapping[str, str]) -> None:
        self._http = http
        self._headers = dict(headers)

    def request(
        self, method: str, url: str, *, headers: Mapping[str, str] | None = None, **kwargs: Any
    ) -> Any:
        return self._http.request(
            method, url, headers={**(headers or {}), **self._headers}, **kwargs
        )


@contextlib.contextmanager
def _decoding(method: str) -> Iterator[None]:
    """An answer that does not have the documented shape (or holds a value confsync does not
    read, see :mod:`.firestore_values`) is a :class:`FirestoreError`."""
    try:
        yield
    except (KeyError, TypeError, AttributeError, ValueError) as err:
        raise FirestoreError(f"{method}: unexpected answer: {type(err).__name__}: {err}") from err


def _json(data: bytes, method: str) -> Any:
    try:
        return json.loads(data)
    except ValueError as err:
        raise FirestoreError(f"{method}: the answer is not JSON: {data[:200]!r}") from err


def _items(answer: Any, method: str) -> list[dict[str, Any]]:
    if not isinstance(answer, list) or not all(isinstance(item, dict) for item in answer):
        raise FirestoreError(f"{method}: unexpected answer {str(answer)[:200]}")
    return answer


def _time(text: Any) -> Timestamp | None:
    return None if text is None else parse_timestamp(text)


def _write_result(result: Mapping[str, Any]) -> WriteResult:
    values = decode_fields(
        {str(i): value for i, value in enumerate(result.get("transformResults") or [])}
    )
    return WriteResult(
        _time(result.get("updateTime")), [values[str(i)] for i in range(len(values))]
    )
