"""CloudSchedulerJobs (the real google-cloud-scheduler client) against an in-process fake of the
Cloud Scheduler API.

Cloud Scheduler has no emulator, so the test process serves ``google.cloud.scheduler.v1.
CloudScheduler``'s GetJob and RunJob itself over real gRPC, with the API's own message classes;
the client is pointed at it through ``client_options`` and a plain-text channel. Everything the
adapter relies on therefore crosses the wire as in production: the request naming the job, the
routing header, the Job message and the error status codes.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from concurrent import futures
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import grpc  # type: ignore[import-untyped]
import pytest
from google.auth.credentials import AnonymousCredentials
from google.auth.exceptions import DefaultCredentialsError
from google.cloud.scheduler_v1 import CloudSchedulerClient, GetJobRequest, Job, RunJobRequest
from google.cloud.scheduler_v1.services.cloud_scheduler.transports import (
    CloudSchedulerGrpcTransport,
)
from google.rpc import status_pb2  # type: ignore[import-untyped]

from confsync.cli import scheduler as scheduler_adapter
from confsync.cli.commands import job_json, job_line
from confsync.cli.scheduler import READER_ROLE, RUNNER_ROLE, CloudSchedulerJobs
from confsync.cli.status import SchedulerError, SchedulerJobStatus

pytestmark = pytest.mark.timeout(30)

SERVICE = "google.cloud.scheduler.v1.CloudScheduler"
JOB = "projects/my-project/locations/europe-west1/jobs/confsync-tick"
ATTEMPT = datetime(2026, 11, 24, 5, 55, tzinfo=UTC)


@dataclass
class Call:
    method: str
    name: str
    metadata: dict[str, str]


@dataclass
class FakeCloudScheduler:
    """GetJob and RunJob over the jobs it holds; ``refuse`` makes a method answer a status code."""

    jobs: dict[str, Job] = field(default_factory=dict)
    refuse: dict[str, Any] = field(default_factory=dict)  # method -> grpc.StatusCode
    calls: list[Call] = field(default_factory=list)

    def _answer(self, method: str, name: str, context: Any) -> Job:
        self.calls.append(Call(method, name, dict(context.invocation_metadata())))
        if method in self.refuse:
            context.abort(self.refuse[method], f"{method} refused by the test")
        if name not in self.jobs:
            context.abort(grpc.StatusCode.NOT_FOUND, "Job not found.")
        return self.jobs[name]

    def get_job(self, request: GetJobRequest, context: Any) -> Job:
        return self._answer("GetJob", request.name, context)

    def run_job(self, request: RunJobRequest, context: Any) -> Job:
        return self._answer("RunJob", request.name, context)

    def handler(self) -> Any:
        def unary(behaviour: Any, request_type: Any) -> Any:
            return grpc.unary_unary_rpc_method_handler(
                behaviour,
                request_deserializer=request_type.deserialize,
                response_serializer=Job.serialize,
            )

        return grpc.method_handlers_generic_handler(
            SERVICE,
            {
                "GetJob": unary(self.get_job, GetJobRequest),
                "RunJob": unary(self.run_job, RunJobRequest),
            },
        )


@pytest.fixture(name="api")
def api_fixture() -> Iterator[tuple[FakeCloudScheduler, int]]:
    fake = FakeCloudScheduler()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    server.add_generic_rpc_handlers((fake.handler(),))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield fake, port
    finally:
        server.stop(grace=None)


def _plain_channel(host: str, **_options: Any) -> Any:
    return grpc.insecure_channel(host)


@pytest.fixture(name="jobs")
def jobs_fixture(api: tuple[FakeCloudScheduler, int]) -> Iterator[CloudSchedulerJobs]:
    _, port = api
    client = CloudSchedulerClient(
        credentials=AnonymousCredentials(),
        client_options={"api_endpoint": f"127.0.0.1:{port}"},
        transport=functools.partial(CloudSchedulerGrpcTransport, channel=_plain_channel),
    )
    try:
        yield CloudSchedulerJobs(client)
    finally:
        client.transport.close()


def _job(**fields: Any) -> Job:
    job = Job(
        name=JOB,
        schedule="*/5 * * * *",
        time_zone="Etc/UTC",
        state=Job.State.ENABLED,
        last_attempt_time=ATTEMPT,
    )
    for name, value in fields.items():
        setattr(job, name, value)
    return job


def test_get_names_the_job_and_reads_state_schedule_and_last_attempt(
    api: tuple[FakeCloudScheduler, int], jobs: CloudSchedulerJobs
) -> None:
    fake, _ = api
    fake.jobs[JOB] = _job()

    job = jobs.get(JOB)

    assert job == SchedulerJobStatus(JOB, "ENABLED", "*/5 * * * *", "Etc/UTC", ATTEMPT, "OK")
    [call] = fake.calls
    assert (call.method, call.name) == ("GetJob", JOB)
    assert "name=projects/my-project" in call.metadata["x-goog-request-params"]
    assert job_line(job_json(JOB, job, None)) == (
        f"scheduler job {JOB}: ENABLED, schedule */5 * * * * (Etc/UTC), "
        "last attempt 2026-11-24T05:55:00Z OK"
    )


def test_a_failed_last_attempt_shows_its_code_and_message(
    api: tuple[FakeCloudScheduler, int], jobs: CloudSchedulerJobs
) -> None:
    fake, _ = api
    failed = status_pb2.Status(code=5, message="Topic projects/p/topics/channel-commands\n gone")
    fake.jobs[JOB] = _job(state=Job.State.PAUSED, status=failed)

    job = jobs.get(JOB)

    assert job.state == "PAUSED"
    assert job.last_attempt_status == "NOT_FOUND: Topic projects/p/topics/channel-commands gone"


def test_a_job_never_attempted_has_no_last_attempt(
    api: tuple[FakeCloudScheduler, int], jobs: CloudSchedulerJobs
) -> None:
    fake, _ = api
    fake.jobs[JOB] = Job(name=JOB, schedule="*/5 * * * *", state=Job.State.ENABLED)

    job = jobs.get(JOB)

    assert (job.time_zone, job.last_attempt_at, job.last_attempt_status) == ("", None, None)
    assert job_json(JOB, job, None)["lastAttemptAt"] is None


def test_run_asks_scheduler_to_run_that_job(
    api: tuple[FakeCloudScheduler, int], jobs: CloudSchedulerJobs
) -> None:
    fake, _ = api
    fake.jobs[JOB] = _job()

    job = jobs.run(JOB)

    assert job.name == JOB
    assert [(c.method, c.name) for c in fake.calls] == [("RunJob", JOB)]


@pytest.mark.parametrize("method", ["get", "run"])
def test_an_unknown_job_is_one_clear_line(
    method: str, api: tuple[FakeCloudScheduler, int], jobs: CloudSchedulerJobs
) -> None:
    other = JOB.replace("confsync-tick", "nope")

    with pytest.raises(SchedulerError) as raised:
        getattr(jobs, method)(other)

    assert str(raised.value) == (
        f"Cloud Scheduler job {other} not found (check CONFSYNC_SCHEDULER_JOB)"
    )
    assert len(api[0].calls) == 1  # a missing job is not retried


@pytest.mark.parametrize(
    ("method", "rpc", "needed"),
    [("get", "GetJob", f"read Cloud Scheduler job {JOB}: grant {READER_ROLE}"),
     ("run", "RunJob", f"run Cloud Scheduler job {JOB}: grant {RUNNER_ROLE}")],
)  # fmt: skip
def test_permission_denied_names_the_role_to_grant(
    method: str,
    rpc: str,
    needed: str,
    api: tuple[FakeCloudScheduler, int],
    jobs: CloudSchedulerJobs,
) -> None:
    fake, _ = api
    fake.jobs[JOB] = _job()
    fake.refuse[rpc] = grpc.StatusCode.PERMISSION_DENIED

    with pytest.raises(SchedulerError) as raised:
        getattr(jobs, method)(JOB)

    assert str(raised.value) == f"permission denied to {needed} to the caller"


def test_another_refusal_is_one_line_naming_the_job(
    api: tuple[FakeCloudScheduler, int], jobs: CloudSchedulerJobs
) -> None:
    fake, _ = api
    fake.jobs[JOB] = _job()
    fake.refuse["RunJob"] = grpc.StatusCode.FAILED_PRECONDITION

    with pytest.raises(SchedulerError) as raised:
        jobs.run(JOB)

    message = str(raised.value)
    assert message.startswith(f"Cloud Scheduler could not run job {JOB}: ")
    assert "RunJob refused by the test" in message
    assert "\n" not in message


def test_missing_credentials_are_one_line_with_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_credentials() -> CloudSchedulerClient:
        raise DefaultCredentialsError("Your default credentials were not found.")

    monkeypatch.setattr(scheduler_adapter, "CloudSchedulerClient", no_credentials)

    with pytest.raises(SchedulerError) as raised:
        CloudSchedulerJobs().run(JOB)

    assert str(raised.value) == (
        "Google credentials for Cloud Scheduler: Your default credentials were not found. "
        "(gcloud auth application-default login)"
    )
