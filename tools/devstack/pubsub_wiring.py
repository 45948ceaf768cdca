"""Topics and subscriptions of the local stack, through the Pub/Sub emulator's REST API.

In production Terraform (``terraform/delivery.tf``) subscribes each CloudEvent function to its
topic with a push subscription (ack deadline 600 s, retry and dead-letter policy). Locally the same
push subscription is created on the emulator: its endpoint is the function's URL with
``/projects/P/topics/T`` in the path, as in production, so functions-framework turns the same push
envelope into the same ``messagePublished`` CloudEvent. The emulator honours ``retryPolicy`` and
``deadLetterPolicy``; it sends no OIDC token (production's is checked by Cloud Run, never by the
functions, so nothing differs for them). tests/terraform checks the deadline and attempts match.

Locally the retry backoff is 1 s to 60 s (production: 10 s to 600 s) so a failing handler is
retried, and dead-lettered after 5 attempts, within about a minute. Dead letters are kept by a pull
subscription for inspection.

Standard library only (``urllib``): the scheduler stand-in and ``devstack tick`` use it too.
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "ACK_DEADLINE_SECONDS",
    "MAX_BACKOFF",
    "MAX_DELIVERY_ATTEMPTS",
    "MIN_BACKOFF",
    "PubsubRest",
    "PushSubscription",
    "ReceivedMessage",
    "WiringError",
    "push_subscription_body",
]

ACK_DEADLINE_SECONDS = 600  # as production (terraform/delivery.tf)
MIN_BACKOFF = "1s"  # production: 10s
MAX_BACKOFF = "60s"  # production: 600s
MAX_DELIVERY_ATTEMPTS = 5


class WiringError(RuntimeError):
    """The Pub/Sub emulator refused a request; the message has its answer."""


@dataclass(frozen=True)
class PushSubscription:
    """A push subscription feeding a function, as terraform/delivery.tf declares one."""

    name: str
    topic: str
    endpoint: str


@dataclass(frozen=True)
class ReceivedMessage:
    """One pulled message."""

    ack_id: str
    data: bytes
    attributes: Mapping[str, str]
    message_id: str


def push_subscription_body(
    project: str, subscription: PushSubscription, dead_letter_topic: str
) -> dict[str, Any]:
    """The REST body that creates ``subscription``, with retry and dead-letter policies."""
    return {
        "topic": f"projects/{project}/topics/{subscription.topic}",
        "pushConfig": {"pushEndpoint": subscription.endpoint},
        "ackDeadlineSeconds": ACK_DEADLINE_SECONDS,
        "retryPolicy": {"minimumBackoff": MIN_BACKOFF, "maximumBackoff": MAX_BACKOFF},
        "deadLetterPolicy": {
            "deadLetterTopic": f"projects/{project}/topics/{dead_letter_topic}",
            "maxDeliveryAttempts": MAX_DELIVERY_ATTEMPTS,
        },
    }


class PubsubRest:
    """A minimal client of the emulator's REST API for one project."""

    def __init__(self, host: str, project: str, timeout: float = 10.0) -> None:
        self.host = host
        self.project = project
        self.timeout = timeout

    def _call(
        self, method: str, path: str, body: Mapping[str, Any] | None = None
    ) -> tuple[int, dict[str, Any]]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            f"http://{self.host}/v1/projects/{self.project}/{path}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                raw = response.read()
                status: int = response.status
        except urllib.error.HTTPError as err:
            raw, status = err.read(), err.code
        except OSError as err:
            raise WiringError(f"Pub/Sub emulator at {self.host} unreachable: {err}") from err
        try:
            answer = json.loads(raw) if raw.strip() else {}
        except json.JSONDecodeError:
            answer = {"raw": raw.decode(errors="replace")}
        return status, answer if isinstance(answer, dict) else {"value": answer}

    def _expect(
        self, method: str, path: str, body: Mapping[str, Any] | None, *ok: int
    ) -> dict[str, Any]:
        status, answer = self._call(method, path, body)
        if status not in (200, *ok):
            raise WiringError(f"{method} {path}: HTTP {status} {json.dumps(answer)}")
        return answer

    def ensure_topic(self, topic: str) -> None:
        """Create ``topic`` unless it exists."""
        self._expect("PUT", f"topics/{topic}", {}, 409)

    def subscription(self, name: str) -> dict[str, Any] | None:
        """The subscription's configuration, or None when it does not exist.

        Found by listing (a GET of a missing subscription logs an exception in the emulator).
        """
        answer = self._expect("GET", "subscriptions?pageSize=1000", None)
        full_name = f"projects/{self.project}/subscriptions/{name}"
        for item in answer.get("subscriptions", []):
            if isinstance(item, dict) and item.get("name") == full_name:
                return item
        return None

    def ensure_push_subscription(
        self, subscription: PushSubscription, dead_letter_topic: str
    ) -> None:
        """Create the push subscription, or re-create it when its configuration differs."""
        body = push_subscription_body(self.project, subscription, dead_letter_topic)
        existing = self.subscription(subscription.name)
        if existing is not None:
            if all(existing.get(key) == value for key, value in body.items()):
                return
            self._expect("DELETE", f"subscriptions/{subscription.name}", None, 404)
        self._expect("PUT", f"subscriptions/{subscription.name}", body)

    def ensure_pull_subscription(self, name: str, topic: str) -> None:
        """Create a pull subscription on ``topic`` unless it exists (messages kept 7 days)."""
        body = {"topic": f"projects/{self.project}/topics/{topic}", "ackDeadlineSeconds": 60}
        self._expect("PUT", f"subscriptions/{name}", body, 409)

    def publish(self, topic: str, data: bytes, attributes: Mapping[str, str] | None = None) -> str:
        """Publish one message; return its message id."""
        message: dict[str, Any] = {"data": base64.b64encode(data).decode()}
        if attributes:
            message["attributes"] = dict(attributes)
        answer = self._expect("POST", f"topics/{topic}:publish", {"messages": [message]})
        ids = answer.get("messageIds") or [""]
        return str(ids[0])

    def pull(self, subscription: str, max_messages: int = 100) -> list[ReceivedMessage]:
        """Pull what is available now (no waiting); the messages are not acknowledged."""
        answer = self._expect(
            "POST",
            f"subscriptions/{subscription}:pull",
            {"maxMessages": max_messages, "returnImmediately": True},
        )
        received: list[ReceivedMessage] = []
        for item in answer.get("receivedMessages", []):
            message = item.get("message", {})
            received.append(
                ReceivedMessage(
                    ack_id=str(item.get("ackId", "")),
                    data=base64.b64decode(message.get("data", "")),
                    attributes=dict(message.get("attributes", {})),
                    message_id=str(message.get("messageId", "")),
                )
            )
        return received
