"""`BackgroundServer`: a WSGI application served by werkzeug on a daemon thread.

Tests start the stand-ins in-process, often several at once, so each needs a free port
(``port=0``), a URL to reach it by and a stop that returns promptly. Emulator server classes
subclass this and add their app, their URLs and any stop behaviour of their own by overriding
:meth:`BackgroundServer.stop` and calling ``super().stop()``.
"""

from __future__ import annotations

import threading
from types import TracebackType
from typing import TYPE_CHECKING, Self

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication

__all__ = ["POLL_INTERVAL_S", "BackgroundServer"]

# How often the serve loop checks for a shutdown request: `stop()` waits up to this long.
POLL_INTERVAL_S = 0.1
_JOIN_TIMEOUT_S = 5.0


class BackgroundServer:
    """Binds on construction, serves from :meth:`start` until :meth:`stop`; a context manager
    that does both.

    A port that cannot be bound fails at construction, not later in the thread: werkzeug prints
    why on stderr and raises ``SystemExit(1)``, which is what the console scripts exit with.
    """

    def __init__(
        self,
        app: WSGIApplication,
        host: str,
        port: int,
        *,
        thread_name: str,
        request_handler: type[WSGIRequestHandler] | None = None,
    ) -> None:
        self._server: BaseWSGIServer = make_server(
            host, port, app, threaded=True, request_handler=request_handler
        )
        self._thread_name = thread_name
        self._thread: threading.Thread | None = None

    @property
    def host(self) -> str:
        """The address bound."""
        return str(self._server.server_address[0])

    @property
    def port(self) -> int:
        """The port bound: the free one picked when constructed with ``port=0``."""
        return int(self._server.server_port)

    @property
    def base_url(self) -> str:
        """``http://HOST:PORT``, with an IPv6 host in brackets."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> Self:
        """Serve on a daemon thread; a second call does nothing."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": POLL_INTERVAL_S},
                name=self._thread_name,
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving (if started) and release the port."""
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=_JOIN_TIMEOUT_S)
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
