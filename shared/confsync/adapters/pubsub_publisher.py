"""Pub/Sub publisher adapter: SyncRequests to the ``sync-requests`` topic.

``publish`` returns only once Pub/Sub has accepted the message (the future's result), so a caller
that answers "done" after it never loses a request; any failure becomes
:class:`~confsync.errors.PublishError` (transient: the caller retries or answers 503).
"""

from __future__ import annotations

from concurrent.futures import TimeoutError as FutureTimeout

from google.api_core import exceptions as gexc
from google.cloud.pubsub_v1 import PublisherClient
from google.cloud.pubsub_v1.types import BatchSettings

from confsync.errors import PublishError
from confsync.messages import SyncRequest, encode_sync_request

__all__ = ["PubsubSyncRequestPublisher", "low_latency_publisher"]


def low_latency_publisher() -> PublisherClient:
    """A publisher that sends at once instead of batching for up to 10 ms."""
    return PublisherClient(batch_settings=BatchSettings(max_messages=1, max_latency=0.0))


class PubsubSyncRequestPublisher:
    """Publishes SyncRequests to one topic."""

    def __init__(
        self, client: PublisherClient, project: str, topic: str, timeout: float = 30.0
    ) -> None:
        self._client = client
        self._topic = client.topic_path(project, topic)
        self._timeout = timeout

    def publish(self, request: SyncRequest) -> None:
        """Publish ``request`` and wait until Pub/Sub has accepted it."""
        try:
            future = self._client.publish(
                self._topic, encode_sync_request(request), reason=request.reason
            )
            future.result(timeout=self._timeout)
        except (gexc.GoogleAPICallError, gexc.RetryError, FutureTimeout, RuntimeError) as err:
            raise PublishError(f"publishing to {self._topic} failed: {err}") from err
