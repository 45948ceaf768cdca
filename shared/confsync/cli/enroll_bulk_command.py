"""``confsync enroll`` for many calendars: ``--from-file``, ``--all-owned``, ``--domain``.

Each source becomes an :class:`~confsync.cli.enroll_plan.EnrollPlan` (every entry checked before
anything is published), which :func:`~confsync.cli.bulk_enroll.enroll_all` publishes at ``--rate``
per second; the summary goes to stdout (:mod:`confsync.cli.bulk_report`), the progress to stderr
(:mod:`confsync.cli.progress`).

========================================  =======================================================
source                                    entries
========================================  =======================================================
``--from-file FILE`` (``-``: stdin)       one ``subject[,calendarId]`` per line, ``#`` comments
``--subject EMAIL --all-owned``           the subject's ``calendarList`` entries it owns
``--domain DOMAIN --admin EMAIL``         each user of the domain (not suspended or archived),
                                          their primary calendar; listed as the administrator
========================================  =======================================================

The default rate, :data:`DEFAULT_RATE` enrolments per second, comes from Google's Calendar
quotas: 10,000 requests per minute per project and 600 per minute per user. A first enrolment
costs about three Calendar calls (``events.watch``, the first ``events.list`` page, sometimes a
``channels.stop``), so 20 per second is about 3,600 calls a minute: a third of the project's
quota, leaving the rest to the syncs and renewals already running (and to the syncs the new
calendars start). ``--all-owned`` enrols calendars of one user, which all spend that user's 600
a minute: its default is :data:`DEFAULT_RATE_ONE_USER` per second (about 360 calls a minute).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TextIO

from confsync.cli.bulk_enroll import BulkResult, enroll_all, exit_code, wait_for
from confsync.cli.bulk_report import summary_json, summary_text
from confsync.cli.enroll_plan import EnrollPlan, plan_entries, plan_lines
from confsync.cli.progress import Progress
from confsync.cli.rate import TokenBucket, default_burst
from confsync.domains import DomainAllowList
from confsync.ports import CalendarStore, ChannelCommandPublisher

if TYPE_CHECKING:
    from confsync.cli.directory import CalendarDirectory

__all__ = [
    "DEFAULT_RATE",
    "DEFAULT_RATE_ONE_USER",
    "RATE_HELP",
    "WAIT_POLL_S",
    "BulkRequest",
    "SourceRefusedError",
    "plan_of",
    "run_bulk",
]

DEFAULT_RATE = 20.0
DEFAULT_RATE_ONE_USER = 2.0
WAIT_POLL_S = 2.0
"""How often ``--wait`` reads the published calendars' records (in batches)."""

RATE_HELP = (
    f"enroll commands published per second (default {DEFAULT_RATE:g}, with --all-owned "
    f"{DEFAULT_RATE_ONE_USER:g}): a first enrolment costs 2 Calendar calls (events.watch and "
    "the first events.list; more for a calendar with many events), and Google allows 10,000 a "
    "minute per project and 600 a minute per user: the default spends about a quarter of the "
    "project's quota (--all-owned: about 40%% of the one user's) and leaves the rest to the "
    "syncs already running"
)


class SourceRefusedError(Exception):
    """The source itself is refused (its subject or domain is not allowed): nothing is listed."""


@dataclass(frozen=True, slots=True)
class BulkRequest:
    """One bulk ``confsync enroll``, from its arguments."""

    from_file: TextIO | None
    subject: str | None
    all_owned: bool
    domain: str | None
    admin: str | None
    rate: float | None
    wait_s: float | None
    as_json: bool

    @property
    def effective_rate(self) -> float:
        if self.rate is not None:
            return self.rate
        return DEFAULT_RATE_ONE_USER if self.all_owned else DEFAULT_RATE


def plan_of(
    request: BulkRequest,
    allowed: DomainAllowList,
    directory: Callable[[], CalendarDirectory],
) -> EnrollPlan:
    """The checked entries of the request's source; SourceRefusedError when it is refused."""
    if request.from_file is not None:
        return plan_lines(request.from_file, allowed)
    if request.all_owned and request.subject is not None:
        problem = allowed.refusal(request.subject)
        if problem is not None:
            raise SourceRefusedError(f"{request.subject}: {problem}")
        owned = directory().owned_calendars(request.subject)
        entries = [(request.subject, calendar_id) for calendar_id in owned]
        return plan_entries(entries, allowed, f"calendar list of {request.subject}")
    if request.domain is not None and request.admin is not None:
        domain = request.domain.strip().lower()
        if not allowed.any_domain and domain not in allowed.domains:
            raise SourceRefusedError(f"domain {domain} is not in CONFSYNC_ALLOWED_DOMAINS")
        users = directory().domain_users(domain, request.admin)
        return plan_entries([(user, "primary") for user in users], allowed, f"domain {domain}")
    raise SourceRefusedError("name what to enroll: --from-file, --subject --all-owned, or --domain")


def run_bulk(
    request: BulkRequest,
    plan: EnrollPlan,
    *,
    store: CalendarStore,
    publisher: ChannelCommandPublisher,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Publish the plan, wait if asked, print the summary (``out``: stdout; the progress on
    ``err``: stderr); the exit code."""
    out = sys.stdout if out is None else out
    err = sys.stderr if err is None else err
    rate = request.effective_rate
    bucket = TokenBucket(rate, burst=default_burst(rate), clock=clock, sleep=sleep)

    def progress(total: int) -> Progress:
        return Progress("enroll", total, err, tty=err.isatty(), clock=clock)

    result, before = enroll_all(
        plan, store=store, publisher=publisher, bucket=bucket, clock=clock, progress=progress
    )
    if request.wait_s is not None:
        wait_for(
            result,
            before,
            store=store,
            seconds=request.wait_s,
            poll_s=WAIT_POLL_S,
            clock=clock,
            sleep=sleep,
        )
    _print(result, request.as_json, out)
    return exit_code(result)


def _print(result: BulkResult, as_json: bool, out: TextIO) -> None:
    if as_json:
        print(json.dumps(summary_json(result)), file=out)
    else:
        print(summary_text(result), file=out)
