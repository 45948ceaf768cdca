"""The emulator's WSGI application and `EmulatorServer`, which runs it on a background thread.

Usage::

    with EmulatorServer(host="127.0.0.1", port=0) as server:
        server.api_endpoint  # http://127.0.0.1:PORT/calendar/v3/
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map
from werkzeug.serving import WSGIRequestHandler
from werkzeug.wrappers import Request, Response

from emulator_kit.serving import BackgroundServer

from .access import AccessControl
from .admin import AdminApi, admin_rules
from .api import API_PREFIX, CalendarApi, api_rules, error_response
from .calendars import CALENDAR_ENDPOINTS, CalendarsApi, calendars_rules
from .channels import ChannelRegistry, Notifier
from .clock import Clock, SystemClock
from .directory import DirectoryApi, directory_rules
from .errors import ApiError, not_found
from .faults import FaultRegistry
from .metrics import RequestCounters
from .store import DEFAULT_SYNC_TOKEN_TTL, Store
from .users import UserAccounts

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

__all__ = ["EmulatorApp", "EmulatorServer"]

log = logging.getLogger(__name__)


class _RequestHandler(WSGIRequestHandler):
    """Logs each request at DEBUG instead of INFO."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        log.debug('"%s" %s %s', self.requestline, code, size)


class EmulatorApp:
    """The WSGI application: routing, counters, faults, errors."""

    def __init__(
        self,
        clock: Clock | None = None,
        sync_token_ttl: float = DEFAULT_SYNC_TOKEN_TTL,
        notifier_workers: int = 4,
    ) -> None:
        self.clock = clock or SystemClock()
        self.faults = FaultRegistry()
        self.counters = RequestCounters()
        self.channels = ChannelRegistry(self.clock)
        self.notifier = Notifier(self.channels, self.faults, self.clock, workers=notifier_workers)
        self.store = Store(self.clock, sync_token_ttl, on_change=self.notifier.notify_calendar)
        self.access = AccessControl()
        self.users = UserAccounts()
        self.api = CalendarApi(
            self.store, self.channels, self.notifier, self.clock, self.access, self.users
        )
        self.admin = AdminApi(
            self.store,
            self.channels,
            self.notifier,
            self.faults,
            self.counters,
            self.access,
            self.users,
        )
        self.calendars = CalendarsApi(
            self.store, self.access, self.channels, self.notifier, self.users
        )
        self.directory = DirectoryApi.of(self.store, self.access, self.users)
        self.url_map = Map(
            [*api_rules(), *calendars_rules(), *admin_rules(), *directory_rules()],
            strict_slashes=False,
        )

    def close(self) -> None:
        self.notifier.stop()

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        response = self.handle(request)
        return response(environ, start_response)

    def handle(self, request: Request) -> Response:
        method = request.method
        override = request.headers.get("X-HTTP-Method-Override")
        if method == "POST" and override:
            method = override.upper()
        adapter = self.url_map.bind_to_environ(request.environ)
        try:
            endpoint, matched = adapter.match(request.path, method=method)
        except (NotFound, MethodNotAllowed):
            log.debug("%s %s -> 404 (no route)", method, request.full_path)
            return error_response(not_found())
        assert isinstance(endpoint, str)
        args = {key: str(value) for key, value in matched.items()}
        if endpoint.startswith("admin."):
            return self.admin.handler(endpoint)(request, args)
        if endpoint.startswith("directory."):
            return self.directory.handle(request)
        return self._serve_api(request, endpoint, args)

    def _serve_api(self, request: Request, endpoint: str, args: dict[str, str]) -> Response:
        self.counters.increment(endpoint)
        decision = self.faults.for_request(endpoint, args.get("calendar_id"))
        if decision.delay_ms:
            time.sleep(decision.delay_ms / 1000)
        try:
            if decision.error is not None:
                raise decision.error
            api = self.calendars if endpoint in CALENDAR_ENDPOINTS else self.api
            response = api.handler(endpoint)(request, args)
        except ApiError as error:
            response = error_response(error)
        except Exception:
            log.exception("internal error serving %s", endpoint)
            response = error_response(ApiError(500, "backendError", "Backend Error"))
        log.debug(
            "%s %s -> %s (%s)", request.method, request.full_path, response.status_code, endpoint
        )
        return response


class EmulatorServer(BackgroundServer):
    """The emulator on a background thread; a context manager."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        clock: Clock | None = None,
        sync_token_ttl: float = DEFAULT_SYNC_TOKEN_TTL,
    ) -> None:
        self.app = EmulatorApp(clock=clock, sync_token_ttl=sync_token_ttl)
        super().__init__(
            self.app, host, port, thread_name="calendar-emulator", request_handler=_RequestHandler
        )
        self._host = host

    @property
    def host(self) -> str:
        """The host as given, not the address bound: `base_url` keeps a name like localhost."""
        return self._host

    @property
    def api_endpoint(self) -> str:
        return f"{self.base_url}{API_PREFIX}/"

    def serve_forever(self) -> None:
        """Serve on the calling thread (the CLI); returns after `stop()`."""
        self._server.serve_forever()

    def stop(self) -> None:
        """Stop serving, then the notifier's delivery threads."""
        super().stop()
        self.app.close()
