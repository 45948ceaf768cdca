"""The WSGI application (routing) and :class:`ConferencingServer`, which runs it in a thread."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import TYPE_CHECKING, Final

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wrappers import Request, Response

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
        signing_secret: bytes | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.stopping = threading.Event()
        self.store = Store(clock)
        self.faults = FaultBook(self.store.lock)
        self.api = Api(
            self.store,
            self.faults,
            credential=credential,
            signing_secret=signing_secret,
            stopping=self.stopping,
            clock=clock,
        )
        self.admin = Admin(self.store, self.faults)

    def dispatch(self, request: Request) -> Response:
        adapter = URL_MAP.bind_to_environ(request.environ)
        try:
            endpoint, values = adapter.match()
        except MethodNotAllowed as error:
            allowed = ", ".join(sorted(error.valid_methods or ()))
            return json_response(
                405,
                error_body("method_not_allowed", f"{request.method} is not allowed here"),
                {"Allow": allowed},
            )
        except NotFound:
            return json_response(404, error_body("not_found", f"no route for {request.path}"))
        except HTTPException as error:  # e.g. a redirect for a trailing slash
            return json_response(
                error.code or 400, error_body("invalid_request", error.description or "")
            )
        area, name = str(endpoint).split(".", 1)
        if area == "api":
            return self.api.handle(request, name, values.get("id"))
        return self.admin.handle(request, name, values.get("id"))

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        response = self.dispatch(Request(environ))
        return response(environ, start_response)


class ConferencingServer:
    """The emulator on a background thread; a context manager.

    ``port=0`` picks a free port; :attr:`base_url` tells which.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        credential: str | None = None,
        signing_secret: str | bytes | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        secret = signing_secret.encode() if isinstance(signing_secret, str) else signing_secret
        self.app = ConferencingApp(
            credential=credential or None, signing_secret=secret or None, clock=clock
        )
        self._server: BaseWSGIServer = make_server(host, port, self.app, threaded=True)
        self._thread: threading.Thread | None = None

    @property
    def host(self) -> str:
        return str(self._server.server_address[0])

    @property
    def port(self) -> int:
        return int(self._server.server_port)

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> ConferencingServer:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.1},
                name="conferencing-emulator",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        self.app.stopping.set()  # wakes requests sleeping in a delay fault
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> ConferencingServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
