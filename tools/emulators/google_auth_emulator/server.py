"""The WSGI application (routing) and :class:`GoogleAuthServer`, which runs it in a thread."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Final

from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from emulator_kit.routing import NoRoute, match_route
from emulator_kit.serving import BackgroundServer

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
        Rule("/oauth2/v1/certs", methods=["GET"], endpoint="api.certs"),
        Rule("/oauth2/v3/certs", methods=["GET"], endpoint="api.jwks"),
        Rule(
            "/.well-known/openid-configuration",
            methods=["GET"],
            endpoint="api.openid_configuration",
        ),
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
        Rule(f"{_ADMIN}/id-tokens", methods=["POST"], endpoint="admin.mint_id_token"),
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
        matched = match_route(URL_MAP, request)
        if isinstance(matched, NoRoute):
            # Any routing error other than 404 and 405 has always said 400 in its body.
            code = 400 if matched.reason == "invalid_request" else matched.status
            body = ServiceError.admin(code, matched.message).body()
            return json_response(matched.status, body, matched.headers)
        endpoint, values = matched
        area, name = str(endpoint).split(".", 1)
        if area == "admin":
            return self.admin.handle(request, name, dict(values))
        return self._api(request, name, values.get("email", ""))

    def _api(self, request: Request, name: str, email: str) -> Response:
        if name == "token":
            return self.api.token(request)
        if name == "tokeninfo":
            return self.api.tokeninfo(request)
        if name == "certs":
            return self.api.certs()
        if name == "jwks":
            return self.api.jwks()
        if name == "openid_configuration":
            return self.api.openid_configuration(request)
        return self.api.sign_jwt(request, email)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        response = self.dispatch(Request(environ))
        return response(environ, start_response)


class GoogleAuthServer(BackgroundServer):
    """The stand-in on a background thread; a context manager.

    ``port=0`` picks a free port; :attr:`base_url` tells which. Point confsync at it with
    ``GOOGLE_TOKEN_URL`` = :attr:`token_url` and ``IAM_CREDENTIALS_URL`` =
    :attr:`iam_credentials_url`.
    """

    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, *, clock: Callable[[], float] = time.time
    ) -> None:
        self.app = GoogleAuthApp(clock=clock)
        super().__init__(self.app, host, port, thread_name="google-auth-emulator")

    @property
    def token_url(self) -> str:
        return f"{self.base_url}/token"

    @property
    def iam_credentials_url(self) -> str:
        return f"{self.base_url}/v1/"

    @property
    def certs_url(self) -> str:
        """The keys of the ID tokens it issues, as google-auth's ``id_token`` reads them."""
        return f"{self.base_url}/oauth2/v1/certs"

    @property
    def id_tokens_url(self) -> str:
        """Where a test asks for a user's ID token (``POST``, see :mod:`.id_tokens`)."""
        return f"{self.base_url}/emulator/v1/id-tokens"
