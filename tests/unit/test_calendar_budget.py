"""The project's Calendar budget spent by one instance (:mod:`confsync.calendar_budget`) over the
in-memory budget: chunked claims, refusal, the window's roll-over and the two priorities."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest

from confsync.calendar_budget import (
    BACKGROUND_SHARE,
    MAX_CHUNK,
    WINDOW_S,
    CalendarAllowance,
    Priority,
    chunk_for,
    per_window,
    priority_of,
    spending_as,
)
from confsync.errors import CalendarBudgetSpentError, CalendarUnavailableError
from confsync.messages import (
    EnrollCommand,
    RenewCommand,
    SweepCommand,
    SyncReason,
    SyncRequest,
    TickCommand,
    UnenrollCommand,
)
from confsync.testing import InMemoryCalendarBudget

WINDOW_START = 1_796_000_040.0  # a window's (and a minute's) first second
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@dataclass
class Clock:
    """Epoch seconds; ``sleep`` moves it on and records the pause."""

    now: float = WINDOW_START
    pauses: list[float] = field(default_factory=list)

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.pauses.append(seconds)
        self.now += seconds


def _allowance(per_window: int, clock: Clock) -> tuple[CalendarAllowance, InMemoryCalendarBudget]:
    budget = InMemoryCalendarBudget(per_window)
    return CalendarAllowance(budget, clock=clock, sleep=clock.sleep), budget


def _spend_all(allowance: CalendarAllowance, priority: Priority) -> int:
    spent = 0
    while allowance.try_spend(priority):
        spent += 1
    return spent


def test_calls_are_claimed_in_chunks_not_one_by_one() -> None:
    allowance, budget = _allowance(2500, Clock())

    for _ in range(60):
        allowance.spend("user")

    assert chunk_for(2500) == MAX_CHUNK == 25
    assert budget.claims == 3  # 25 + 25 + 10 of the third chunk
    assert budget.granted[int(WINDOW_START // WINDOW_S)] == 75


def test_a_window_gets_a_sixth_of_the_minute_so_no_sliding_minute_sees_more_than_seven() -> None:
    assert WINDOW_S == 10
    assert per_window(8000) == 1333
    assert 7 * per_window(8000) <= 10_000  # Google's per-project quota, on a sliding minute


def test_small_budgets_get_small_chunks_so_active_instances_hold_little() -> None:
    assert chunk_for(per_window(8000)) == 13
    assert chunk_for(1000) == 10
    assert chunk_for(100) == 1
    assert chunk_for(1_000_000) == MAX_CHUNK


def test_a_spent_minute_refuses_and_says_when_the_next_one_begins() -> None:
    clock = Clock(now=WINDOW_START + 2)
    allowance, _ = _allowance(1000, clock)

    assert _spend_all(allowance, "user") == 1000
    with pytest.raises(CalendarBudgetSpentError) as refused:
        allowance.spend("user")

    assert refused.value.retry_after == pytest.approx(8)
    assert isinstance(refused.value, CalendarUnavailableError)  # transient: retried later
    assert clock.pauses == []  # 8 s is too long to wait for


def test_a_refused_window_is_not_asked_again() -> None:
    allowance, budget = _allowance(1000, Clock())
    _spend_all(allowance, "user")
    claims = budget.claims

    for _ in range(10):
        assert not allowance.try_spend("user")

    assert budget.claims == claims


def test_the_next_window_brings_a_fresh_budget_and_old_claims_lapse() -> None:
    clock = Clock()
    allowance, budget = _allowance(1000, clock)
    allowance.spend("user")  # claims a chunk of 10, spends 1
    first = int(clock.now // WINDOW_S)

    clock.now += WINDOW_S
    allowance.spend("user")  # the 9 left of the last window are not used

    assert budget.granted == {first: 10, first + 1: 10}
    assert budget.claims == 2
    assert _spend_all(allowance, "user") == 1000 - 1


def test_background_calls_stop_at_their_share_and_users_keep_the_rest() -> None:
    allowance, _ = _allowance(1000, Clock())

    background = _spend_all(allowance, "background")
    user = _spend_all(allowance, "user")

    assert background == int(1000 * BACKGROUND_SHARE) == 800
    assert user == 200


def test_users_spending_first_leave_nothing_to_background() -> None:
    allowance, _ = _allowance(1000, Clock())

    assert _spend_all(allowance, "user") == 1000
    assert _spend_all(allowance, "background") == 0


def test_a_user_call_waits_for_the_next_window_when_it_is_seconds_away() -> None:
    clock = Clock(now=WINDOW_START + 7)
    allowance, _ = _allowance(1000, clock)
    _spend_all(allowance, "user")

    allowance.spend("user")

    assert clock.pauses == [pytest.approx(3)]


def test_a_background_call_never_waits() -> None:
    clock = Clock(now=WINDOW_START + 7)
    allowance, _ = _allowance(1000, clock)
    _spend_all(allowance, "background")

    with pytest.raises(CalendarBudgetSpentError):
        allowance.spend("background")
    assert clock.pauses == []


@pytest.mark.parametrize(
    ("reason", "priority"),
    [
        ("notification", "user"),
        ("enroll", "user"),
        ("manual", "user"),
        ("republish", "user"),
        ("grace", "user"),  # a delete a user made waits on it
        ("sweep", "background"),
    ],
)
def test_only_a_sweeps_sync_is_background(reason: SyncReason, priority: str) -> None:
    request = SyncRequest(calendar_key="k", reason=reason, notified_at=NOW)
    assert priority_of(request) == priority


def test_channel_maintenance_is_background_and_enrolment_is_user() -> None:
    assert priority_of(TickCommand(issued_at=NOW)) == "background"
    assert priority_of(RenewCommand(calendar_keys=("k",))) == "background"
    assert priority_of(SweepCommand(calendar_keys=("k",))) == "background"
    assert priority_of(EnrollCommand(subject="a@example.com", calendar_id="c")) == "user"
    assert priority_of(UnenrollCommand(calendar_key="k")) == "user"


def test_a_claim_sent_ahead_is_spent_without_a_claim_of_its_own() -> None:
    """A sync run sends the claim its first call would make with its lease's write
    (:meth:`CalendarAllowance.ahead`): its calls then claim nothing more."""
    allowance, budget = _allowance(2500, Clock())
    ahead = allowance.ahead("user")
    assert ahead is not None

    ahead.granted(ahead.staged.claim())  # what the lease's commit does, with the in-memory store
    spent = [allowance.try_spend("user") for _ in range(MAX_CHUNK)]

    assert all(spent)
    assert budget.claims == 1
    assert allowance.claims == 1
    assert allowance.ahead("background") is not None  # each priority claims apart


def test_no_claim_is_sent_ahead_while_calls_are_left_or_after_a_refusal() -> None:
    clock = Clock()
    allowance, _budget = _allowance(2500, clock)
    allowance.spend("user")
    assert allowance.ahead("user") is None  # 24 of the chunk are left

    allowance, _budget = _allowance(2500, clock)
    _spend_all(allowance, "user")  # the window refused a claim
    assert allowance.ahead("user") is None


def test_a_claim_sent_ahead_for_a_window_that_ended_lapses() -> None:
    clock = Clock()
    allowance, budget = _allowance(2500, clock)
    ahead = allowance.ahead("user")
    assert ahead is not None
    granted = ahead.staged.claim()
    clock.now += WINDOW_S

    ahead.granted(granted)
    allowance.spend("user")

    assert budget.claims == 2  # the new window's call claimed again


def test_a_claim_sent_ahead_that_got_nothing_leaves_the_next_call_to_claim_itself() -> None:
    """A claim sent ahead asks one shard; nothing granted there does not refuse the window
    (another shard may have calls left): the next call claims as usual."""
    allowance, budget = _allowance(2500, Clock())
    ahead = allowance.ahead("user")
    assert ahead is not None

    ahead.granted(0)

    assert allowance.try_spend("user")
    assert budget.claims == 1


def test_the_call_a_request_set_aside_is_its_own_whatever_others_spend_meanwhile() -> None:
    """Between a sync run's lease and its first call, other requests of the instance may spend
    every call left, or a new window may begin: the call set aside with the lease stays the
    run's, so it makes no claim of its own (no round trip)."""
    clock = Clock()
    allowance, budget = _allowance(2500, clock)
    with spending_as("user"):
        ahead = allowance.ahead("user")
        assert ahead is not None
        ahead.granted(ahead.staged.claim())
        with spending_as("user"):  # another request on the same instance
            others = _spend_all(allowance, "user")
        clock.now += WINDOW_S  # and the window turns before the run's first call
        claims = budget.claims

        assert allowance.try_spend("user")

    assert others == 2500 - 1  # the window's whole budget but the call set aside
    assert budget.claims == claims  # the run's call claimed nothing


def test_a_request_sets_a_call_aside_from_what_is_left_without_a_claim() -> None:
    allowance, budget = _allowance(2500, Clock())
    allowance.spend("user")  # a chunk is claimed; 24 left
    with spending_as("user"):
        assert allowance.ahead("user") is None  # set aside from the 24, nothing to send
        assert allowance.ahead("user") is None  # and only once per request
        with spending_as("user"):
            others = _spend_all(allowance, "user")

        assert allowance.try_spend("user")

    assert others == 2500 - 2
    assert budget.claims == 1 + 99 + 1
