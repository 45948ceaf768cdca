"""Cloud Scheduler's tick job, for the command line: read it (``status``) and run it now (``tick``).

In production the tick is a Cloud Scheduler job publishing to ``channel-commands``; running that
job (``RunJob``) rather than publishing a tick ourselves sends the tick down the same path as the
scheduled ones, and Scheduler records the attempt. google-cloud-scheduler is the ``cli`` extra,
not part of the functions' bundles (neither is this package): only :mod:`confsync.cli.commands`
imports this module, lazily.

Every failure becomes a :class:`~confsync.cli.status.SchedulerError` with one line naming the job
and, for a refusal, the role that is missing. Calls are bounded (:data:`CALL_TIMEOUT_S`) because
the generated client's defaults allow a call to take ten minutes, too long for a person at a
prompt.
Reference: https://cloud.google.com/scheduler/docs/reference/rpc/google.cloud.scheduler.v1
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from functools import cached_property

from google.api_core import exceptions as api_exceptions
from google.api_core import retry as api_retry
from google.auth import exceptions as auth_exceptions
from google.cloud.scheduler_v1 import CloudSchedulerClient, Job

from confsync.cli.status import SchedulerError, SchedulerJobStatus

__all__ = ["CALL_TIMEOUT_S", "READER_ROLE", "RUNNER_ROLE", "CloudSchedulerJobs", "job_status"]

CALL_TIMEOUT_S = 20.0
"""The longest a read or a run may take, retries included."""

RUNNER_ROLE = "roles/cloudscheduler.jobRunner"
"""The predefined role that grants ``cloudscheduler.jobs.run``."""

READER_ROLE = "roles/cloudscheduler.viewer"
"""The predefined role that grants ``cloudscheduler.jobs.get``."""


def _retry_reads() -> api_retry.Retry:
    """Reads are retried on Scheduler's transient codes, within :data:`CALL_TIMEOUT_S`."""
    return api_retry.Retry(
        initial=0.2,
        maximum=2.0,
        multiplier=2.0,
        predicate=api_retry.if_exception_type(
            api_exceptions.ServiceUnavailable, api_exceptions.DeadlineExceeded
        ),
        timeout=CALL_TIMEOUT_S,
    )


_CODE_NAMES = (
    "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
    "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED",
    "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
)  # fmt: skip
"""``google.rpc.Code`` names by number (``Job.status`` is a ``google.rpc.Status``)."""


def _last_attempt_status(job: Job) -> str | None:
    """``OK``, ``CODE: message`` of the last attempt, or None when there was none."""
    if job.last_attempt_time is None:
        return None
    code: int = job.status.code if "status" in job else 0
    if code == 0:
        return "OK"
    name = _CODE_NAMES[code] if 0 < code < len(_CODE_NAMES) else f"code {code}"
    message = " ".join(job.status.message.split())
    return f"{name}: {message}" if message else name


def job_status(job: Job) -> SchedulerJobStatus:
    """The operator's view of ``job`` (see :class:`~confsync.cli.status.SchedulerJobStatus`)."""
    attempted: datetime | None = job.last_attempt_time
    return SchedulerJobStatus(
        name=job.name,
        state=Job.State(job.state).name,
        schedule=job.schedule,
        time_zone=job.time_zone,
        last_attempt_at=attempted,
        last_attempt_status=_last_attempt_status(job),
    )


class CloudSchedulerJobs:
    """Reads and runs Scheduler jobs with google-cloud-scheduler's client.

    ``client`` is made on first use from the caller's Application Default Credentials unless one
    is given (the tests give one pointed at an in-process fake of the API).
    """

    def __init__(self, client: CloudSchedulerClient | None = None) -> None:
        self._given = client

    @cached_property
    def _client(self) -> CloudSchedulerClient:
        return self._given or CloudSchedulerClient()

    def get(self, name: str) -> SchedulerJobStatus:
        """The job ``name`` as Scheduler holds it now."""
        with _translated("read", name, READER_ROLE):
            job = self._client.get_job(name=name, retry=_retry_reads(), timeout=CALL_TIMEOUT_S)
        return job_status(job)

    def run(self, name: str) -> SchedulerJobStatus:
        """Run the job ``name`` now (not retried: Scheduler may have run it already)."""
        with _translated("run", name, RUNNER_ROLE):
            job = self._client.run_job(name=name, timeout=CALL_TIMEOUT_S)
        return job_status(job)


def _first_line(err: BaseException) -> str:
    return " ".join(str(err).split()) or type(err).__name__


@contextmanager
def _translated(action: str, name: str, role: str) -> Iterator[None]:
    """Turn the client's exceptions into one :class:`SchedulerError` line for the operator."""
    try:
        yield
    except api_exceptions.NotFound as err:
        raise SchedulerError(
            f"Cloud Scheduler job {name} not found (check CONFSYNC_SCHEDULER_JOB)"
        ) from err
    except api_exceptions.PermissionDenied as err:
        raise SchedulerError(
            f"permission denied to {action} Cloud Scheduler job {name}: grant {role} to the caller"
        ) from err
    except api_exceptions.GoogleAPIError as err:
        raise SchedulerError(
            f"Cloud Scheduler could not {action} job {name}: {_first_line(err)}"
        ) from err
    except auth_exceptions.GoogleAuthError as err:
        raise SchedulerError(
            f"Google credentials for Cloud Scheduler: {_first_line(err)} "
            "(gcloud auth application-default login)"
        ) from err
