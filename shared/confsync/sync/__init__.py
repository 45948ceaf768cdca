"""The sync runner: one coalesced, idempotent incremental sync of one calendar.

Implements Google's incremental-sync recipe (https://developers.google.com/workspace/calendar/api/guides/sync)
for conference data (https://developers.google.com/workspace/add-ons/calendar/conferencing/sync-calendar-changes),
with the defects of the published sample fixed. One :meth:`SyncRunner.run` call
(:mod:`~confsync.sync.runner`):

1. Loads the calendar; a calendar that is not syncing is skipped (ack). A notification from a
   channel that was not live when intake received it (the calendar's ``channels`` windows) is
   **dropped** (ack, WARNING, summary status ``dropped``). A notification stamped at
   least ``skew`` before the stored token's pull began is **covered** (ack, nothing written): that
   pull already returned the change Google told us about. Pub/Sub may deliver notifications many
   seconds late under load, and each would otherwise cost a pull. (:mod:`~confsync.sync.lease`)
2. **Single flight.** Takes the calendar's lease with an optimistic write. When another run holds
   it, increments the calendar's ``notify_seq`` and returns: the owner compares ``notify_seq`` when
   it commits and pulls again, so a notification that arrives during a pull is never lost.
   (:mod:`~confsync.sync.lease`)
3. **Pull.** ``events.list`` with the stored sync token, every page to the end. No token, or a 410:
   one windowed full sync (a second 410 is a transient error, never a loop), then reconciliation:
   every stored record whose events the full sync did not return is confirmed with ``events.get``,
   because deletions made while no token was valid never come back as tombstones. Each page's
   ``accessRole`` is checked before the page is planned: below ``writer`` (the view may lack
   ``conferenceData``), the run plans and sends nothing more, stores no token and disconnects
   the calendar (reason ``access_role``); a page without ``accessRole`` is trusted.
   (:mod:`~confsync.sync.pull`)
4. **Each page:** plan (pure, :mod:`confsync.planner`); learn the owner of each conference met for
   the first time (one ``owner_of``, kept on the record) and keep only the operations of records
   whose calendar acts for their conference: the owner is its events' organizer or its subject,
   ignoring case; every other calendar carrying it holds a reference that never sends or writes back
   (:mod:`~confsync.sync.owners`, :mod:`confsync.ownership`); send the operations to the
   conferencing system with bounded concurrency (:mod:`~confsync.sync.send`), write join details
   back (``If-Match``, :mod:`~confsync.sync.write_back`): a join URL the provider answered that the
   record did not know goes to every event carrying the conference (events not on the page are read
   first); the known URL goes to events on the page that show another, even when nothing was sent
   (repair on sight, no read). Then persist the touched records (a write-back that fails for now
   fails the run before the records say "done", so the redelivery repeats it). An operation that
   keeps failing is recorded as pending on its record; the token still advances and a later run
   retries it, until its budget runs out. Series exceptions whose series is not attached yet wait
   for it for the rest of the run; in an incremental pull, a series that newly attaches to a record
   (its conference added or replaced) is looked up once by ``iCalUID``, because its earlier
   exceptions never come back as changes. Deletes are never sent from a page: each is queued as a
   pending operation due after the delete grace, for the deletion brake.
   (:mod:`~confsync.sync.apply`)
5. **Commit.** The deletion brake counts the calendar's unsent deletes: more than
   ``delete_brake`` and all of them are held for an operator, with one ERROR line
   (:mod:`~confsync.sync.brake`). Pending operations that are due, deletes the brake let
   through among them, are retried (:mod:`~confsync.sync.pending`); a delete is re-checked as it
   falls due and cancelled when the meeting goes on on another enrolled calendar (moved, a
   duplicate, a new organizer: :mod:`~confsync.sync.grace`);
   then the new sync token is stored with its pull's start (only now: every page's effects are
   durable) and the lease released, with the calendar's next sweep (planned by need from what the
   run found, :mod:`confsync.sweep_policy`), if ``notify_seq`` did not move. If it moved but every
   request since was stamped ``skew`` before this pull began (``notified_max_ms``), the pull
   covered them: commit again without pulling. Otherwise **settle**: wait while requests keep
   arriving (``settle`` steps, at most ``settle_max``) so the next pull takes in the rest of a
   burst, then pull again, at most ``max_rounds`` times, then re-publish a request. The first
   pull is never delayed. (:mod:`~confsync.sync.lease`, rounds in :mod:`~confsync.sync.runner`)

Errors: Calendar 429/5xx (after the adapter's own retries) and store failures propagate, so the
entry point raises and Pub/Sub redelivers; revoked access, or an access role below ``writer``,
marks the calendar disconnected and acks.

The rest of the package: :mod:`~confsync.sync.settings` (:class:`SyncSettings`),
:mod:`~confsync.sync.state` (what a run carries between the parts) and
:mod:`~confsync.sync.summary` (counters, outcome, the summary log line; every part logs as
``confsync.sync``).
"""

from confsync.sync.runner import SyncPorts, SyncRunner
from confsync.sync.settings import SyncSettings
from confsync.sync.summary import Status, SyncOutcome, SyncStats

__all__ = ["Status", "SyncOutcome", "SyncPorts", "SyncRunner", "SyncSettings", "SyncStats"]
