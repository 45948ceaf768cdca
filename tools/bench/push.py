"""Scenarios driven by Calendar push on a whole private stack: ``latency``, ``burst``, ``fanout``.

Each selected scenario runs twice, on a stack running confsync and on one where the baseline
(:mod:`bench.baseline`, the seed's recipe) handles the SyncRequests instead; the workload, the
emulators, intake and channels are the same. Each scenario uses calendars of its own, and counters
are reset once the stack is quiet, so one stack serves all three in turn.

* ``burst``: one calendar with 50 conference events, enrolled and adopted; then 500 renames spread
  evenly over about 2 s (event ``i % 50`` gets edit ``i``). Figures: ``events.list`` calls and
  conference operations (PUT and DELETE requests the conferencing system received, whatever their
  outcome) until the stack is quiet again, and ``converge_s``.
* ``fanout``: 200 calendars with one conference event each, all enrolled and adopted; then one
  rename in each, all at once (16 threads). Same figures, and ``firestore_round_trips_per_run``:
  the mean of the Firestore round trips the synced runs of the renames logged
  (:mod:`bench.run_summaries`; confsync only, the baseline logs none); and
  ``<part>_cpu_ms_per_run``, the CPU the sync function, the Firestore emulator and the other
  parts spent from the first rename until quiet, per rename (:mod:`bench.part_cpu`).
* ``latency``: see :mod:`bench.latency`.

``converge_s`` runs from the answer to the last Calendar edit until every conference's title
equals its event's title as the Calendar API then returns it (polled every 20 ms). Operations that
arrive after that (a recipe without ordering keeps sending stale updates) still count. "Quiet"
means the ``events.list`` count and the conferencing request log did not change for 2 s.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

from bench import latency
from bench.part_cpu import PartCpu
from bench.run_summaries import SyncLog
from bench.scale import scaled
from bench.stack import Variant, logged_stack
from devstack.client import StackClient, wait_until

__all__ = ["SCENARIOS", "run"]

SCENARIOS = ("latency", "burst", "fanout")
PROJECT = "confsync-bench-push"
BURST_CALENDAR = "bench-burst@example.com"
BURST_EVENTS = 50
BURST_EDITS = 500
BURST_SPREAD_S = 2.0
FANOUT_CALENDARS = 200
ADOPT_TIMEOUT_S = 240.0
CONVERGE_TIMEOUT_S = 300.0
QUIET_S = 2.0
QUIET_TIMEOUT_S = 300.0
_START = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2)


def _titles(stack: StackClient) -> dict[str, str | None]:
    return {c["id"]: c.get("title") for c in stack.conferences()}


def _event_titles(stack: StackClient, calendar_id: str) -> dict[str, str]:
    """Conference id -> the title of its event, as the Calendar API returns it now."""
    return {
        e["conferenceData"]["conferenceId"]: e.get("summary", "")
        for e in stack.list_events(calendar_id)
        if e.get("conferenceData")
    }


def _matches(stack: StackClient, wanted: dict[str, str]) -> bool:
    titles = _titles(stack)
    return all(titles.get(conference) == title for conference, title in wanted.items())


def _insert(stack: StackClient, calendar_id: str, n: int, title: str) -> dict[str, Any]:
    """A new conference (as the add-on makes it) attached to a new event; the event."""
    start = _START + timedelta(minutes=30 * n)
    return stack.insert_event(
        calendar_id,
        stack.create_conference(owner=calendar_id),
        summary=title,
        start={"dateTime": start.isoformat()},
        end={"dateTime": (start + timedelta(minutes=30)).isoformat()},
    )


def _wait_quiet(stack: StackClient) -> float:
    """Wait until nothing moves for QUIET_S; seconds waited."""
    began = time.monotonic()
    last: tuple[int, int] | None = None
    since = began
    while True:
        now = (
            stack.calendar_calls().get("calendar.events.list", 0),
            len(stack.provider_requests()),
        )
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= QUIET_S:
            return time.monotonic() - began
        if time.monotonic() - began > QUIET_TIMEOUT_S:
            raise RuntimeError(f"the stack was not quiet after {QUIET_TIMEOUT_S:g} s")
        time.sleep(0.25)


def _adopted(stack: StackClient, calendars: Iterable[str]) -> dict[str, str]:
    """Wait until every conference of ``calendars`` shows its event's title; that mapping."""
    wanted: dict[str, str] = {}
    for calendar_id in calendars:
        wanted.update(_event_titles(stack, calendar_id))
    wait_until(
        lambda: _matches(stack, wanted), "the adoption", timeout=ADOPT_TIMEOUT_S, interval=0.2
    )
    _wait_quiet(stack)
    stack.reset_calendar_calls()
    stack.reset_provider_requests()
    return wanted


def _converge(
    stack: StackClient,
    calendars: list[str],
    edits: list[Callable[[], None]],
    *,
    threads: int,
    sync_log: SyncLog | None = None,
    cpu: PartCpu | None = None,
) -> dict[str, Any]:
    """Run ``edits`` on ``threads`` threads; the figures once the stack is quiet again (with the
    round trips per run the sync log shows meanwhile, when given one that shows any, and the
    parts' CPU per edit, when given ``cpu``)."""
    mark = sync_log.mark() if sync_log is not None else 0
    cpu_before = cpu.snapshot() if cpu is not None else {}
    began = time.monotonic()
    with ThreadPoolExecutor(threads) as pool:
        for future in [pool.submit(edit) for edit in edits]:
            future.result()
    edited = time.monotonic()
    wanted: dict[str, str] = {}
    for calendar_id in calendars:  # the truth, read with events.list calls the stack did not make
        wanted.update(_event_titles(stack, calendar_id))
    wait_until(
        lambda: _matches(stack, wanted), "convergence", timeout=CONVERGE_TIMEOUT_S, interval=0.02
    )
    converge = time.monotonic() - edited
    settle = _wait_quiet(stack)
    cpu_after = cpu.snapshot() if cpu is not None else {}
    figures: dict[str, Any] = {
        "list_calls": stack.calendar_calls().get("calendar.events.list", 0) - len(calendars),
        "conference_ops": len(stack.provider_requests()),
        "converge_s": round(converge, 2),
        "edits": len(edits),
        "edits_s": round(edited - began, 2),
        "quiet_after_converge_s": round(max(0.0, settle - QUIET_S), 2),
    }
    per_run = sync_log.round_trips_since(mark) if sync_log is not None else None
    if per_run is not None:
        figures["firestore_round_trips_per_run"] = per_run
    figures.update(PartCpu.per_run_ms(cpu_before, cpu_after, len(edits)))
    return figures


def burst(stack: StackClient, _sync_log: SyncLog, _cpu: PartCpu) -> dict[str, Any]:
    """The ``burst`` scenario on ``stack``; its figures."""
    n_events, n_edits = scaled(BURST_EVENTS, 5), scaled(BURST_EDITS, 50)
    events = [_insert(stack, BURST_CALENDAR, n, f"e{n} v0") for n in range(n_events)]
    stack.enroll(BURST_CALENDAR)
    _adopted(stack, [BURST_CALENDAR])
    due0 = time.monotonic() + 0.1

    def edit(i: int) -> Callable[[], None]:
        def run() -> None:
            time.sleep(max(0.0, due0 + i * BURST_SPREAD_S / n_edits - time.monotonic()))
            event = events[i % n_events]
            stack.patch_event(BURST_CALENDAR, event["id"], summary=f"e{i % n_events} v{i + 1}")

        return run

    figures = _converge(stack, [BURST_CALENDAR], [edit(i) for i in range(n_edits)], threads=8)
    figures["events"] = n_events
    figures["conference_ops_per_event"] = round(figures["conference_ops"] / n_events, 2)
    return figures


def fanout(stack: StackClient, sync_log: SyncLog, cpu: PartCpu) -> dict[str, Any]:
    """The ``fanout`` scenario on ``stack``; its figures."""
    calendars = [f"bench-fan-{n:04d}@example.com" for n in range(scaled(FANOUT_CALENDARS, 5))]
    events = [_insert(stack, calendar_id, 0, "v0") for calendar_id in calendars]
    began = time.monotonic()
    for calendar_id in calendars:
        stack.enroll(calendar_id)
    _adopted(stack, calendars)
    enrolled = time.monotonic() - began

    def edit(calendar_id: str, event: dict[str, Any]) -> Callable[[], None]:
        return lambda: stack.patch_event(calendar_id, event["id"], summary="v1")

    edits = [edit(c, e) for c, e in zip(calendars, events, strict=True)]
    figures = _converge(stack, calendars, edits, threads=16, sync_log=sync_log, cpu=cpu)
    figures["calendars"] = len(calendars)
    figures["enroll_and_adopt_s"] = round(enrolled, 2)
    return figures


_MEASURES: dict[str, Callable[[StackClient, SyncLog, PartCpu], dict[str, Any]]] = {
    "latency": lambda stack, _sync_log, _cpu: latency.measure(stack),
    "burst": burst,
    "fanout": fanout,
}


def run(selected: Iterable[str], say: Callable[[str], None] = print) -> list[dict[str, Any]]:
    """The selected scenarios on confsync, then on the baseline; one row per scenario."""
    names = [name for name in SCENARIOS if name in set(selected)]
    if not names:
        return []
    figures: dict[Variant, dict[str, dict[str, Any]]] = {"confsync": {}, "baseline": {}}
    for variant in ("confsync", "baseline"):
        started = time.monotonic()
        with logged_stack(variant, project=PROJECT) as (stack, plan, logs):
            say(f"  {variant} stack up in {time.monotonic() - started:.1f} s")
            sync_log = SyncLog(logs / "sync.log")
            cpu = PartCpu(plan.parts)
            for name in names:
                began = time.monotonic()
                figures[variant][name] = _MEASURES[name](stack, sync_log, cpu)
                say(f"  {variant} {name}: {time.monotonic() - began:.1f} s")
    return [
        {"name": name, **figures["confsync"][name], "baseline": figures["baseline"][name]}
        for name in names
    ]
