"""Pub/Sub publisher adapters: SyncRequests to the ``sync-requests`` topic, channel commands (the
fan-out batches of a tick) to the ``channel-commands`` topic.

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
from confsync.messages import (
    ChannelCommand,
    SyncRequest,
    encode_channel_command,
    encode_sync_request,
)

__all__ = ["PubsubChannelCommandPublisher", "PubsubSyncRequestPublisher", "low_latency_publisher"]


def low_latency_publisher() -> PublisherClient:
    """A publisher that sends each message at once instead of batching for up to 10 ms.

    ``max_messages=1`` closes every batch as soon as it holds its message; ``max_latency`` is
    infinite so no timer thread is started per batch (measured against the emulator: 0.86 ms of CPU
    per publish instead of 1.08 ms with ``max_latency=0``).
    """
    return PublisherClient(batch_settings=BatchSettings(max_messages=1, max_latency=float("inf")))


class _TopicPublisher:
    """Publishes to one topic and waits until Pub/Sub has accepted each message."""

    def __init__(
        self, client: PublisherClient, project: str, topic: str, timeout: float = 30.0
    ) -> None:
        self._client = client
        self._topic = client.topic_path(project, topic)
        self._timeout = timeout

    def _send(self, data: bytes, **attributes: str) -> None:
        try:
            future = self._client.publish(self._topic, data, **attributes)
            future.result(timeout=self._timeout)
        except (gexc.GoogleAPICallError, gexc.RetryError, FutureTimeout, RuntimeError) as err:
            raise PublishError(f"publishing to {self._topic} failed: {err}") from err


class PubsubSyncRequestPublisher(_TopicPublisher):
    """Publishes SyncRequests to one topic (attribute ``reason``)."""

    def publish(self, request: SyncRequest) -> None:
        """Publish ``request`` and wait until Pub/Sub has accepted it."""
        self._send(encode_sync_request(request), reason=request.reason)


class PubsubChannelCommandPublisher(_TopicPublisher):
    """Publishes channel commands to one topic (attribute ``command``: the command's kind)."""

    def publish(self, command: ChannelCommand) -> None:
        """Publish ``command`` and wait until Pub/Sub has accepted it."""
        kind = type(command).__name__.removesuffix("Command").lower()
        self._send(encode_channel_command(command), command=kind)
