"""The three ways a Pub/Sub message reaches a function, as the function tests send them.

- ``push``: what the local stack's push subscription POSTs (the emulator's envelope);
- ``production_push``: what production's push subscription (``terraform/delivery.tf``) POSTs: the
  same envelope with the fields the emulator leaves out (delivery attempt, snake_case twins) and
  an OIDC token, which Cloud Run checks before the function sees the request;
- ``eventarc``: what an Eventarc trigger POSTs (production's path before push subscriptions): a
  binary-mode CloudEvent, still accepted.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import Flask

__all__ = ["Deliveries"]

_PUBLISHED = "2026-11-24T09:00:00.000Z"


@dataclass(frozen=True)
class Deliveries:
    """Deliveries of messages published on ``topic`` of project ``project``."""

    project: str
    topic: str
    subscription: str
    """Production's push subscription's name (the local one is named after the function)."""
    message_id: str = "1234"
    attributes: Mapping[str, str] = field(default_factory=dict)

    @property
    def path(self) -> str:
        """Where push subscriptions POST: the topic's path on the function's address."""
        return f"/projects/{self.project}/topics/{self.topic}"

    def message(self, payload: bytes) -> dict[str, Any]:
        return {
            "data": base64.b64encode(payload).decode(),
            "attributes": dict(self.attributes),
            "messageId": self.message_id,
            "publishTime": _PUBLISHED,
        }

    def push(self, app: Flask, payload: bytes) -> Any:
        envelope = {
            "message": self.message(payload),
            "subscription": "projects/p/subscriptions/local",
        }
        return app.test_client().post(self.path, json=envelope)

    def production_push(self, app: Flask, payload: bytes) -> Any:
        message = self.message(payload)
        message.update(message_id=message["messageId"], publish_time=message["publishTime"])
        envelope = {
            "message": message,
            "subscription": f"projects/p/subscriptions/{self.subscription}",
            "deliveryAttempt": 2,
        }
        headers = {"Authorization": "Bearer header.payload.signature"}
        return app.test_client().post(self.path, json=envelope, headers=headers)

    def eventarc(self, app: Flask, payload: bytes) -> Any:
        headers = {
            "ce-id": self.message_id,
            "ce-specversion": "1.0",
            "ce-source": f"//pubsub.googleapis.com/projects/p/topics/{self.topic}",
            "ce-type": "google.cloud.pubsub.topic.v1.messagePublished",
            "ce-time": _PUBLISHED,
        }
        body = {
            "message": self.message(payload),
            "subscription": "projects/p/subscriptions/eventarc",
        }
        return app.test_client().post("/", json=body, headers=headers)
