"""A minimal Pub/Sub publisher over the REST API: one ``topics.publish`` call per message.

The functions only ever publish, one message at a time, and wait for it to be accepted. The
google-cloud-pubsub client does that over gRPC, with batching, flow control and a thread per
batch, and importing it (with grpc and google-api-core) took more than half of intake's cold
start. This client is one HTTPS POST on a urllib3 pool: the same API, the same IAM permission
(``pubsub.topics.publish``), the same message (data and attributes). See
``docs/decisions/2026-12-04-calendar-and-pubsub-without-client-libraries.md``.

``PUBSUB_EMULATOR_HOST`` (read when the client is built, as Google's client libraries do) sends
every request to the emulator, over plain HTTP and without credentials; on Cloud Functions the
token comes from the metadata server (:mod:`confsync.adapters.metadata_token`).
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Mapping
from typing import Any, Literal

import urllib3
from google.auth.exceptions import GoogleAuthError

from confsync.adapters.metadata_token import MetadataTokenHttp

__all__ = ["PUBLISH_SCOPE", "PubsubRestClient", "RestPublishError", "credentials_source"]

PUBLISH_SCOPE = "https://www.googleapis.com/auth/pubsub"
_ENDPOINT = "https://pubsub.googleapis.com"
_RETRIED_STATUSES = frozenset({429, 500, 502, 503, 504})
_ATTEMPTS = 3
_POOL_SIZE = 8  # connections kept per host: a function serves several requests at a time


def credentials_source(env: Mapping[str, str]) -> Literal["emulator", "metadata", "default"]:
    """How requests are authorised: ``emulator`` (``PUBSUB_EMULATOR_HOST`` set: plain HTTP, no
    credentials), ``metadata`` (on Cloud Functions, which sets ``K_SERVICE``, without
    ``GOOGLE_APPLICATION_CREDENTIALS``: the runtime service account's token from the metadata
    server, what ``google.auth.default()`` finds there), else ``default`` (google-auth's
    application default credentials: the command line, a developer's machine)."""
    if env.get("PUBSUB_EMULATOR_HOST"):
        return "emulator"
    if env.get("K_SERVICE") and not env.get("GOOGLE_APPLICATION_CREDENTIALS"):
        return "metadata"
    return "default"


class RestPublishError(Exception):
    """Pub/Sub did not accept the message (refused, failed, unreachable or too slow)."""


class PubsubRestClient:
    """Publishes one message at a time and returns once Pub/Sub has accepted it.

    ``http`` is anything with urllib3's ``request`` (tests and the emulator: a plain
    ``PoolManager``; Google: google-auth's ``AuthorizedHttp``). A 429 or 5xx answer and a failed
    connection are retried at once, up to three attempts in all, each bounded by a third of the
    caller's timeout; Pub/Sub may then hold a duplicate, which the consumers coalesce.
    """

    def __init__(self, http: Any, endpoint: str) -> None:
        self._http = http
        self._endpoint = endpoint.rstrip("/")

    @classmethod
    def from_environment(cls, env: Mapping[str, str] | None = None) -> PubsubRestClient:
        """The client for where the process runs (:func:`credentials_source`); nothing is
        fetched until the first publish."""
        values = os.environ if env is None else env
        pool = urllib3.PoolManager(maxsize=_POOL_SIZE)
        source = credentials_source(values)
        if source == "emulator":
            return cls(pool, f"http://{values['PUBSUB_EMULATOR_HOST']}")
        if source == "metadata":
            return cls(MetadataTokenHttp(pool), _ENDPOINT)
        # Only here: google-auth's default credentials and transport import its service-account
        # and crypto modules (about 0.3 s), which neither other source needs.
        import google.auth  # noqa: PLC0415
        from google.auth.transport.urllib3 import AuthorizedHttp  # noqa: PLC0415

        credentials, _project = google.auth.default(scopes=[PUBLISH_SCOPE])
        return cls(AuthorizedHttp(credentials, http=pool), _ENDPOINT)  # type: ignore[no-untyped-call]

    @staticmethod
    def topic_path(project: str, topic: str) -> str:
        """The topic's resource name."""
        return f"projects/{project}/topics/{topic}"

    def publish(
        self, topic_path: str, data: bytes, attributes: Mapping[str, str], *, timeout: float
    ) -> str:
        """Publish one message to ``topic_path``; its message ID once Pub/Sub accepted it."""
        body = json.dumps(
            {
                "messages": [
                    {"data": base64.b64encode(data).decode("ascii"), "attributes": dict(attributes)}
                ]
            }
        ).encode()
        url = f"{self._endpoint}/v1/{topic_path}:publish"
        per_attempt = urllib3.Timeout(total=timeout / _ATTEMPTS)
        problem = ""
        for _ in range(_ATTEMPTS):
            try:
                answer = self._http.request(
                    "POST",
                    url,
                    body=body,
                    headers={"Content-Type": "application/json"},
                    timeout=per_attempt,
                    retries=False,
                )
            except (urllib3.exceptions.HTTPError, GoogleAuthError, OSError) as err:
                problem = f"{type(err).__name__}: {err}"
                continue
            if 200 <= answer.status < 300:
                return _message_id(answer.data)
            problem = f"HTTP {answer.status}: {answer.data[:200].decode(errors='replace')}"
            if answer.status not in _RETRIED_STATUSES:
                break
        raise RestPublishError(f"publishing to {topic_path} failed: {problem}")


def _message_id(body: bytes) -> str:
    try:
        ids = json.loads(body)["messageIds"]
        return str(ids[0])
    except (ValueError, KeyError, IndexError, TypeError) as err:
        raise RestPublishError(f"Pub/Sub answered without a message ID: {body[:200]!r}") from err
