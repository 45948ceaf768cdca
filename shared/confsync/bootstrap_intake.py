"""The intake function's composition root, apart from :mod:`confsync.bootstrap`.

Intake needs only Pub/Sub. Importing the whole composition root would also import Firestore, the
Calendar API client and the conferencing adapter, which intake never uses and which cost about a
third of its cold-start import time (``make bench``, scenario ``coldstart``). For the same reason
the enrolment service (:func:`build_enroll_service`) imports its modules, google-auth's JWT code
among them, only when it is built, on the first ``/v1/enroll`` request.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from confsync.adapters.pubsub_publisher import (
    PubsubChannelCommandPublisher,
    PubsubSyncRequestPublisher,
    low_latency_publisher,
)
from confsync.config import IntakeConfig
from confsync.intake import IntakeService

if TYPE_CHECKING:
    from confsync.enroll_intake import EnrollIntakeService

__all__ = ["INTAKE_PUBLISH_TIMEOUT_S", "build_enroll_service", "build_intake_service"]

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


def build_enroll_service(
    config: IntakeConfig, *, publish_timeout: float = INTAKE_PUBLISH_TIMEOUT_S
) -> EnrollIntakeService:
    """The ``/v1/enroll`` service: Google ID tokens verified against the certificates at
    ``id_token_certs_url`` (cached in the process), enroll commands published at once to
    ``commands_topic``; no verifier (every request 404) when no audience is configured."""
    from confsync.adapters.google_id_tokens import (  # noqa: PLC0415 - see the module
        GoogleIdTokenVerifier,
        certs_fetcher,
    )
    from confsync.enroll_intake import EnrollIntakeService  # noqa: PLC0415 - see the module
    from confsync.id_token_certs import CertsCache  # noqa: PLC0415 - see the module

    verifier = None
    if config.enroll_audiences:
        certs = CertsCache(certs_fetcher(config.id_token_certs_url))
        verifier = GoogleIdTokenVerifier(certs, config.enroll_audiences)
    publisher = PubsubChannelCommandPublisher(
        low_latency_publisher(), config.project, config.commands_topic, timeout=publish_timeout
    )
    return EnrollIntakeService(
        publisher=publisher,
        verifier=verifier,
        allowed_domains=config.allowed_domains,
        max_body_bytes=config.max_body_bytes,
    )
