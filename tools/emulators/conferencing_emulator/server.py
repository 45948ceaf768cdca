"""The WSGI application (routing) and :class:`ConferencingServer`, which runs it in a thread."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Final

from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from emulator_kit.routing import NoRoute, match_route
from emulator_kit.serving import BackgroundServer

from . import signing
from .admin import Admin
from .api import Api, json_response
from .errors import error_body
from .faults import FaultBook
from .store import Store

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

__all__ = ["URL_MAP", "ConferencingApp", "ConferencingServer", "api_operations"]

URL_MAP: Final = Map(
    [
        Rule("/v1/conferences", methods=["POST"], endpoint="api.create"),
        Rule("/v1/conferences:batchGet", methods=["POST"], endpoint="api.batch_get"),
        Rule("/v1/conferences/<id>", methods=["GET"], endpoint="api.get"),
        Rule("/v1/conferences/<id>", methods=["PUT"], endpoint="api.put"),
        Rule("/v1/conferences/<id>", methods=["DELETE"], endpoint="api.delete"),
        Rule("/emulator/v1/conferences", methods=["GET"], endpoint="admin.list_conferences"),
        Rule("/emulator/v1/conferences", methods=["POST"], endpoint="admin.seed_conference"),
        Rule(
            "/emulator/v1/conferences/<id>/join-url",
            methods=["POST"],
            endpoint="admin.set_join_url",
        ),
        Rule("/emulator/v1/requests", methods=["GET"], endpoint="admin.requests"),
        Rule("/emulator/v1/requests/reset", methods=["POST"], endpoint="admin.reset_requests"),
        Rule("/emulator/v1/faults", methods=["POST"], endpoint="admin.add_faults"),
        Rule("/emulator/v1/faults", methods=["GET"], endpoint="admin.list_faults"),
        Rule("/emulator/v1/faults", methods=["DELETE"], endpoint="admin.clear_faults"),
        Rule("/emulator/v1/reset", methods=["POST"], endpoint="admin.reset"),
    ],
    strict_slashes=False,
)


def api_operations() -> set[tuple[str, str]]:
    """``(METHOD, /path/{param})`` of every ``/v1`` operation served (for contract checks)."""
    operations = set()
    for rule in URL_MAP.iter_rules():
        if not rule.rule.startswith("/v1/"):
            continue
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)
        for method in rule.methods or ():
            if method not in ("HEAD", "OPTIONS"):
                operations.add((method, path))
    return operations


class ConferencingApp:
    """The WSGI application: routes to the ``/v1`` API or the admin API."""

    def __init__(
        self,
        *,
        credential: str | None = None,
        signing_secrets: tuple[bytes, ...] = (),
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.stopping = threading.Event()
        self.store = Store(clock)
        self.faults = FaultBook(self.store.lock)
        self.api = Api(
            self.store,
            self.faults,
            credential=credential,
            signing_secrets=signing_secrets,
            stopping=self.stopping,
            clock=clock,
        )
        self.admin = Admin(self.store, self.faults)

    def dispatch(self, request: Request) -> Response:
        matched = match_route(URL_MAP, request)
        if isinstance(matched, NoRoute):
            body = error_body(matched.reason, matched.message)
            return json_response(matched.status, body, matched.headers)
        endpoint, values = matched
        area, name = str(endpoint).split(".", 1)
        if area == "api":
            return self.api.handle(request, name, values.get("id"))
        return self.admin.handle(request, name, values.get("id"))

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        response = self.dispatch(Request(environ))
        return response(environ, start_response)


class ConferencingServer(BackgroundServer):
    """The emulator on a background thread; a context manager.

    ``port=0`` picks a free port; :attr:`base_url` tells which. ``signing_secret`` is the secret
    requests must be signed with, or several (a rotation: comma-separated text, or a sequence);
    a request is accepted when it verifies under any of them.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        credential: str | None = None,
        signing_secret: str | bytes | Sequence[str | bytes] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.app = ConferencingApp(
            credential=credential or None, signing_secrets=_secrets(signing_secret), clock=clock
        )
        super().__init__(self.app, host, port, thread_name="conferencing-emulator")

    def stop(self) -> None:
        self.app.stopping.set()  # wakes requests sleeping in a delay fault
        super().stop()


def _secrets(given: str | bytes | Sequence[str | bytes] | None) -> tuple[bytes, ...]:
    """The emulator's signing secrets from what :class:`ConferencingServer` was given."""
    if given is None:
        return ()
    if isinstance(given, bytes):
        given = given.decode()
    if isinstance(given, str):
        return signing.parse_secrets(given)
    texts = [s.decode() if isinstance(s, bytes) else s for s in given]
    return signing.parse_secrets(",".join(texts))
