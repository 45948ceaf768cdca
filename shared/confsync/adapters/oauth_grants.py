"""Firestore store of users' sealed OAuth grants (``oauth`` credentials), ``oauth_grants/{id}``.

One document per user: ``subject`` (for operators), ``grant`` (the blob of
:func:`confsync.grant_crypto.seal_grant`: bytes, never the token in clear), ``schema_version``
and ``stored_at``. The document id is :func:`grant_document_id`, a hash of the normalised
subject, so no e-mail address appears in document paths, audit logs of paths, or ids copied
into tickets.

Every Firestore failure becomes :class:`~confsync.errors.StoreUnavailableError` through the
adapters' one translation point, :func:`confsync.adapters.firestore_store.translated`; a document
that does not have the shape above raises :class:`~confsync.errors.MalformedInputError`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import datetime

from confsync.adapters import firestore_http as firestore
from confsync.adapters.firestore_errors import FailedPreconditionError, NotFoundError
from confsync.adapters.firestore_http import DocumentSnapshot
from confsync.adapters.firestore_store import translated
from confsync.errors import MalformedInputError
from confsync.grant_crypto import StoredGrant, normalize_subject

__all__ = [
    "GRANTS_COLLECTION",
    "GRANT_SCHEMA_VERSION",
    "FirestoreGrantStore",
    "grant_document_id",
]

GRANTS_COLLECTION = "oauth_grants"
GRANT_SCHEMA_VERSION = 1


_Snapshot = DocumentSnapshot
_PAGE = 200
"""Grants read per Firestore query by :meth:`FirestoreGrantStore.scan`."""


def grant_document_id(subject: str) -> str:
    """The opaque, stable document id of ``subject``'s grant (case-blind)."""
    digest = hashlib.sha256(normalize_subject(subject).encode()).hexdigest()
    return f"og_{digest[:32]}"


class FirestoreGrantStore:
    """Sealed grants by subject. ``get`` is what the functions use; ``put`` and ``delete`` are
    for ``confsync grant``, ``scan`` and ``replace`` for ``confsync re-encrypt-grants``."""

    def __init__(self, client: firestore.Client, collection: str = GRANTS_COLLECTION) -> None:
        self._client = client
        self._collection = client.collection(collection)

    def _ref(self, subject: str) -> firestore.DocumentReference:
        return self._collection.document(grant_document_id(subject))

    def get(self, subject: str) -> bytes | None:
        """The sealed grant of ``subject``, or None when none is stored."""
        with translated("grant get"):
            snapshot = self._ref(subject).get()
        body = snapshot.to_dict() if snapshot.exists else None
        if body is None:
            return None
        blob = body.get("grant")
        if not isinstance(blob, bytes) or body.get("schema_version") != GRANT_SCHEMA_VERSION:
            raise MalformedInputError(f"oauth_grants/{snapshot.id} is not a sealed grant")
        return blob

    def put(self, subject: str, sealed: bytes, *, now: datetime) -> str:
        """Store (or replace) ``subject``'s sealed grant; answers the document id."""
        ref = self._ref(subject)
        document = {
            "subject": normalize_subject(subject),
            "grant": sealed,
            "schema_version": GRANT_SCHEMA_VERSION,
            "stored_at": now,
        }
        with translated("grant put"):
            ref.set(document)
        return str(ref.id)

    def delete(self, subject: str) -> bool:
        """Delete ``subject``'s grant; False when there was none."""
        option = self._client.write_option(exists=True)
        with translated("grant delete"):
            try:
                self._ref(subject).delete(option=option)
            except NotFoundError:
                return False
        return True

    def scan(self) -> Iterator[StoredGrant]:
        """Every stored grant, by document id, a page at a time. A document that is not a sealed
        grant comes with an empty ``sealed`` and ``subject`` (it opens with no key)."""
        last: _Snapshot | None = None
        while True:
            query = self._collection.order_by("__name__").limit(_PAGE)
            if last is not None:
                query = query.start_after(last)
            with translated("grant scan"):
                page = list(query.stream())
            for snapshot in page:
                yield _stored(snapshot)
            if len(page) < _PAGE:
                return
            last = page[-1]

    def replace(self, grant: StoredGrant, sealed: bytes, *, now: datetime) -> bool:
        """Write ``sealed`` over ``grant`` only if its document is unchanged since it was read;
        False (nothing written) when it changed or was deleted meanwhile."""
        option = self._client.write_option(last_update_time=grant.version)
        update = {"grant": sealed, "stored_at": now}
        with translated("grant replace"):
            try:
                self._collection.document(grant.document).update(update, option=option)
            except (FailedPreconditionError, NotFoundError):
                return False
        return True


def _stored(snapshot: _Snapshot) -> StoredGrant:
    body = snapshot.to_dict() or {}
    blob, subject = body.get("grant"), body.get("subject")
    if (
        not isinstance(blob, bytes)
        or not isinstance(subject, str)
        or body.get("schema_version") != GRANT_SCHEMA_VERSION
    ):
        return StoredGrant(str(snapshot.id), "", b"", snapshot.update_time)
    return StoredGrant(str(snapshot.id), subject, blob, snapshot.update_time)
