"""The command-line runner shared by the stand-ins' console scripts.

Each script parses its own options (built on :func:`listen_parser`), configures logging its own
way, then hands :func:`serve_until_signalled` a factory for its server. The runner owns what the
scripts must agree on, because devstack and the tests depend on it: the ``NAME listening on URL``
line once serving, exit 1 when the server cannot be opened, and exit 0 after SIGINT or SIGTERM.
A bind failure is reported by werkzeug itself (its message, then ``SystemExit(1)``); any other
`OSError` while opening is reported here as ``NAME: cannot listen on HOST:PORT: ERROR``.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType

from .serving import BackgroundServer

__all__ = ["LOG_LEVELS", "configure_logging", "listen_parser", "serve_until_signalled"]

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
# The main thread wakes this often to notice a signal even where a wait is not interrupted.
_WAKE_S = 0.5
_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def listen_parser(
    prog: str,
    description: str,
    *,
    default_port: int,
    default_log_level: str = "WARNING",
    log_level_help: str = "INFO logs every request (%(default)s)",
) -> argparse.ArgumentParser:
    """A parser with ``--host``, ``--port`` (0 picks a free port) and ``--log-level``
    (case-insensitive); the caller adds its emulator's own options."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (%(default)s)")
    parser.add_argument(
        "--port", type=int, default=default_port, help="port; 0 picks a free one (%(default)s)"
    )
    parser.add_argument(
        "--log-level",
        default=default_log_level,
        choices=LOG_LEVELS,
        type=str.upper,
        help=log_level_help,
    )
    return parser


def configure_logging(level: str) -> None:
    """Log at ``level``, werkzeug's per-request lines included, so INFO shows every request."""
    logging.basicConfig(level=level, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("werkzeug").setLevel(level)


def serve_until_signalled(
    prog: str, host: str, port: int, open_server: Callable[[], BackgroundServer]
) -> int:
    """Bind with ``open_server()``, serve until SIGINT or SIGTERM, stop; the exit code.

    The handlers are installed before binding, so a signal arriving during start-up still stops
    the server cleanly, and the previous handlers are put back afterwards for in-process callers.
    """
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        del signum, frame
        stop.set()

    previous = {signum: signal.signal(signum, on_signal) for signum in _STOP_SIGNALS}
    try:
        try:
            server = open_server()
        except OSError as error:
            print(f"{prog}: cannot listen on {host}:{port}: {error}", file=sys.stderr)
            return 1
        with server:
            print(f"{prog} listening on {server.base_url}", flush=True)
            while not stop.wait(_WAKE_S):
                pass
        return 0
    finally:
        for signum, handler in previous.items():
            if handler is not None:
                signal.signal(signum, handler)
