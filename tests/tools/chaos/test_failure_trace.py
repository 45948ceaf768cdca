"""A failed seed's trace shows what the conferencing system was asked about each conference the
oracle found wrong: the requests, their revisions and answers, replays marked."""

from __future__ import annotations

from typing import Any

from chaos.checks import provider_history
from chaos.oracle import Mismatch
from chaos.report import trace_lines
from chaos.run import SeedResult
from chaos.workload import generate


def _entry(method: str, revision: int, status: int, outcome: str, **more: Any) -> dict[str, Any]:
    return {
        "method": method,
        "conferenceId": "conf_a",
        "revision": revision,
        "status": status,
        "outcome": outcome,
        "idempotentReplay": False,
        **more,
    }


LOG = [
    _entry("PUT", 1700, 200, "applied"),
    {**_entry("PUT", 1900, 200, "applied"), "conferenceId": "conf_b"},
    _entry("DELETE", 1800, 409, "stale"),
    _entry("DELETE", 1800, 409, "stale", idempotentReplay=True),
]


def test_the_history_of_one_conference_in_order_with_replays_marked() -> None:
    assert provider_history(LOG, "conf_a") == [
        "PUT revision=1700 200 applied",
        "DELETE revision=1800 409 stale",
        "DELETE revision=1800 409 stale (replayed)",
    ]


def test_a_long_history_keeps_its_last_requests() -> None:
    log = [_entry("PUT", n, 200, "applied") for n in range(50)]

    shown = provider_history(log, "conf_a", limit=3)

    assert shown == [
        "(47 earlier requests not shown)",
        "PUT revision=47 200 applied",
        "PUT revision=48 200 applied",
        "PUT revision=49 200 applied",
    ]


def test_the_trace_of_a_missed_deletion_shows_the_conferences_requests() -> None:
    result = SeedResult(1, generate(1, steps=5, calendars=1))
    result.mismatches = [Mismatch("conf_a", "missing-deletion", "still active")]
    result.provider_log = LOG

    lines = trace_lines(result, full=False)

    at = lines.index("  oracle: conf_a: missing-deletion: still active")
    assert lines[at + 1 : at + 4] == [
        "    provider: PUT revision=1700 200 applied",
        "    provider: DELETE revision=1800 409 stale",
        "    provider: DELETE revision=1800 409 stale (replayed)",
    ]
