"""The batch read of owners (contract 2.1.0): the request body and the decoder of its answer.

``POST /v1/conferences:batchGet`` with ``{"ids": [...]}`` (1 to 100 distinct ids) answers
``{"conferences": [...], "missing": [...]}``: a summary (at least ``id``, ``owner`` and
``status``) of every id the system knows, deleted ones included, and the ids it does not know.
:func:`decode_owners` turns that answer into one outcome per id asked, the same outcome
``GET /v1/conferences/{id}`` gives (``HttpConferenceProvider.owner_of``):

===========================================  ===============================================
the id in the answer                         outcome
===========================================  ===============================================
once in ``conferences``, ``owner`` a         the owner (None for null)
non-empty string or null, not deleted
once in ``conferences``, ``status``          ProviderGoneError
``deleted``
once in ``missing``                          ProviderGoneError
in neither                                   ProviderRejectedError (contract violation)
more than once (twice in ``conferences``,    ProviderRejectedError (contract violation)
or in both)
once in ``conferences`` without a usable     ProviderRejectedError (contract violation)
``owner``
===========================================  ===============================================

Entries about ids that were not asked for, and entries that are not objects with a string
``id``, are ignored. A body that is not a JSON object with a ``conferences`` list and a
``missing`` list cannot be read at all: :func:`decode_owners` raises ProviderRejectedError, which
the adapter makes the outcome of every id of the request.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Final

from confsync.errors import ProviderGoneError, ProviderRejectedError
from confsync.ports import OwnerLookup

__all__ = ["BATCH_PATH", "NO_BATCH_STATUSES", "batch_body", "decode_owners"]

BATCH_PATH: Final = "/v1/conferences:batchGet"
NO_BATCH_STATUSES: Final = frozenset({404, 405, 410, 501})
"""Answers of a system without the batch read (contract 2.0.0 and earlier): the adapter reads
owners one ``GET`` each from then on."""


def batch_body(conference_ids: Sequence[str]) -> bytes:
    """The request body: ``{"ids": [...]}``, compact UTF-8 JSON (the ids are ASCII)."""
    return json.dumps({"ids": list(conference_ids)}, separators=(",", ":")).encode("ascii")


def decode_owners(what: str, asked: Sequence[str], raw: bytes) -> dict[str, OwnerLookup]:
    """One outcome per id of ``asked`` from a 2xx answer's body (see the module docstring);
    ProviderRejectedError when the body cannot be read as a batch answer at all. ``what`` names
    the request in messages."""
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: nested too deep
        body = None
    conferences = body.get("conferences") if isinstance(body, Mapping) else None
    missing = body.get("missing") if isinstance(body, Mapping) else None
    if not isinstance(conferences, list) or not isinstance(missing, list):
        raise ProviderRejectedError(
            f"{what}: the answer is not a JSON object with a conferences list and a missing "
            "list (contract violation)"
        )
    wanted = set(asked)
    found: dict[str, list[Mapping[str, Any] | None]] = {}  # None: named missing
    for item in conferences:
        if isinstance(item, Mapping) and isinstance(item.get("id"), str) and item["id"] in wanted:
            found.setdefault(item["id"], []).append(item)
    for name in missing:
        if isinstance(name, str) and name in wanted:
            found.setdefault(name, []).append(None)
    return {name: _outcome(what, name, found.get(name, [])) for name in asked}


def _outcome(what: str, conference_id: str, entries: list[Mapping[str, Any] | None]) -> OwnerLookup:
    if not entries:
        return ProviderRejectedError(
            f"{what}: conference {conference_id} neither answered nor named missing "
            "(contract violation)"
        )
    if len(entries) > 1:
        return ProviderRejectedError(
            f"{what}: conference {conference_id} answered more than once (contract violation)"
        )
    entry = entries[0]
    if entry is None:
        return ProviderGoneError(f"{what}: conference {conference_id} is not known (missing)")
    if entry.get("status") == "deleted":
        return ProviderGoneError(f"{what}: conference {conference_id} is deleted")
    owner = entry.get("owner", "")
    if owner is None or (isinstance(owner, str) and owner):
        return owner
    return ProviderRejectedError(
        f"{what}: conference {conference_id} without a usable owner (contract violation)"
    )
