"""The ownership check catches a request sent for a non-owner's event, and nothing else."""

from __future__ import annotations

from datetime import UTC, datetime

from chaos.nonowner import non_owner_requests

COPY_WRITES = {"conf_a": {1_800_000_000_500: "e9 by cal1"}}
OWNER_WRITES = {1_800_000_000_100, 1_800_000_000_900}
LET_GO = datetime(2027, 1, 1, 12, 0, 10, tzinfo=UTC)


def _entry(method: str, revision: int, time: str = "2027-01-01T12:00:20Z") -> dict[str, object]:
    return {
        "method": method,
        "conferenceId": "conf_a",
        "revision": revision,
        "outcome": "applied",
        "time": time,
    }


def _check(log: list[dict[str, object]], carried: set[str] | None = None) -> list[str]:
    return non_owner_requests(log, COPY_WRITES, OWNER_WRITES, {"conf_a": LET_GO}, carried or set())


def test_the_owners_requests_pass() -> None:
    log = [_entry("PUT", 1_800_000_000_100), _entry("PUT", 1_800_000_000_900)]

    assert _check(log, carried={"conf_a"}) == []
    assert _check([*log, _entry("DELETE", 1_800_000_000_901)]) == []


def test_a_put_carrying_a_copys_revision_is_reported() -> None:
    [problem] = _check([_entry("PUT", 1_800_000_000_500)], carried={"conf_a"})

    assert problem.startswith("conf_a: PUT r1800000000500 (applied) sent for e9 by cal1")


def test_a_delete_while_the_owner_still_carries_it_is_reported() -> None:
    [problem] = _check([_entry("DELETE", 1_800_000_000_901)], carried={"conf_a"})

    assert "still carries it" in problem


def test_a_delete_before_the_owner_let_go_is_reported() -> None:
    early = _entry("DELETE", 1_800_000_000_600, time="2027-01-01T12:00:05Z")

    [problem] = _check([early])

    assert "before its owner let go" in problem


def test_conferences_no_one_else_carried_are_not_this_checks_business() -> None:
    other = {**_entry("DELETE", 5), "conferenceId": "conf_b"}

    assert _check([other], carried={"conf_b"}) == []
