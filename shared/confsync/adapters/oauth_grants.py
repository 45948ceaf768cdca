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
from datetime import datetime

from google.api_core import exceptions as gexc
from google.cloud import firestore

from confsync.adapters.firestore_store import translated
from confsync.errors import MalformedInputError
from confsync.grant_crypto import normalize_subject

__all__ = [
    "GRANTS_COLLECTION",
    "GRANT_SCHEMA_VERSION",
    "FirestoreGrantStore",
    "grant_document_id",
]

GRANTS_COLLECTION = "oauth_grants"
GRANT_SCHEMA_VERSION = 1


def grant_document_id(subject: str) -> str:
    """The opaque, stable document id of ``subject``'s grant (case-blind)."""
    digest = hashlib.sha256(normalize_subject(subject).encode()).hexdigest()
    return f"og_{digest[:32]}"


class FirestoreGrantStore:
    """Sealed grants by subject. ``get`` is what the functions use; ``put`` and ``delete`` are
    for ``confsync grant``."""

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
            except gexc.NotFound:
                return False
        return True
