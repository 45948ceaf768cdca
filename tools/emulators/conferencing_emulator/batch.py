"""The batch read (contract 2.1.0): ``POST /v1/conferences:batchGet``.

The body is ``{"ids": [...]}``: 1 to :data:`MAX_BATCH_IDS` distinct conference ids of the
contract's form. The answer is ``{"conferences": [...], "missing": [...]}``: the summary
(:func:`summary`) of every id the emulator knows, deleted ones included, then the ids it does
not know, both in the order asked. Validation raises
:class:`~conferencing_emulator.errors.ValidationError` naming the offending field.
"""

from __future__ import annotations

import re
from typing import Any, Final

from .errors import ValidationError
from .model import Conference

__all__ = ["BATCH_FIELD", "MAX_BATCH_IDS", "parse_batch_get", "summary"]

#: The most ids one batch read takes.
MAX_BATCH_IDS: Final = 100
#: The one field of the request body.
BATCH_FIELD: Final = "ids"

_ID_RE: Final = re.compile(r"[A-Za-z0-9_-]{1,128}")


def parse_batch_get(body: Any) -> list[str]:
    """The ids of a batch read body; 400 ``invalid_request`` for anything else."""
    if not isinstance(body, dict):
        raise ValidationError("body", "must be a JSON object")
    for name in body:
        if name != BATCH_FIELD:
            raise ValidationError(name, "unknown field")
    ids = body.get(BATCH_FIELD)
    if not isinstance(ids, list) or not 1 <= len(ids) <= MAX_BATCH_IDS:
        raise ValidationError(BATCH_FIELD, f"must be a list of 1 to {MAX_BATCH_IDS} ids")
    seen: dict[str, int] = {}
    for index, value in enumerate(ids):
        where = f"{BATCH_FIELD}[{index}]"
        if not isinstance(value, str) or not _ID_RE.fullmatch(value):
            raise ValidationError(where, "must be 1 to 128 of A-Z a-z 0-9 _ -")
        if value in seen:
            raise ValidationError(where, f"repeats {BATCH_FIELD}[{seen[value]}]")
        seen[value] = index
    return list(ids)


def summary(conference: Conference) -> dict[str, Any]:
    """What a batch read answers about one conference: its id, owner, status and revision."""
    return {
        "id": conference.id,
        "owner": conference.owner,
        "status": conference.status,
        "revision": conference.revision,
    }
