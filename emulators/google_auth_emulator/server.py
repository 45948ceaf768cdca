"""The WSGI application (routing) and :class:`GoogleAuthServer`, which runs it in a thread."""

from __future__ import annotations

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
from .errors import ServiceError
from .state import State

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

__all__ = ["URL_MAP", "GoogleAuthApp", "GoogleAuthServer"]

_ADMIN: Final = "/emulator/v1"

URL_MAP: Final = Map(
    [
        Rule("/token", methods=["POST"], endpoint="api.token"),
        Rule("/tokeninfo", methods=["GET", "POST"], endpoint="api.tokeninfo"),
        Rule(
            "/v1/projects/<project>/serviceAccounts/<email>:signJwt",
            methods=["POST"],
            endpoint="api.sign_jwt",
        ),
        Rule(f"{_ADMIN}/service-accounts", methods=["POST"], endpoint="admin.add_service_account"),
        Rule(f"{_ADMIN}/service-accounts/<email>/key", methods=["GET"], endpoint="admin.key_file"),
        Rule(f"{_ADMIN}/token-creators", methods=["POST"], endpoint="admin.add_token_creator"),
        Rule(f"{_ADMIN}/token-creators", methods=["DELETE"], endpoint="admin.remove_token_creator"),
        Rule(f"{_ADMIN}/delegations", methods=["POST"], endpoint="admin.add_delegation"),
        Rule(f"{_ADMIN}/delegations", methods=["DELETE"], endpoint="admin.remove_delegation"),
        Rule(f"{_ADMIN}/oauth-clients", methods=["POST"], endpoint="admin.add_oauth_client"),
        Rule(f"{_ADMIN}/refresh-tokens", methods=["POST"], endpoint="admin.add_refresh_token"),
        Rule(f"{_ADMIN}/revoke", methods=["POST"], endpoint="admin.revoke"),
        Rule(f"{_ADMIN}/restore", methods=["POST"], endpoint="admin.restore"),
        Rule(f"{_ADMIN}/faults", methods=["POST"], endpoint="admin.add_faults"),
        Rule(f"{_ADMIN}/faults", methods=["GET"], endpoint="admin.list_faults"),
        Rule(f"{_ADMIN}/faults", methods=["DELETE"], endpoint="admin.clear_faults"),
        Rule(f"{_ADMIN}/settings", methods=["GET", "POST"], endpoint="admin.settings"),
        Rule(f"{_ADMIN}/stats", methods=["GET"], endpoint="admin.stats"),
        Rule(f"{_ADMIN}/tokens", methods=["GET"], endpoint="admin.tokens"),
        Rule(f"{_ADMIN}/reset", methods=["POST"], endpoint="admin.reset"),
    ],
    strict_slashes=False,
)


class GoogleAuthApp:
    """The WSGI application: routes to the Google-shaped endpoints or the admin API."""

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self.state = State(clock=clock)
        self.api = Api(self.state)
        self.admin = Admin(self.state)

    def dispatch(self, request: Request) -> Response:
        adapter = URL_MAP.bind_to_environ(request.environ)
        try:
            endpoint, values = adapter.match()
        except MethodNotAllowed as error:
            allowed = ", ".join(sorted(error.valid_methods or ()))
            body = ServiceError.admin(405, f"{request.method} is not allowed here").body()
            return json_response(405, body, {"Allow": allowed})
        except NotFound:
            return json_response(
                404, ServiceError.admin(404, f"no route for {request.path}").body()
            )
        except HTTPException as error:
            return json_response(
                error.code or 400, ServiceError.admin(400, error.description or "").body()
            )
        area, name = str(endpoint).split(".", 1)
        if area == "admin":
            return self.admin.handle(request, name, dict(values))
        return self._api(request, name, values.get("email", ""))

    def _api(self, request: Request, name: str, email: str) -> Response:
        if name == "token":
            return self.api.token(request)
        if name == "tokeninfo":
            return self.api.tokeninfo(request)
        return self.api.sign_jwt(request, email)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        response = self.dispatch(Request(environ))
        return response(environ, start_response)


class GoogleAuthServer:
    """The stand-in on a background thread; a context manager.

    ``port=0`` picks a free port; :attr:`base_url` tells which. Point confsync at it with
    ``GOOGLE_TOKEN_URL`` = :attr:`token_url` and ``IAM_CREDENTIALS_URL`` =
    :attr:`iam_credentials_url`.
    """

    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, *, clock: Callable[[], float] = time.time
    ) -> None:
        self.app = GoogleAuthApp(clock=clock)
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

    @property
    def token_url(self) -> str:
        return f"{self.base_url}/token"

    @property
    def iam_credentials_url(self) -> str:
        return f"{self.base_url}/v1/"

    def start(self) -> GoogleAuthServer:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.1},
                name="google-auth-emulator",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> GoogleAuthServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
