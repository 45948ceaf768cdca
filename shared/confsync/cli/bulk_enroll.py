"""Bulk enrolment: publish an enroll command for each planned calendar that needs one, paced.

:func:`enroll_all` takes an :class:`~confsync.cli.enroll_plan.EnrollPlan` (already checked:
syntax, allow-list, duplicates) and:

1. reads the calendars' records through :meth:`CalendarStore.get_many` (batched reads, never one
   read per calendar);
2. publishes ``EnrollCommand(subject, calendarId, source="operator")`` for each calendar that is
   not already enrolled, through a :class:`~confsync.cli.rate.TokenBucket`:

   ==============================  ============================================================
   record                          outcome
   ==============================  ============================================================
   ``active`` or ``poll-only``     already enrolled: nothing published
   ``blocked``                     published, and counted as unblocked (an operator's
                                   enrolment lifts the block)
   none, ``disconnected``,         published (enrolled)
   ``unenrolled``
   ==============================  ============================================================

   A publish Pub/Sub refuses is a failure of that calendar; after :data:`MAX_FAILURES_IN_A_ROW`
   refusals in a row the rest are not tried (each is a failure saying so), since Pub/Sub is then
   down or the topic is missing;
3. with ``wait_s``, polls the published calendars' records (batched) every ``poll_s`` until each
   is ``active`` or ``poll-only`` with a sync token (ready), or newly ``disconnected`` (a failure,
   with the record's outcome as its reason); those neither by the deadline are not ready.

Running it again is safe: calendars enrolled by the first run are already enrolled by then.
The :class:`BulkResult` says what happened to each entry; :func:`exit_code` is 0 when every entry
was enrolled or already enrolled (and, when waited for, is ready), 1 otherwise.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from confsync.calendars import CalendarDoc
from confsync.cli.enroll_plan import Duplicate, EnrollPlan, Refusal, Target
from confsync.cli.progress import Progress
from confsync.cli.rate import TokenBucket
from confsync.errors import PublishError
from confsync.messages import EnrollCommand
from confsync.ports import CalendarStore, ChannelCommandPublisher

__all__ = [
    "ENROLLED_STATES",
    "MAX_FAILURES_IN_A_ROW",
    "BulkResult",
    "Failure",
    "enroll_all",
    "exit_code",
    "wait_for",
]

ENROLLED_STATES = frozenset({"active", "poll-only"})
"""States in which a calendar is enrolled: nothing is published for it."""
MAX_FAILURES_IN_A_ROW = 5


@dataclass(frozen=True, slots=True)
class Failure:
    """A calendar whose enrolment failed (not published, disconnected, or not ready in time)."""

    origin: str
    key: str
    reason: str


@dataclass(slots=True)
class BulkResult:
    """What happened to each entry of the plan."""

    enrolled: list[Target] = field(default_factory=list)
    """Published (unblocked ones included)."""
    already: list[Target] = field(default_factory=list)
    unblocked: list[Target] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)
    duplicates: list[Duplicate] = field(default_factory=list)
    failed: list[Failure] = field(default_factory=list)
    ready: list[Target] | None = None
    """With ``--wait``: the published calendars found ready (None: not waited for)."""
    seconds: float = 0.0
    """How long publishing took."""


def exit_code(result: BulkResult) -> int:
    """0 when every entry was enrolled or already enrolled (and ready when waited for), else 1."""
    return 1 if result.refused or result.failed else 0


def _publish_all(
    targets: Sequence[Target],
    publisher: ChannelCommandPublisher,
    bucket: TokenBucket,
    progress: Progress | None,
    result: BulkResult,
) -> list[tuple[Target, Failure]]:
    failures: list[tuple[Target, Failure]] = []
    in_a_row = 0
    for done, target in enumerate(targets, start=1):
        if in_a_row >= MAX_FAILURES_IN_A_ROW:
            reason = (
                f"not published: stopped after {MAX_FAILURES_IN_A_ROW} publish failures in a row"
            )
            failures.extend((t, Failure(t.origin, t.key, reason)) for t in targets[done - 1 :])
            break
        bucket.take()
        command = EnrollCommand(target.subject, target.calendar_id, source="operator")
        try:
            publisher.publish(command)
        except PublishError as err:
            in_a_row += 1
            failures.append((target, Failure(target.origin, target.key, f"not published: {err}")))
        else:
            in_a_row = 0
            result.enrolled.append(target)
        if progress is not None:
            progress.update(done)
    return failures


def enroll_all(
    plan: EnrollPlan,
    *,
    store: CalendarStore,
    publisher: ChannelCommandPublisher,
    bucket: TokenBucket,
    clock: Callable[[], float],
    progress: Callable[[int], Progress] | None = None,
) -> tuple[BulkResult, dict[str, CalendarDoc]]:
    """Publish what the plan needs; the result, and the records as read before publishing."""
    result = BulkResult(refused=list(plan.refusals), duplicates=list(plan.duplicates))
    before = store.get_many(target.key for target in plan.targets)
    to_publish: list[Target] = []
    for target in plan.targets:
        doc = before.get(target.key)
        if doc is not None and doc.state in ENROLLED_STATES:
            result.already.append(target)
            continue
        to_publish.append(target)
    started = clock()
    bar = progress(len(to_publish)) if progress is not None and to_publish else None
    failures = _publish_all(to_publish, publisher, bucket, bar, result)
    if bar is not None:
        bar.finish()
    result.seconds = clock() - started
    result.failed.extend(failure for _, failure in failures)
    published = {target.key for target in result.enrolled}
    result.unblocked = [
        t for t in to_publish if t.key in published and _state(before, t.key) == "blocked"
    ]
    return result, before


def _state(docs: dict[str, CalendarDoc], key: str) -> str | None:
    doc = docs.get(key)
    return None if doc is None else doc.state


def _settled(doc: CalendarDoc | None, before: CalendarDoc | None) -> str | None:
    """``ready``, ``disconnected`` (by this enrolment, not before it) or None (still waiting)."""
    if doc is None:
        return None
    if doc.state in ENROLLED_STATES and doc.sync_token is not None:
        return "ready"
    if doc.state == "disconnected":
        if before is None or before.state != "disconnected":
            return "disconnected"
        if doc.disconnected_at != before.disconnected_at:  # disconnected again since
            return "disconnected"
    return None


def wait_for(
    result: BulkResult,
    before: dict[str, CalendarDoc],
    *,
    store: CalendarStore,
    seconds: float,
    poll_s: float,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
) -> None:
    """Poll the published calendars until each is ready or disconnected, or ``seconds`` pass;
    record the ready ones, and a failure for each disconnected or not ready one."""
    waiting = {target.key: target for target in result.enrolled}
    ready: list[Target] = []
    docs: dict[str, CalendarDoc] = {}
    deadline = clock() + seconds
    while waiting:
        docs = store.get_many(list(waiting))
        for key, target in list(waiting.items()):
            outcome = _settled(docs.get(key), before.get(key))
            if outcome == "ready":
                ready.append(waiting.pop(key))
            elif outcome == "disconnected":
                reason = docs[key].last_outcome or "no reason recorded"
                result.failed.append(Failure(target.origin, key, f"disconnected: {reason}"))
                del waiting[key]
        left = deadline - clock()
        if not waiting or left <= 0:
            break
        sleep(min(poll_s, left))
    for key, target in waiting.items():
        doc = docs.get(key)
        state = "no calendar record yet" if doc is None else f"state {doc.state}"
        if doc is not None and doc.sync_token is None:
            state += ", no sync token"
        result.failed.append(
            Failure(target.origin, key, f"not ready after {seconds:g} s ({state})")
        )
    result.ready = ready
