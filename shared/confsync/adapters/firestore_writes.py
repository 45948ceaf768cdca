"""Whole-document writes for Firestore batch commits.

A conference record or an event pointer is always written whole: its stored shape is what
:func:`confsync.records.to_document` (or the pointer's three fields) says, nothing else lives in
the document. Such a write is the one ``WriteBatch.set`` sends (the document's fields, no update
mask), plus a precondition: the document must not exist (a new record), or must still have the
``update_time`` it was read with (a stored one).

:func:`whole_write` builds that JSON ``Write`` (:mod:`confsync.adapters.firestore_fields`; the
tests compare it with the client library's message for the same set), which the store adds to
a batch with ``WriteBatch.add_write``.

Values: None, bool, int, float, str, bytes, datetime (a timestamp), mappings with string keys
and sequences (lists, tuples) of those; anything else is a TypeError, as a bug in the caller.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from confsync.adapters.firestore_fields import Precondition, set_write
from confsync.adapters.firestore_http import DocumentReference

__all__ = ["whole_write"]


def whole_write(
    ref: DocumentReference,
    fields: Mapping[str, Any],
    *,
    exists: bool | None = None,
    update_time: str | None = None,
) -> dict[str, Any]:
    """The ``Write`` that replaces the document of ``ref`` with ``fields``; with
    ``exists=False`` only if it does not exist yet, with ``update_time`` (RFC 3339, as the
    store keeps versions) only if it still has that update time."""
    write = set_write(ref.name, fields)
    condition = Precondition(exists=exists, last_update_time=update_time).to_json()
    if condition:
        write["currentDocument"] = condition
    return write
