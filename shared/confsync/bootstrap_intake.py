"""The intake function's composition root, apart from :mod:`confsync.bootstrap`.

Intake needs only Pub/Sub. Importing the whole composition root would also import Firestore, the
Calendar API client and the conferencing adapter, which intake never uses and which cost about a
third of its cold-start import time (``make bench``, scenario ``coldstart``).
"""

from __future__ import annotations

from confsync.adapters.pubsub_publisher import PubsubSyncRequestPublisher, low_latency_publisher
from confsync.config import IntakeConfig
from confsync.intake import IntakeService

__all__ = ["INTAKE_PUBLISH_TIMEOUT_S", "build_intake_service"]

INTAKE_PUBLISH_TIMEOUT_S = 5.0
"""How long intake waits for Pub/Sub to accept a SyncRequest before answering 503 (Google retries).
Pub/Sub usually accepts within milliseconds; a request that is accepted later is only a duplicate,
and duplicates are coalesced by the sync."""


def build_intake_service(
    config: IntakeConfig, *, publish_timeout: float = INTAKE_PUBLISH_TIMEOUT_S
) -> IntakeService:
    """An IntakeService publishing to Pub/Sub at once (no batching delay); no Firestore."""
    publisher = PubsubSyncRequestPublisher(
        low_latency_publisher(), config.project, config.sync_topic, timeout=publish_timeout
    )
    return IntakeService(
        publisher=publisher, keys=config.token_keys, max_body_bytes=config.max_body_bytes
    )
