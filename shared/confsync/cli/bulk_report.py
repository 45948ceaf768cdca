"""The summary ``confsync enroll`` prints after a bulk enrolment, as text or as JSON.

Text (stdout): one count line, then one line per entry that needs the operator's eye::

    enrolled 198 (2 unblocked), already enrolled 0, refused 3, failed 0, duplicates 1; 9.9 s, 20.0/s
    line 4: refused: domain other.org is not in CONFSYNC_ALLOWED_DOMAINS (bob@other.org)
    line 9: duplicate of line 2 (enrolled once)

With ``--wait`` the count line also says how many are ready. ``--json`` prints one object:
``{"enrolled", "alreadyEnrolled", "unblocked", "refused", "failed", "duplicates", "ready",
"seconds", "perSecond"}``; the counts are numbers, except ``refused`` (``[{"origin", "text",
"reason"}]``), ``failed`` (``[{"origin", "calendarKey", "reason"}]``) and ``duplicates``
(``[{"origin", "first", "calendarKey"}]``); ``ready`` is null when not waited for.
"""

from __future__ import annotations

from typing import Any

from confsync.cli.bulk_enroll import BulkResult

__all__ = ["summary_json", "summary_text"]


def _per_second(result: BulkResult) -> float | None:
    if result.seconds <= 0 or not result.enrolled:
        return None
    return round(len(result.enrolled) / result.seconds, 1)


def summary_json(result: BulkResult) -> dict[str, Any]:
    """The summary as a JSON-ready object."""
    return {
        "enrolled": len(result.enrolled),
        "alreadyEnrolled": len(result.already),
        "unblocked": len(result.unblocked),
        "refused": [
            {"origin": r.origin, "text": r.text, "reason": r.reason} for r in result.refused
        ],
        "failed": [
            {"origin": f.origin, "calendarKey": f.key, "reason": f.reason} for f in result.failed
        ],
        "duplicates": [
            {"origin": d.origin, "first": d.first, "calendarKey": d.key} for d in result.duplicates
        ],
        "ready": None if result.ready is None else len(result.ready),
        "seconds": round(result.seconds, 3),
        "perSecond": _per_second(result),
    }


def summary_text(result: BulkResult) -> str:
    """The summary as lines of text."""
    counts = (
        f"enrolled {len(result.enrolled)} ({len(result.unblocked)} unblocked), "
        f"already enrolled {len(result.already)}, refused {len(result.refused)}, "
        f"failed {len(result.failed)}, duplicates {len(result.duplicates)}"
    )
    if result.ready is not None:
        counts += f", ready {len(result.ready)}"
    rate = _per_second(result)
    counts += f"; {result.seconds:.1f} s" + (f", {rate}/s" if rate is not None else "")
    lines = [counts]
    lines += [f"{r.origin}: refused: {r.reason} ({r.text})" for r in result.refused]
    lines += [f"{f.origin}: failed: {f.reason} ({f.key})" for f in result.failed]
    lines += [f"{d.origin}: duplicate of {d.first} (enrolled once)" for d in result.duplicates]
    return "\n".join(lines)
