"""Pub/Sub publisher adapters: SyncRequests to the ``sync-requests`` topic, channel commands (the
fan-out batches of a tick) to the ``channel-commands`` topic.

``publish`` returns only once Pub/Sub has accepted the message, so a caller that answers "done"
after it never loses a request; any failure becomes :class:`~confsync.errors.PublishError`
(transient: the caller retries or answers 503). Messages go out one by one over Pub/Sub's REST API
(:mod:`confsync.adapters.pubsub_rest`), not through google-cloud-pubsub, whose import cost more
than half of intake's cold start.
"""

from __future__ import annotations

from confsync.adapters.pubsub_rest import PubsubRestClient, RestPublishError
from confsync.errors import PublishError
from confsync.messages import (
    ChannelCommand,
    SyncRequest,
    encode_channel_command,
    encode_sync_request,
)

__all__ = ["PubsubChannelCommandPublisher", "PubsubSyncRequestPublisher", "low_latency_publisher"]


def low_latency_publisher() -> PubsubRestClient:
    """A publisher that sends each message at once (no batching delay), to the emulator when
    ``PUBSUB_EMULATOR_HOST`` is set."""
    return PubsubRestClient.from_environment()


class _TopicPublisher:
    """Publishes to one topic and waits until Pub/Sub has accepted each message."""

    def __init__(
        self, client: PubsubRestClient, project: str, topic: str, timeout: float = 30.0
    ) -> None:
        self._client = client
        self._topic = client.topic_path(project, topic)
        self._timeout = timeout

    def _send(self, data: bytes, **attributes: str) -> None:
        try:
            self._client.publish(self._topic, data, attributes, timeout=self._timeout)
        except RestPublishError as err:
            raise PublishError(str(err)) from err


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
